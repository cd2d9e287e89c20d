import { EventEmitter } from "node:events";
import { ConnectError, InterruptedError, type LinkFailedError } from "../errors.ts";

export type ConnectionState = "idle" | "connecting" | "online" | "reconnecting" | "failed" | "stopped";

/**
 * The lifecycle every cxfr connection kind shares (the component link, the c2s admin account), after xmpp.js's
 * connection: each state change goes through status(), which emits `status` (state, ...details); a failure for
 * good is final (state "failed", `failed` event, every wait rejects with it). The kinds add how they connect and
 * reconnect, and emit `online` / `offline` themselves.
 */
export abstract class ConnectionLifecycle extends EventEmitter {
  state: ConnectionState = "idle";
  /** Why the connection failed for good (state "failed"). */
  failure: LinkFailedError | undefined;

  /** How messages name this connection, e.g. "link to 10.0.0.11:5347". */
  protected abstract get label(): string;

  protected status(state: ConnectionState, ...details: unknown[]): void {
    this.state = state;
    this.emit("status", state, ...details);
  }

  /** No more reconnects: the connection is over, and everyone waiting learns why. */
  protected fail(err: LinkFailedError): void {
    this.failure = err;
    this.status("failed", err);
    this.emit("failed", err);
  }

  /**
   * Resolves when online, waiting through reconnects. Rejects with the LinkFailedError at once when the connection
   * failed for good, with InterruptedError when `signal` aborts, with ConnectError after timeoutMs.
   */
  waitOnline(timeoutMs: number, signal?: AbortSignal): Promise<void> {
    return waitUntilOnline(this, {
      online: () => this.state === "online",
      failure: () => this.failure ?? (this.state === "stopped" ? new ConnectError(`${this.label} stopped`, "link_stopped") : undefined),
      timeoutMs,
      signal,
      timeoutError: () => new ConnectError(`${this.label} not back online within ${timeoutMs} ms`, "link_down"),
    });
  }
}

interface OnlineWait {
  online: () => boolean;
  /** A reason to give up at once (failed for good, stopped), checked before waiting and at each `failed` event. */
  failure: () => Error | undefined;
  timeoutMs: number;
  signal?: AbortSignal | undefined;
  timeoutError: () => Error;
}

/** Waits for `online` on `emitter`; gives up on `failed`, on abort, or after the timeout. */
export function waitUntilOnline(emitter: EventEmitter, wait: OnlineWait): Promise<void> {
  const early = wait.failure();
  if (early) return Promise.reject(early);
  if (wait.signal?.aborted) return Promise.reject(new InterruptedError());
  if (wait.online()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const finish = (err?: Error) => {
      clearTimeout(timer);
      emitter.off("online", onOnline);
      emitter.off("failed", onFailed);
      wait.signal?.removeEventListener("abort", onAbort);
      if (err) reject(err);
      else resolve();
    };
    const onOnline = () => finish();
    const onFailed = (err: Error) => finish(wait.failure() ?? err);
    const onAbort = () => finish(new InterruptedError());
    const timer = setTimeout(() => finish(wait.timeoutError()), wait.timeoutMs);
    emitter.on("online", onOnline);
    emitter.on("failed", onFailed);
    wait.signal?.addEventListener("abort", onAbort, { once: true });
  });
}
