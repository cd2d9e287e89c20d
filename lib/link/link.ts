import { EventEmitter } from "node:events";
import { randomBytes } from "node:crypto";
import { component, type Component } from "@xmpp/component";
import type { Element } from "@xmpp/xml";
import { ConnectError, NotAuthorizedError, TimeoutError } from "../errors.ts";
import { formatHostPort, type HostPort } from "../xmpp/address.ts";
import { stanzaErrorOf } from "../xmpp/stanza.ts";
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

interface Pending {
  resolve: (el: Element) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

/**
 * One XEP-0114 component connection. Events: `online`, `offline` (link lost), `reconnecting` (attempt, delayMs),
 * `stream-error` (condition, text), `stanza` (every incoming stanza).
 * After the first successful start it reconnects by itself with exponential backoff until stop().
 */
export class Link extends EventEmitter {
  state: LinkState = "idle";
  readonly component: string;
  private entity: Component | null = null;
  private readonly pending = new Map<string, Pending>();
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
    this.rejectPending(new ConnectError("link stopped", "link_stopped"));
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
    const id = (iq.attrs.id ??= `cxfr-${randomBytes(6).toString("hex")}`) as string;
    let written!: Promise<void>;
    const reply = new Promise<Element>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new TimeoutError(`iq ${iq.getChildElements()[0]?.name ?? ""} to ${String(iq.attrs.to)}`, timeoutMs));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      written = this.send(iq).catch((err: Error) => {
        clearTimeout(timer);
        this.pending.delete(id);
        reject(err);
        throw err;
      });
    });
    written.catch(() => undefined);
    return { written, reply };
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
      await withTimeout(handshake(entity, service, domain), timeoutMs, () => new ConnectError(`no handshake from ${this.address} within ${timeoutMs} ms`));
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
    if (el.name === "iq" && (el.attrs.type === "result" || el.attrs.type === "error")) {
      const waiter = this.pending.get(String(el.attrs.id));
      if (waiter) {
        this.pending.delete(String(el.attrs.id));
        clearTimeout(waiter.timer);
        if (el.attrs.type === "result") waiter.resolve(el);
        else waiter.reject(stanzaErrorOf(el));
      }
    }
    this.emit("stanza", el);
  }

  private onDisconnect(entity: Component): void {
    if (this.entity !== entity) return;
    this.entity = null;
    const reason = this.lastStreamError ? ` (${this.lastStreamError.condition})` : "";
    this.rejectPending(new ConnectError(`link to ${this.address} lost${reason}`, "link_lost"));
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

  private rejectPending(err: Error): void {
    for (const [id, waiter] of this.pending) {
      clearTimeout(waiter.timer);
      waiter.reject(err);
      this.pending.delete(id);
    }
  }

  private async closeEntity(): Promise<void> {
    const entity = this.entity;
    this.entity = null;
    if (entity) await safeStop(entity);
  }
}

/**
 * entity.start() leaves its "online" promise unobserved when the socket fails mid-handshake, which
 * surfaces as an unhandled rejection (ECONNRESET) that kills the process; this awaits every step itself.
 */
async function handshake(entity: Component, service: string, domain: string): Promise<void> {
  const online = new Promise<void>((resolve, reject) => {
    const onError = (err: Error) => {
      entity.off("online", onOnline);
      reject(err);
    };
    const onOnline = () => {
      entity.off("error", onError);
      resolve();
    };
    entity.once("online", onOnline);
    entity.once("error", onError);
  });
  online.catch(() => undefined);
  await entity.connect(service);
  await entity.open({ domain });
  await online;
}

async function safeStop(entity: Component): Promise<void> {
  entity.reconnect.stop();
  try {
    await withTimeout(entity.stop(), 3000, () => new Error("stop timeout"));
  } catch {
    (entity.socket as { destroy?: () => void } | null)?.destroy?.();
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(onTimeout()), ms);
    promise.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}
