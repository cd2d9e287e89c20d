import { isIP, type Socket } from "node:net";
import type { Client } from "@xmpp/client";
import xml, { type Element } from "@xmpp/xml";
import { formatHostPort, type HostPort } from "../xmpp/address.ts";
import { internals, NS_SM, override } from "../xmppjs/internals.ts";

/** How the session continued on the new server: XEP-0198 resumption, or a fresh login (resource bind). */
export type Outcome = "resumed" | "bound";

const READY_TIMEOUT_MS = 15_000;
const OLD_STREAM_CLOSE_MS = 2_000;
const NS_TLS = "urn:ietf:params:xml:ns:xmpp-tls";
const NS_STREAM = "http://etherx.jabber.org/streams";

export interface MoveSecurity {
  /** Default true: a loopback target may go without TLS (a server on this machine); elsewhere TLS is required. */
  plaintextLoopback?: boolean;
}

/**
 * The service to reach `target` with the security the session has now: an `xmpps://` session (direct TLS) stays
 * direct TLS; any other goes `xmpp://`, where the move then requires STARTTLS (see requireTls).
 */
export function serviceOf(target: Required<HostPort>, current?: string): string {
  const scheme = current?.startsWith("xmpps:") ? "xmpps" : "xmpp";
  return `${scheme}://${formatHostPort(target)}`;
}

/**
 * Moves a live session to `service` and makes it the client's service, so that later ordinary
 * reconnects go there too. If the new server cannot be reached or the login there fails, the old
 * service is restored and the error thrown (the client's own reconnect, if on, then goes back).
 *
 * Without a resumable XEP-0198 session the old stream is closed cleanly first (the server ends that
 * session at once) and the client logs in again on the new server.
 *
 * With one, a clean close would end the session, so the old stream is set aside still open and the
 * new connection tries <resume/>. A server sharing sessions with the old one (an ejabberd cluster)
 * resumes it and replaces the old stream: contacts see no presence change, queued stanzas are
 * re-sent. Any other answers <failed/> (item-not-found), xmpp.js binds a fresh session, and only then
 * is the old stream acked and closed, so the old server ends its session instead of keeping it
 * resumable (and the user's presence there) for minutes. If the move fails, the old socket is
 * dropped uncleanly so that the old server keeps the session resumable for a reconnect there.
 */
export async function relocate(client: Client, service: string, security: MoveSecurity = {}): Promise<Outcome> {
  const sm = internals(client).streamManagement;
  const old = sm.enabled && sm.id ? setAside(client) : undefined;
  if (!old) {
    // The close follows our small IQ reply at once; with Nagle on it would wait ~40 ms for the ACK.
    internals(client).socket?.setNoDelay(true);
    await client.disconnect();
  }
  try {
    const outcome = await connectAndLogin(client, service, security);
    if (old) {
      if (outcome === "resumed") old.socket.destroy();
      else closeOldStream(old);
    }
    return outcome;
  } catch (error) {
    old?.socket.destroy();
    throw error;
  }
}

/** For a stream the server is closing (see-other-host): once it is down, logs in on `service`. */
export async function reconnectAfterClose(client: Client, service: string, security: MoveSecurity = {}): Promise<Outcome> {
  if (client.status !== "disconnect") await untilDisconnected(client);
  return connectAndLogin(client, service, security);
}

interface OldStream {
  socket: Socket;
  /** stanzas this client handled on the old stream (XEP-0198 `h`) */
  handled: number;
}

/** Takes the open connection away from the client without closing its stream. */
function setAside(client: Client): OldStream | undefined {
  const c = internals(client);
  const socket = c.socket;
  if (!socket) return undefined;
  const handled = c.streamManagement.inbound;
  c._detachParser();
  c._detachSocket();
  socket.on("error", () => undefined);
  // Tells xmpp.js (stream management stops its ack timers, keeps its resumption id) and the
  // application that this connection is over.
  c._status("disconnect", { clean: true, reason: "transfer" });
  return { socket, handled };
}

function closeOldStream(old: OldStream): void {
  const { socket } = old;
  const timer = setTimeout(() => socket.destroy(), OLD_STREAM_CLOSE_MS);
  timer.unref();
  socket.once("close", () => clearTimeout(timer));
  socket.end(`${xml("a", { xmlns: NS_SM, h: String(old.handled) }).toString()}</stream:stream>`);
}

