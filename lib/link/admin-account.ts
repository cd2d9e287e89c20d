import { EventEmitter } from "node:events";
import { randomBytes, randomUUID } from "node:crypto";
import { isIP } from "node:net";
import { client, type Client } from "@xmpp/client";
import xml, { type Element } from "@xmpp/xml";
import { ConnectError, CxfrError, NotAuthorizedError } from "../errors.ts";
import { formatHostPort, type HostPort } from "../xmpp/address.ts";
import { bareJid, parseJid, sameJid } from "../xmpp/jid.ts";
import { PendingIqs } from "./pending-iqs.ts";
import { connectUntilOnline, withTimeout } from "./timing.ts";
import { connectToIPv6Literals, internals, smNegotiation } from "../client/xmppjs.ts";
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
}

export type AdminAccountState = "idle" | "connecting" | "online" | "reconnecting" | "stopped";

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
 * Events: `online`, `offline` (connection lost; xmpp.js reconnects), `fatal` (login refused on a reconnect: stopped).
 */
export class AdminAccount extends EventEmitter {
  state: AdminAccountState = "idle";
  readonly jid: string;
  /** Full JID of the session, once online. */
  address: string | undefined;
  readonly resource = `${ADMIN_RESOURCE_PREFIX}${randomBytes(4).toString("hex")}`;
  private xmpp: Client | null = null;
  private readonly pending = new PendingIqs();
  private fatal: Error | undefined;

  constructor(private readonly options: AdminAccountOptions) {
    super();
    this.jid = bareJid(options.jid);
  }

  get server(): string {
    return formatHostPort(this.options.server);
  }

  /** Logs in once; rejects with NotAuthorizedError (login refused) or ConnectError (exit code 3). */
  async start(): Promise<void> {
    this.state = "connecting";
    const { local, domain } = parseJid(this.options.jid, "admin account");
    const service = `xmpp://${this.server}`;
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
      this.state = "stopped";
      this.xmpp = null;
      await safeStop(xmpp);
      throw this.describeConnectFailure(err as XmppError);
    }
    if (this.state !== "connecting") {
      // stop() was called while logging in
      await safeStop(xmpp);
      throw new ConnectError(`admin account ${this.jid} stopped`, "link_stopped");
    }
    this.state = "online";
  }

  async stop(): Promise<void> {
    this.state = "stopped";
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

  /** Resolves when the account is online, waiting through reconnects; rejects at once when its login was refused for good. */
  waitOnline(timeoutMs: number): Promise<void> {
    if (this.state === "online") return Promise.resolve();
    if (this.fatal) return Promise.reject(this.fatal);
    return withTimeout(
      new Promise<void>((resolve, reject) => {
        const onOnline = () => {
          this.off("fatal", onFatal);
          resolve();
        };
        const onFatal = (err: Error) => {
          this.off("online", onOnline);
          reject(err);
        };
        this.once("online", onOnline);
        this.once("fatal", onFatal);
      }),
      timeoutMs,
      () => new ConnectError(`admin account ${this.jid} not back online within ${timeoutMs} ms`, "link_down"),
    );
  }

  /** SCRAM (or whatever the server offers first) on TLS; PLAIN on loopback if allowed; never PLAIN in clear elsewhere. */
  private mechanism(offered: string[], secure: boolean): string {
    const usable = offered.filter((m) => m !== "ANONYMOUS");
    const loopback = (this.options.plainOnLoopback ?? true) && isLoopbackIp(this.options.server.host);
    if (loopback && usable.includes("PLAIN")) return "PLAIN";
    const choice = secure ? usable[0] : usable.find((m) => m !== "PLAIN");
    if (choice === undefined) {
      throw new ConnectError(`admin account ${this.jid}: ${this.server} offers no login mechanism cxfr may use${usable.includes("PLAIN") ? " (only PLAIN, on an unencrypted stream)" : ""}`, "no_mechanism");
    }
    return choice;
  }

  private describeConnectFailure(err: XmppError): Error {
    if (err instanceof CxfrError) return err;
    const who = `admin account ${this.jid}`;
    if (err.name === "SASLError") return new NotAuthorizedError(`${who}: login refused (${err.condition ?? "failure"})`);
    if (err.condition === "host-unknown") return new ConnectError(`${who}: ${this.server} does not serve ${parseJid(this.jid, "admin account").domain} (host-unknown)`, "stream_error");
    if (err.condition) return new ConnectError(`${who}: ${this.server} closed the stream (${err.condition})`, "stream_error");
    if (err.code === "ECONNREFUSED") return new ConnectError(`${who}: cannot connect to ${this.server}: connection refused (is the server's c2s port right?)`);
    if (err.code === "ENOTFOUND" || err.code === "EAI_AGAIN") return new ConnectError(`${who}: cannot connect to ${this.server}: host not found`);
    return new ConnectError(`${who}: cannot log in at ${this.server}: ${err.message}`);
  }

  private onError(err: XmppError): void {
    if (err.name !== "SASLError" || !FATAL_SASL.has(err.condition ?? "") || this.state === "connecting") return;
    // a refused login on a reconnect will be refused again: stop retrying
    this.xmpp?.reconnect.stop();
    this.state = "stopped";
    this.fatal = this.describeConnectFailure(err);
    this.pending.rejectAll(this.fatal);
    this.emit("fatal", this.fatal);
  }

  private onOnline(address: string): void {
    this.address = address;
    if (this.state === "reconnecting") {
      this.state = "online";
      this.emit("online");
    }
  }

  private onDisconnect(): void {
    if (this.state === "stopped" || this.state === "connecting") return;
    this.state = "reconnecting";
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
