import { EventEmitter } from "node:events";
import { component, type Component } from "@xmpp/component";
import type { Element } from "@xmpp/xml";
import { ConnectError, NotAuthorizedError } from "../errors.ts";
import { formatHostPort, type HostPort } from "../xmpp/address.ts";
import { PendingIqs } from "./pending-iqs.ts";
import { connectUntilOnline, withTimeout } from "./timing.ts";
import { backoffDelay, defaultBackoff, type BackoffOptions } from "./backoff.ts";
import type { Secret } from "../secret.ts";

export interface LinkOptions {
  server: HostPort;
  component: string;
  secret: Secret;
  iqTimeoutMs?: number;
  connectTimeoutMs?: number;
  backoff?: BackoffOptions;
}

export type LinkState = "idle" | "connecting" | "online" | "reconnecting" | "stopped";

/**
 * One XEP-0114 component connection. Events: `online`, `offline` (link lost), `reconnecting` (attempt, delayMs),
 * `stream-error` (condition, text), `stanza` (every incoming stanza).
 * After the first successful start it reconnects by itself with exponential backoff until stop().
 */
export class Link extends EventEmitter {
  state: LinkState = "idle";
  readonly component: string;
  private entity: Component | null = null;
  private readonly pending = new PendingIqs();
  private reconnectTimer: NodeJS.Timeout | null = null;
  private attempt = 0;
  private lastStreamError: { condition: string; text: string } | null = null;

  constructor(private readonly options: LinkOptions) {
    super();
    this.component = options.component;
  }

  get address(): string {
    return formatHostPort(this.options.server);
  }

  /** Connects once; rejects with a typed error (exit code 3) when the server is down or refuses the handshake. */
  async start(): Promise<void> {
    this.state = "connecting";
    try {
      await this.connectOnce();
    } catch (err) {
      this.state = "stopped";
      throw err;
    }
  }

  async stop(): Promise<void> {
    this.state = "stopped";
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.pending.rejectAll(new ConnectError("link stopped", "link_stopped"));
    await this.closeEntity();
  }

  send(el: Element): Promise<void> {
    if (this.state !== "online" || !this.entity) return Promise.reject(new ConnectError(`link to ${this.address} is not online`, "link_down"));
    return this.entity.send(el);
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

  /** Resolves when the link is online, waiting through reconnects; rejects after timeoutMs. */
  waitOnline(timeoutMs: number): Promise<void> {
    if (this.state === "online") return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.off("online", onOnline);
        reject(new ConnectError(`link to ${this.address} not back online within ${timeoutMs} ms`, "link_down"));
      }, timeoutMs);
      const onOnline = () => {
        clearTimeout(timer);
        resolve();
      };
      this.once("online", onOnline);
    });
  }

  private async connectOnce(): Promise<void> {
    const { server, component: domain, secret } = this.options;
    const service = `xmpp://${formatHostPort(server)}`;
    const entity = component({ service, domain, password: secret.reveal() });
    entity.reconnect.stop(); // our own backoff replaces xmpp.js's fixed 1 s retry loop
    this.entity = entity;
    this.lastStreamError = null;
    entity.on("error", (err: Error & { condition?: string; text?: string }) => {
      if (err.condition) {
        this.lastStreamError = { condition: err.condition, text: err.text ?? "" };
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
    this.state = "online";
    this.attempt = 0;
    this.emit("online");
  }

  private describeConnectFailure(err: Error & { code?: string; condition?: string }): Error {
    const where = this.address;
    const condition = err.condition ?? this.lastStreamError?.condition;
    if (condition === "not-authorized") {
      return new NotAuthorizedError(`handshake refused by ${where}: wrong component secret, or the server does not know component ${this.options.component} (not-authorized)`);
    }
    if (condition === "host-unknown") {
      return new NotAuthorizedError(`handshake refused by ${where}: the server has no external component ${this.options.component} configured (host-unknown)`);
    }
    if (condition === "conflict") {
      return new ConnectError(`handshake refused by ${where}: component ${this.options.component} is already connected (conflict)`, "conflict");
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
    const reason = this.lastStreamError ? ` (${this.lastStreamError.condition})` : "";
    this.pending.rejectAll(new ConnectError(`link to ${this.address} lost${reason}`, "link_lost"));
    if (this.state === "stopped") return;
    this.state = "reconnecting";
    this.emit("offline", this.lastStreamError?.condition);
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    const delay = backoffDelay(this.attempt++, this.options.backoff ?? defaultBackoff);
    this.emit("reconnecting", this.attempt, delay);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      if (this.state === "stopped") return;
      this.connectOnce().catch((err: Error) => {
        if (this.state === "stopped") return;
        this.emit("reconnect-failed", err);
        this.scheduleReconnect();
      });
    }, delay);
  }

  private async closeEntity(): Promise<void> {
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
