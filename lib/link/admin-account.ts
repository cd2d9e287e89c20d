import { randomBytes, randomUUID } from "node:crypto";
import { isIP } from "node:net";
import type { Client } from "@xmpp/client";
import xml, { type Element } from "@xmpp/xml";
import { ConnectError, CxfrError, LinkFailedError } from "../errors.ts";
import { formatHostPort, type HostPort } from "../xmpp/address.ts";
import { bareJid, parseJid, sameJid } from "../xmpp/jid.ts";
import { PendingIqs } from "./pending-iqs.ts";
import { connectUntilOnline, withTimeout } from "./timing.ts";
import { guardParser } from "../xmppjs/parser-guard.ts";
import { ConnectionLifecycle, type ConnectionState } from "./lifecycle.ts";
import { connectToIPv6Literals, internals, smNegotiation } from "../xmppjs/internals.ts";
import type { Secret } from "../secret.ts";

export interface AdminAccountOptions {
  /** The account, user@domain. */
  jid: string;
  password: Secret;
  /** Its server's c2s listener. */
  server: HostPort;
  iqTimeoutMs?: number;
  connectTimeoutMs?: number;
  /**
   * Default true: log in with PLAIN when the server address is a loopback IP (≈10 ms instead of SCRAM's ≈1–2 s;
   * the password does not leave the machine). Elsewhere PLAIN is used only on a TLS stream.
   */
  plainOnLoopback?: boolean;
  /** Default true: a loopback server may be logged in to without TLS; anywhere else TLS is required. */
  plaintextLoopback?: boolean;
}

export type AdminAccountState = ConnectionState;

/** Stream errors on a reconnect that another try will not cure. */
const FINAL_STREAM_CONDITIONS = new Set(["not-authorized", "host-unknown", "conflict"]);

/** Every session cxfr's admin account opens has a resource starting with this. */
export const ADMIN_RESOURCE_PREFIX = "cxfr-admin-";

/** Whether a listed session is one that cxfr's admin account `accountJid` opened (this run's or another cxfr's). */
export function isAdminAccountSession(session: { bare: string; resource: string }, accountJid: string): boolean {
  return sameJid(session.bare, bareJid(accountJid)) && session.resource.startsWith(ADMIN_RESOURCE_PREFIX);
}

/** SASL conditions that a retry cannot fix. */
const FATAL_SASL = new Set(["not-authorized", "account-disabled", "credentials-expired", "invalid-authzid", "encryption-required"]);

type XmppError = Error & { code?: string; condition?: string; text?: string };

/**
 * A c2s admin account, for servers that will not treat a component as admin: XEP-0133 commands go through it, the
 * component still sends the transfer packets. It sends no presence, so announcements do not reach it.
 * Events: `online`, `offline` (connection lost; xmpp.js reconnects), `failed` and `fatal` (LinkFailedError: refused
 * on a reconnect for a reason a retry cannot fix, e.g. not-authorized, host-unknown, conflict: no more reconnects).
 */
export class AdminAccount extends ConnectionLifecycle {
  readonly jid: string;
  /** Full JID of the session, once online. */
  address: string | undefined;
  readonly resource = `${ADMIN_RESOURCE_PREFIX}${randomBytes(4).toString("hex")}`;
  private xmpp: Client | null = null;
  private readonly pending = new PendingIqs();

  constructor(private readonly options: AdminAccountOptions) {
    super();
    this.jid = bareJid(options.jid);
  }

  get server(): string {
    return formatHostPort(this.options.server);
  }

  protected get label(): string {
    return `admin account ${this.jid}`;
  }

  /** Logs in once; rejects with LinkFailedError (login refused) or ConnectError (exit code 3). */
  async start(): Promise<void> {
    this.status("connecting");
    const { local, domain } = parseJid(this.options.jid, "admin account");
    const service = `xmpp://${this.server}`;
    // loaded here, not at the top: a node without an admin account (and cxfr --help) never pays for @xmpp/client
    const { client } = await import("@xmpp/client");
    const xmpp = client({
      service,
      domain,
      resource: this.resource,
      credentials: async (authenticate, mechanisms, _fast, entity) => {
        const mechanism = this.mechanism(mechanisms, entity.isSecure());
        await authenticate({ username: local ?? "", password: this.options.password.reveal() }, mechanism, xml("user-agent", { id: randomUUID() }));
      },
    });
    connectToIPv6Literals(xmpp);
    guardParser(xmpp);
    this.xmpp = xmpp;
    const sm = smNegotiation(xmpp);
    xmpp.on("error", (err: XmppError) => this.onError(err));
    xmpp.on("stanza", (el: Element) => this.pending.settle(el));
    xmpp.on("disconnect", () => this.onDisconnect());
    xmpp.on("online", (address: { toString(): string }) => this.onOnline(address.toString()));
    internals(xmpp).streamManagement.on("resumed", () => this.onOnline(this.address ?? ""));

    const timeoutMs = this.options.connectTimeoutMs ?? 10_000;
    try {
      await withTimeout(connectUntilOnline(xmpp, service, domain), timeoutMs, () => new ConnectError(`admin account ${this.jid}: no login at ${this.server} within ${timeoutMs} ms`));
      // XEP-0198: stanzas sent between bind and <enabled/> can be miscounted (ejabberd then closes the stream)
      await sm.settled();
    } catch (err) {
      this.status("stopped");
      this.xmpp = null;
      await safeStop(xmpp);
      throw this.describeConnectFailure(err as XmppError);
    }
    if (this.state !== "connecting") {
      // stop() was called while logging in
      await safeStop(xmpp);
      throw new ConnectError(`admin account ${this.jid} stopped`, "link_stopped");
    }
    this.status("online");
  }

