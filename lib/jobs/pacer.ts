import { InterruptedError } from "../errors.ts";
import { realClock, type Clock } from "./clock.ts";

export { realClock, type Clock } from "./clock.ts";

/** What a waiting caller may carry beyond a burst of 1 after a late wake-up (see takeToken). */
const CATCH_UP_TOKENS = 1;
/** Longest single sleep while waiting for a token. */
const MAX_TOKEN_WAIT_MS = 250;

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
  private tokenWaiters = 0;
  private readonly slotWaiters: Array<() => void> = [];
  private queue: Promise<void> = Promise.resolve();

  readonly options: PacingOptions;

  constructor(
    options: PacingOptions,
    private readonly clock: Clock = realClock,
    private readonly random: () => number = Math.random,
  ) {
    this.options = { ...options };
    this.tokens = Math.max(1, options.burst);
    this.last = clock.now();
  }

  get active(): number {
    return this.inFlight;
  }

  /** The rate in force (Infinity: unlimited). */
  get rate(): number {
    return this.options.rate;
  }

  /** Paces by a new rate from now on (`--rate auto`); tokens already earned are kept, up to the burst. */
  setRate(rate: number): void {
    if (!(rate > 0)) return;
    this.refill();
    this.options.rate = rate;
  }

  /** Waits for one rate token. Calls are served in order. */
  token(signal?: AbortSignal): Promise<void> {
    this.tokenWaiters++;
    const turn = this.queue.then(() => this.takeToken(signal)).finally(() => this.tokenWaiters--);
    this.queue = turn.catch(() => undefined);
    return turn;
  }

  /** Takes a rate token when one is there and nobody waits for one; never waits. */
  tryToken(): boolean {
    if (this.tokenWaiters > 0) return false;
    if (this.options.rate === Infinity) return true;
    this.refill();
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Takes an in-flight slot when one is free and nobody waits for one; never waits. */
  trySlot(): boolean {
    if (this.inFlight >= this.options.maxInFlight || this.slotWaiters.length > 0) return false;
    this.inFlight++;
    return true;
  }

  /** Waits for a free in-flight slot; waiting callers get freed slots in order. */
  async slot(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) throw new InterruptedError();
    if (this.trySlot()) return;
    await new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        const i = this.slotWaiters.indexOf(handOver);
        if (i >= 0) this.slotWaiters.splice(i, 1);
        reject(new InterruptedError());
      };
      const handOver = () => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      };
      this.slotWaiters.push(handOver);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /** Counts a transfer already in flight (a resumed job's) without waiting for a slot. */
  occupy(): void {
    this.inFlight++;
  }

  /** Frees a slot: straight to the first waiting caller, if any. */
  release(): void {
    const next = this.slotWaiters.shift();
    if (next) next();
    else this.inFlight = Math.max(0, this.inFlight - 1);
  }

  private async takeToken(signal?: AbortSignal): Promise<void> {
    if (this.options.rate === Infinity) return;
    for (let slept = false; ; slept = true) {
      if (signal?.aborted) throw new InterruptedError();
      // A caller that slept for its token keeps what accrued while its timer overslept (and the jitter's stretch), up
      // to two tokens even with a burst of 1: each late wake-up otherwise lost time, and --rate 400 --burst 1 sent ≈180/s.
      // After a quiet spell (no one waiting) the burst alone still bounds what goes at once.
      this.refill(slept ? CATCH_UP_TOKENS : 0);
      if (this.tokens >= 1) {
        this.tokens -= 1;
        return;
      }
      const missing = (1 - this.tokens) / this.options.rate;
      const wait = missing * 1000 * (1 + this.options.jitter * this.random());
      // a rate raised meanwhile (setRate) is noticed within MAX_TOKEN_WAIT_MS
      await this.clock.sleep(Math.min(Math.ceil(wait), MAX_TOKEN_WAIT_MS), signal);
    }
  }

  private refill(catchUp = 0): void {
    const now = this.clock.now();
    const capacity = Math.max(1 + catchUp, this.options.burst);
    this.tokens = Math.min(capacity, this.tokens + ((now - this.last) / 1000) * this.options.rate);
    this.last = now;
  }
}