/**
 * Logs in on `service`; the client keeps it as its service (for later reconnects) only once the login there
 * succeeded, so a failed or refused move leaves the client's own reconnects going where they went before.
 */
async function connectAndLogin(client: Client, service: string, security: MoveSecurity): Promise<Outcome> {
  // set in the same tick as `online`, so whoever hears `online` sees the new service
  const ready = untilReady(client, () => (client.options.service = service));
  const tls = requireTls(client, service, security);
  try {
    try {
      const { domain, lang } = client.options;
      await client.connect(service);
      await client.open({ domain: domain ?? "", lang });
    } catch (error) {
      ready.cancel();
      internals(client).socket?.destroy();
      throw tls.refusal() ?? error;
    }
    try {
      return await ready.promise;
    } catch (error) {
      // e.g. authentication failed there: the half-open stream is of no use
      internals(client).socket?.destroy();
      throw tls.refusal() ?? error;
    }
  } finally {
    tls.stop();
  }
}

/**
 * While connecting to `service`: direct TLS checks the certificate for the user's domain (not the host named in
 * the packet); a plain connection must be upgraded with STARTTLS (whose certificate xmpp.js checks for the domain)
 * before any credentials go out, unless the host is a loopback address and that is allowed. A server that offers
 * no STARTTLS gets its connection dropped before xmpp.js can answer its features with a login.
 */
function requireTls(client: Client, service: string, security: MoveSecurity): { refusal(): Error | undefined; stop(): void } {
  const host = new URL(service).hostname.replace(/^\[(.*)\]$/, "$1");
  const loopbackAllowed = (security.plaintextLoopback ?? true) && isLoopback(host);
  const domain = client.options.domain ?? "";
  let refusal: Error | undefined;
  const c = client as unknown as { socketParameters(service: string): Record<string, unknown> | undefined };
  const socketParameters = c.socketParameters.bind(client);
  const restoreParameters = override(c, "socketParameters", (s: string) => {
    const params = socketParameters(s);
    return params && s.startsWith("xmpps:") && domain ? { ...params, servername: domain } : params;
  });
  const onElement = (el: Element): void => {
    if (refusal || !el.is("features", NS_STREAM) || client.isSecure() || loopbackAllowed) return;
    if (el.getChild("starttls", NS_TLS)) return;
    refusal = new Error(`${formatHostPort({ host, port: Number(new URL(service).port) || 5222 })} offers no STARTTLS: not logging in there without TLS`);
    internals(client).socket?.destroy();
  };
  client.prependListener("element", onElement);
  return {
    refusal: () => refusal,
    stop() {
      client.off("element", onElement);
      restoreParameters();
    },
  };
}

function isLoopback(host: string): boolean {
  if (isIP(host) === 4) return host.startsWith("127.");
  if (isIP(host) === 6) return host === "::1";
  return host === "localhost";
}

function untilReady(client: Client, onReady: () => void): { promise: Promise<Outcome>; cancel(): void } {
  const sm = internals(client).streamManagement;
  let cancel = (): void => undefined;
  const promise = new Promise<Outcome>((resolve, reject) => {
    const settle = (outcome: Outcome | Error) => (): void => {
      clearTimeout(timer);
      sm.off("resumed", onResumed);
      client.off("online", onOnline);
      client.off("disconnect", onClosed);
      client.off("offline", onClosed);
      if (outcome instanceof Error) return reject(outcome);
      onReady();
      resolve(outcome);
    };
    const onResumed = settle("resumed");
    const onOnline = settle("bound");
    const onClosed = settle(new Error(`connection to ${client.options.service} closed before the session was ready`));
    const timer = setTimeout(settle(new Error(`no session on ${client.options.service} after ${READY_TIMEOUT_MS} ms`)), READY_TIMEOUT_MS);
    cancel = settle(new Error("cancelled"));
    sm.on("resumed", onResumed);
    client.on("online", onOnline);
    client.on("disconnect", onClosed);
    client.on("offline", onClosed);
  });
  promise.catch(() => undefined);
  return { promise, cancel };
}

function untilDisconnected(client: Client): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off("disconnect", done);
      reject(new Error("the old connection did not close"));
    }, READY_TIMEOUT_MS);
    const done = (): void => {
      clearTimeout(timer);
      resolve();
    };
    client.once("disconnect", done);
  });
}