  async stop(): Promise<void> {
    this.status("stopped");
    this.pending.rejectAll(new ConnectError(`admin account ${this.jid} stopped`, "link_stopped"));
    const xmpp = this.xmpp;
    this.xmpp = null;
    if (xmpp) await safeStop(xmpp);
  }

  /** Sends an IQ and resolves its result; rejects with StanzaError, TimeoutError, or ConnectError when the connection drops first. */
  request(iq: Element, timeoutMs = this.options.iqTimeoutMs ?? 15_000): Promise<Element> {
    const xmpp = this.xmpp;
    if (this.state !== "online" || !xmpp) return Promise.reject(new ConnectError(`admin account ${this.jid} is not online`, "link_down"));
    const write = (el: Element) => xmpp.send(el).catch((err: Error) => Promise.reject(new ConnectError(`admin account ${this.jid}: could not send: ${err.message}`, "link_down")));
    return this.pending.exchange(iq, timeoutMs, write).reply;
  }

  /**
   * No credentials on an unencrypted stream, whatever the mechanism (a SCRAM exchange in clear can be attacked
   * offline and by a man in the middle), except to a loopback address. On loopback PLAIN if allowed (fast).
   */
  private mechanism(offered: string[], secure: boolean): string {
    const usable = offered.filter((m) => m !== "ANONYMOUS");
    const loopback = isLoopbackIp(this.options.server.host);
    if (!secure && !(loopback && (this.options.plaintextLoopback ?? true))) {
      throw new ConnectError(`admin account ${this.jid}: ${this.server} offers no TLS (STARTTLS); cxfr sends credentials only over TLS, except to a loopback address`, "encryption_required");
    }
    if (loopback && (this.options.plainOnLoopback ?? true) && usable.includes("PLAIN")) return "PLAIN";
    const choice = usable[0];
    if (choice === undefined) throw new ConnectError(`admin account ${this.jid}: ${this.server} offers no login mechanism cxfr may use`, "no_mechanism");
    return choice;
  }

  private describeConnectFailure(err: XmppError): Error {
    if (err instanceof CxfrError) return err;
    const who = `admin account ${this.jid}`;
    if (err.name === "SASLError") return new LinkFailedError(`${who}: login refused (${err.condition ?? "failure"})`, err.condition ?? "failure");
    if (err.condition && FINAL_STREAM_CONDITIONS.has(err.condition)) return new LinkFailedError(`${who}: ${this.server} closed the stream (${err.condition})`, err.condition);
    if (err.condition === "host-unknown") return new ConnectError(`${who}: ${this.server} does not serve ${parseJid(this.jid, "admin account").domain} (host-unknown)`, "stream_error");
    if (err.condition) return new ConnectError(`${who}: ${this.server} closed the stream (${err.condition})`, "stream_error");
    if (err.code === "ECONNREFUSED") return new ConnectError(`${who}: cannot connect to ${this.server}: connection refused (is the server's c2s port right?)`);
    if (err.code === "ENOTFOUND" || err.code === "EAI_AGAIN") return new ConnectError(`${who}: cannot connect to ${this.server}: host not found`);
    return new ConnectError(`${who}: cannot log in at ${this.server}: ${err.message}`);
  }

  private onError(err: XmppError): void {
    if (this.state === "connecting" || this.state === "stopped" || this.state === "failed") return;
    const final = (err.name === "SASLError" && FATAL_SASL.has(err.condition ?? "")) || (err.name !== "SASLError" && FINAL_STREAM_CONDITIONS.has(err.condition ?? ""));
    if (!final) return;
    // refused on a reconnect, it will be refused again: stop retrying
    this.xmpp?.reconnect.stop();
    const failure = this.describeConnectFailure(err);
    const reason = failure instanceof LinkFailedError ? failure : new LinkFailedError(failure.message, err.condition ?? "failure");
    this.pending.rejectAll(reason);
    this.fail(reason);
    this.emit("fatal", reason);
  }

  private onOnline(address: string): void {
    this.address = address;
    if (this.state === "reconnecting") {
      this.status("online");
      this.emit("online");
    }
  }

  private onDisconnect(): void {
    if (this.state === "stopped" || this.state === "connecting" || this.state === "failed") return;
    this.status("reconnecting");
    this.pending.rejectAll(new ConnectError(`admin account ${this.jid}: connection to ${this.server} lost`, "link_lost"));
    this.emit("offline");
  }

}

function isLoopbackIp(host: string): boolean {
  if (isIP(host) === 4) return host.startsWith("127.");
  return host === "::1" || host === "0:0:0:0:0:0:0:1";
}

async function safeStop(xmpp: Client): Promise<void> {
  try {
    xmpp.reconnect.stop();
  } catch {
    // reconnect never started
  }
  await Promise.race([xmpp.stop().catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
  (xmpp as unknown as { socket?: { destroy?: () => void } | null }).socket?.destroy?.();
}
