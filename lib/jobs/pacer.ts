import { InterruptedError } from "../errors.ts";
import { realClock, type Clock } from "./clock.ts";

export { realClock, type Clock } from "./clock.ts";

export interface PacingOptions {
  /** Actions per second; Infinity for unlimited. */
  rate: number;
  /** How many actions may go at once after a quiet spell (token bucket size, at least 1). */
  burst: number;
  /** 0..1: each wait is stretched by up to this fraction, so packets do not arrive in lockstep. */
  jitter: number;
  /** Transfers waiting for their outcome at the same time. */
  maxInFlight: number;
}

/**
 * Token bucket for the rate (shared by transfer packets and fallback kicks) plus a cap on transfers in flight.
 * Callers: `await pacer.slot()` before starting a transfer, `pacer.release()` when its outcome is known,
 * and `await pacer.token()` before every packet or kick they send.
 */
export class Pacer {
  private tokens: number;
  private last: number;
  private inFlight = 0;
  private readonly slotWaiters: Array<() => void> = [];
  private queue: Promise<void> = Promise.resolve();

  constructor(
    readonly options: PacingOptions,
    private readonly clock: Clock = realClock,
    private readonly random: () => number = Math.random,
  ) {
    this.tokens = Math.max(1, options.burst);
    this.last = clock.now();
  }

  get active(): number {
    return this.inFlight;
  }

  /** Waits for one rate token. Calls are served in order. */
  token(signal?: AbortSignal): Promise<void> {
    const turn = this.queue.then(() => this.takeToken(signal));
    this.queue = turn.catch(() => undefined);
    return turn;
  }

  /** Waits for a free in-flight slot. */
  async slot(signal?: AbortSignal): Promise<void> {
    while (this.inFlight >= this.options.maxInFlight) {
      if (signal?.aborted) throw new InterruptedError();
      await new Promise<void>((resolve) => {
        const wake = () => {
          signal?.removeEventListener("abort", wake);
          resolve();
        };
        this.slotWaiters.push(wake);
        signal?.addEventListener("abort", wake, { once: true });
      });
    }
    this.inFlight++;
  }

  /** Counts a transfer already in flight (a resumed job's) without waiting for a slot. */
  occupy(): void {
    this.inFlight++;
  }

  release(): void {
    this.inFlight = Math.max(0, this.inFlight - 1);
    this.slotWaiters.shift()?.();
  }

  private async takeToken(signal?: AbortSignal): Promise<void> {
    if (this.options.rate === Infinity) return;
    for (;;) {
      if (signal?.aborted) throw new InterruptedError();
      this.refill();
      if (this.tokens >= 1) {
        this.tokens -= 1;
        return;
      }
      const missing = (1 - this.tokens) / this.options.rate;
      const wait = missing * 1000 * (1 + this.options.jitter * this.random());
      await this.clock.sleep(Math.ceil(wait), signal);
    }
  }

  private refill(): void {
    const now = this.clock.now();
    const capacity = Math.max(1, this.options.burst);
    this.tokens = Math.min(capacity, this.tokens + ((now - this.last) / 1000) * this.options.rate);
    this.last = now;
  }
}
