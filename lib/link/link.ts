import type { EventEmitter } from "node:events";
import { component, type Component } from "@xmpp/component";
import xml, { type Element } from "@xmpp/xml";
import { ConnectError, FromDomainRefusedError, LinkFailedError, StanzaError } from "../errors.ts";
import { ConnectionLifecycle, type ConnectionState } from "./lifecycle.ts";
import { formatHostPort, type HostPort } from "../xmpp/address.ts";
import { Outbox } from "./outbox.ts";
import { PendingIqs } from "./pending-iqs.ts";
import { connectUntilOnline, withTimeout } from "./timing.ts";
import { backoffDelay, defaultBackoff, type BackoffOptions } from "./backoff.ts";
import { guardParser } from "../xmppjs/parser-guard.ts";
import type { Secret } from "../secret.ts";

const NS_PING = "urn:xmpp:ping";
/** Stream errors a reconnect cannot cure (RFC 6120 §4.9.3): the link fails for good with the reason. */
const FINAL_CONDITIONS = new Set(["not-authorized", "host-unknown", "conflict"]);

export interface LinkOptions {
  server: HostPort;
  component: string;
  secret: Secret;
  iqTimeoutMs?: number;
  connectTimeoutMs?: number;
  backoff?: BackoffOptions;
  /** Server config that lets the component send from the users' domain (the dialect's fromDomainSnippet). */
  fromDomainFix?: string;
}

export type LinkState = ConnectionState;

/**
 * One XEP-0114 component connection. Events: `online`, `offline` (link lost), `reconnecting` (attempt, delayMs),
 * `stream-error` (condition, text), `stanza` (every incoming stanza), `failed` (LinkFailedError: refused for a
 * reason a retry cannot fix; no more reconnects), `from-domain-refused` (FromDomainRefusedError: the server
 * closed the stream with invalid-from after a stanza from the users' domain; the link reconnects).
 * After the first successful start it reconnects by itself with exponential backoff until stop() or a failure.
 */
export class Link extends ConnectionLifecycle {
  readonly component: string;
  private entity: Component | null = null;
  private readonly pending = new PendingIqs();
  private reconnectTimer: NodeJS.Timeout | null = null;
  private attempt = 0;
  private lastStreamError: { condition: string; text: string } | null = null;
  /** Bumped at every disconnect: a stanza written in one epoch and confirmed in another was not confirmed. */
  private epoch = 0;
  private pendingBarrier: Promise<void> | null = null;
  /** Set once the server refused a stanza from the users' domain (invalid-from). */
  fromDomainRefused: FromDomainRefusedError | undefined;
  /** Config text offered with a FromDomainRefusedError; openNode sets the detected server's. */
  fromDomainFix: string;

  constructor(private readonly options: LinkOptions) {
    super();
    this.component = options.component;
    this.fromDomainFix = options.fromDomainFix ?? `let component ${options.component} send stanzas from the users' domain`;
  }

  get address(): string {
    return formatHostPort(this.options.server);
  }

  protected get label(): string {
    return `link to ${this.address}`;
  }

  /** Connects once; rejects with a typed error (exit code 3) when the server is down or refuses the handshake. */
  async start(): Promise<void> {
    this.status("connecting");
    try {
      await this.connectOnce();
    } catch (err) {
      this.status("stopped");
      throw err;
    }
  }

  async stop(): Promise<void> {
    this.status("stopped");
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.pending.rejectAll(new ConnectError("link stopped", "link_stopped"));
    await this.closeEntity();
  }

  send(el: Element): Promise<void> {
    if (this.state !== "online" || !this.entity) return Promise.reject(this.failure ?? new ConnectError(`link to ${this.address} is not online`, "link_down"));
    // XEP-0114: every stanza on the link carries a from (as @xmpp/component's send would set it)
    if ((el.name === "iq" || el.name === "message" || el.name === "presence") && !el.attrs.from) el.attrs.from = this.component;
    return this.outbox.add(el.toString());
  }

