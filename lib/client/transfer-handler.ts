import type { Client } from "@xmpp/client";
import type { IncomingContext } from "@xmpp/middleware";
import xml, { type Element } from "@xmpp/xml";
import type { HostPort } from "../xmpp/address.ts";
import { parsePort } from "../xmpp/address.ts";
import { NS_CXFR, NS_SRVXFR, parseTransferIq } from "../xmpp/transfer.ts";
import { presenceKeeper } from "./presence.ts";
import { reconnectAfterClose, relocate, serviceOf, type MoveSecurity, type Outcome } from "./relocate.ts";
import { guardSeeOtherHost } from "./see-other-host.ts";
import { senderPolicy } from "./trust.ts";
import { connectToIPv6Literals, NS_STREAMS, reportError } from "../xmppjs/internals.ts";

const NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas";
/** How long to wait for our reply to leave before moving anyway (the old connection is then broken). */
const REPLY_WAIT_MS = 2_000;

export interface TransferInfo {
  from: string;
  server: { host: string; port?: number };
  domain: string;
  namespace: string;
}

export interface TransferHandlerOptions {
  /** extra JIDs (bare or full, e.g. the sidecar component "cxfr.example.com") allowed to send transfers besides the user's own domain */
  trusted?: string[];
  /** when <server> has no port; default 5222 */
  defaultPort?: number;
  onTransfer?: (info: TransferInfo) => void;
  onRefused?: (info: { from: string; reason: string }) => void;
  /**
   * Default true: a move to a loopback address may log in without TLS. Elsewhere the move keeps the session's
   * security (xmpps:// stays direct TLS, otherwise STARTTLS is required) and checks the certificate for the user's
   * domain.
   */
  plaintextLoopback?: boolean;
}

export interface TransferHandler {
  stop(): void;
  /** transfers accepted (XEP-0051 packets and see-other-host stream errors followed) */
  readonly transfers: number;
}

function stanzaError(type: string, condition: string): Element {
  return xml("error", { type }, xml(condition, { xmlns: NS_STANZAS }));
}

/** Calls `run` once the reply to IQ `id` has been written (or after REPLY_WAIT_MS). */
function afterReply(client: Client, id: string, run: () => void): void {
  const done = (): void => {
    clearTimeout(timer);
    client.off("send", onSend);
    setImmediate(run);
  };
  const onSend = (el: Element): void => {
    if (el.name === "iq" && el.attrs.id === id && (el.attrs.type === "result" || el.attrs.type === "error")) done();
  };
  const timer = setTimeout(done, REPLY_WAIT_MS);
  client.on("send", onSend);
}

/**
 * Lets an @xmpp/client session be moved by its server: answers XEP-0051 transfer packets
 * (`urn:xmpp:cxfr`, legacy `jabber:iq:srvxfr`) from the user's own domain or a trusted JID, then
 * reconnects to the named server (see relocate.ts), and follows RFC 6120 see-other-host safely.
 * A packet without `from` counts as the user's own server's (RFC 6120 §8.1.2.1). Install it before
 * the first presence is sent. stop() leaves the IQ handlers in place (xmpp.js cannot remove them)
 * but inert: packets then get xmpp.js's usual service-unavailable.
 */
export function handleTransfers(client: Client, options: TransferHandlerOptions = {}): TransferHandler {
  const mayTransfer = senderPolicy(options.trusted ?? []);
  const defaultPort = parsePort(options.defaultPort ?? 5222, "defaultPort");
  const presence = presenceKeeper(client);
  let stopped = false;
  let moving = false;
  let transfers = 0;

  const ownDomain = (): string => client.jid?.domain ?? client.options.domain ?? "";
  const notify = <T>(callback: ((info: T) => void) | undefined, info: T): void => {
    try {
      callback?.(info);
    } catch (error) {
      reportError(client, error);
    }
  };
  const refused = (from: string, reason: string): void => notify(options.onRefused, { from, reason });

  const security: MoveSecurity = { plaintextLoopback: options.plaintextLoopback ?? true };
  const move = async (target: Required<HostPort>, connect: (c: Client, service: string, security: MoveSecurity) => Promise<Outcome>): Promise<void> => {
    moving = true;
    presence.arm();
    try {
      const outcome = await connect(client, serviceOf(target, client.options.service), security);
      if (outcome === "resumed") presence.disarm();
    } catch (error) {
      reportError(client, error);
    } finally {
      moving = false;
    }
  };

  const onTransferIq = (ctx: IncomingContext<Client>, next: () => Promise<unknown>): unknown => {
    if (stopped) return next();
    const iq = ctx.stanza;
    const from = typeof iq.attrs.from === "string" ? iq.attrs.from : "";
    if (!mayTransfer(from, ownDomain())) {
      refused(from, `${from} may not transfer this session`);
      return stanzaError("auth", "forbidden");
    }
    const offer = parseTransferIq(iq);
    if (!offer) {
      refused(from, "missing or invalid <domain> or <server>");
      return stanzaError("modify", "bad-request");
    }
    if (offer.domain.toLowerCase() !== ownDomain().toLowerCase()) {
      // the account lives on ownDomain; it cannot log in to another domain
      refused(from, `transfer to domain ${offer.domain}, but this account is on ${ownDomain()}`);
      return stanzaError("modify", "not-acceptable");
    }
    if (moving) {
      refused(from, "a transfer is already in progress");
      return stanzaError("wait", "unexpected-request");
    }
    const target = { host: offer.server.host, port: offer.server.port ?? defaultPort };
    transfers++;
    moving = true;
    notify(options.onTransfer, { from, server: target, domain: offer.domain, namespace: offer.namespace });
    afterReply(client, offer.id, () => void move(target, relocate));
    return true;
  };

  client.iqCallee.set(NS_CXFR, "query", onTransferIq);
  client.iqCallee.set(NS_SRVXFR, "query", onTransferIq);

  const restoreSocketParameters = connectToIPv6Literals(client);
  const restoreSeeOtherHost = guardSeeOtherHost(
    client,
    (server) => {
      const target = { host: server.host, port: server.port ?? defaultPort };
      transfers++;
      notify(options.onTransfer, { from: ownDomain(), server: target, domain: ownDomain(), namespace: NS_STREAMS });
      void move(target, reconnectAfterClose);
    },
    (reason, error) => {
      refused(ownDomain(), reason);
      reportError(client, error);
    },
  );

  return {
    stop() {
      if (stopped) return;
      stopped = true;
      presence.stop();
      restoreSeeOtherHost();
      restoreSocketParameters();
    },
    get transfers() {
      return transfers;
    },
  };
}