  /** The link's writes of one turn: one socket write per turn (outbox.ts), to the connection of the moment. */
  private readonly outbox = new Outbox((text) => {
    if (!this.entity) return Promise.reject(this.failure ?? new ConnectError(`link to ${this.address} is not online`, "link_down"));
    return this.entity.write(text);
  });

  /**
   * Resolves once the socket has handed what was written to the kernel (at once unless a write had to be buffered),
   * or the link closed. A job waits for it between batches, so packets queue as records (a few hundred bytes each)
   * rather than as pending writes with their callbacks and replies, when the server reads slower than cxfr writes.
   */
  whenTaken(): Promise<void> {
    this.outbox.flush();
    const socket = this.entity?.socket as (EventEmitter & { writableNeedDrain?: boolean; destroyed?: boolean }) | null | undefined;
    if (!socket?.writableNeedDrain || socket.destroyed) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = () => {
        socket.off("drain", done);
        socket.off("close", done);
        resolve();
      };
      socket.on("drain", done);
      socket.on("close", done);
    });
  }

  /**
   * Sends a stanza and resolves only once the server has processed it and kept the link: a ping written after it
   * (shared by every send of the same tick) comes back on the same stream. Rejects with FromDomainRefusedError when
   * the server closed the stream with invalid-from meanwhile (the stanza was dropped), with ConnectError
   * "unconfirmed" when the link went down before the confirmation (the stanza may or may not have been delivered),
   * or as send() does when it could not be written at all ("link_down").
   */
  async sendChecked(el: Element): Promise<void> {
    const epoch = this.epoch;
    await this.send(el);
    const refusedBefore = this.fromDomainRefused;
    try {
      await this.barrier();
    } catch {
      // told apart below
    }
    if (this.epoch === epoch && this.state === "online") return;
    if (this.fromDomainRefused && this.fromDomainRefused !== refusedBefore) throw this.fromDomainRefused;
    throw new ConnectError(`link to ${this.address} went down before the server confirmed the stanza`, "unconfirmed");
  }

  /** A ping to ourselves through the server; resolves when it comes back (any answer), after everything sent before it. */
  private barrier(): Promise<void> {
    this.pendingBarrier ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
      this.pendingBarrier = null;
      const ping = xml("iq", { type: "get", to: this.component, from: this.component }, xml("ping", { xmlns: NS_PING }));
      return this.request(ping).then(
        () => undefined,
        (err: unknown) => {
          if (!(err instanceof StanzaError)) throw err;
        },
      );
    });
    return this.pendingBarrier;
  }

  /** Sends an IQ and resolves its result; rejects with StanzaError, TimeoutError, or ConnectError when the link drops first. */
  request(iq: Element, timeoutMs?: number): Promise<Element> {
    return this.exchange(iq, timeoutMs).reply;
  }

  /**
   * Like request(), and also tells when the IQ was written: `written` rejects (and `reply` with it) when it
   * never left, so a caller can tell "not sent" from "sent, no answer".
   */
  exchange(iq: Element, timeoutMs = this.options.iqTimeoutMs ?? 15_000): { written: Promise<void>; reply: Promise<Element> } {
    return this.pending.exchange(iq, timeoutMs, (el) => this.send(el));
  }

  private async connectOnce(): Promise<void> {
    const { server, component: domain, secret } = this.options;
    const service = `xmpp://${formatHostPort(server)}`;
    const entity = component({ service, domain, password: secret.reveal() });
    entity.reconnect.stop(); // our own backoff replaces xmpp.js's fixed 1 s retry loop
    guardParser(entity);
    this.entity = entity;
    this.lastStreamError = null;
    entity.on("error", (err: Error & { condition?: string; text?: string }) => {
      if (err.condition) {
        this.lastStreamError = { condition: err.condition, text: err.text ?? "" };
        if (err.condition === "invalid-from") {
          this.fromDomainRefused = new FromDomainRefusedError(this.address, this.fromDomainFix);
          this.emit("from-domain-refused", this.fromDomainRefused);
        }
        this.emit("stream-error", err.condition, err.text ?? "");
      }
    });
    entity.on("stanza", (el: Element) => this.onStanza(el));
    const timeoutMs = this.options.connectTimeoutMs ?? 10_000;
    try {
      await withTimeout(connectUntilOnline(entity, service, domain), timeoutMs, () => new ConnectError(`no handshake from ${this.address} within ${timeoutMs} ms`));
    } catch (err) {
      this.entity = null;
      await safeStop(entity);
      throw this.describeConnectFailure(err as Error & { code?: string; condition?: string });
    }
    entity.on("disconnect", () => this.onDisconnect(entity));
    // A packet and the ping that confirms it are two small writes: with Nagle's algorithm the ping waits for the
    // server's delayed ACK (≈40 ms), which made every confirmed send cost 40 ms.
    (entity.socket as { setNoDelay?: (noDelay: boolean) => void } | null)?.setNoDelay?.(true);
    this.status("online");
    this.attempt = 0;
    this.emit("online");
  }

  private describeConnectFailure(err: Error & { code?: string; condition?: string }): Error {
    const where = this.address;
    const condition = err.condition ?? this.lastStreamError?.condition;
    if (condition === "not-authorized") {
      return new LinkFailedError(`handshake refused by ${where}: wrong component secret, or the server does not know component ${this.options.component} (not-authorized)`, condition);
    }
    if (condition === "host-unknown") {
      return new LinkFailedError(`handshake refused by ${where}: the server has no external component ${this.options.component} configured (host-unknown)`, condition);
    }
    if (condition === "conflict") {
      return new LinkFailedError(`handshake refused by ${where}: component ${this.options.component} is already connected, another cxfr may hold it (conflict)`, condition);
    }
    if (condition) return new ConnectError(`handshake refused by ${where}: ${condition}`, "stream_error");
    if (err.code === "ECONNREFUSED") return new ConnectError(`cannot connect to ${where}: connection refused (is the server's component port right?)`);
    if (err.code === "ENOTFOUND" || err.code === "EAI_AGAIN") return new ConnectError(`cannot connect to ${where}: host not found`);
    if (err instanceof ConnectError) return err;
    return new ConnectError(`cannot connect to ${where}: ${err.message}`);
  }

  private onStanza(el: Element): void {
    this.pending.settle(el);
    this.emit("stanza", el);
  }

  private onDisconnect(entity: Component): void {
    if (this.entity !== entity) return;
    this.entity = null;
    this.epoch++;
    const condition = this.lastStreamError?.condition;
    const reason = condition ? ` (${condition})` : "";
    this.pending.rejectAll(new ConnectError(`link to ${this.address} lost${reason}`, "link_lost"));
    if (this.state === "stopped" || this.state === "failed") return;
    this.status("reconnecting", condition);
    this.emit("offline", condition);
    if (condition && FINAL_CONDITIONS.has(condition)) {
      this.fail(new LinkFailedError(`link to ${this.address} closed by the server: ${condition}${this.lastStreamError?.text ? ` (${this.lastStreamError.text})` : ""}`, condition));
      return;
    }
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    const delay = backoffDelay(this.attempt++, this.options.backoff ?? defaultBackoff);
    this.emit("reconnecting", this.attempt, delay);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      if (this.state !== "reconnecting") return;
      this.connectOnce().catch((err: Error) => {
        if (this.state !== "reconnecting") return;
        if (err instanceof LinkFailedError) return this.fail(err);
        this.emit("reconnect-failed", err);
        this.scheduleReconnect();
      });
    }, delay);
  }

  protected override fail(err: LinkFailedError): void {
    this.pending.rejectAll(err);
    super.fail(err);
  }

  private async closeEntity(): Promise<void> {
    this.outbox.flush();
    const entity = this.entity;
    this.entity = null;
    if (entity) await safeStop(entity);
  }
}

async function safeStop(entity: Component): Promise<void> {
  entity.reconnect.stop();
  try {
    await withTimeout(entity.stop(), 3000, () => new Error("stop timeout"));
  } catch {
    (entity.socket as { destroy?: () => void } | null)?.destroy?.();
  }
}
