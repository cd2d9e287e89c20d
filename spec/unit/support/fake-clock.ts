import { InterruptedError } from "../../../lib/errors.ts";
import type { Clock } from "../../../lib/jobs/clock.ts";

interface Timer {
  at: number;
  fire: () => void;
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Fake time for the engine: sleeps wait until run() advances the clock past them. No wall-clock waits. */
export class FakeClock implements Clock {
  private t = 0;
  private timers: Timer[] = [];

  now(): number {
    return this.t;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(new InterruptedError());
      const timer: Timer = {
        at: this.t + Math.max(0, ms),
        fire: () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        },
      };
      const onAbort = () => {
        this.timers = this.timers.filter((x) => x !== timer);
        reject(new InterruptedError());
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.timers.push(timer);
    });
  }

  /** Calls `fn` when the clock reaches `ms` from now. */
  at(ms: number, fn: () => void): void {
    void this.sleep(ms).then(fn);
  }

  /** Advances fake time timer by timer, letting promises settle in between, until `work` settles. */
  async run<T>(work: Promise<T>, limitMs = 24 * 3600_000): Promise<T> {
    let settled = false;
    work.then(
      () => (settled = true),
      () => (settled = true),
    );
    while (!settled) {
      for (let i = 0; i < 5 && !settled; i++) await turn();
      if (settled) break;
      const next = this.timers.reduce<Timer | undefined>((a, b) => (!a || b.at < a.at ? b : a), undefined);
      if (!next) throw new Error("stuck: nothing scheduled and the work has not settled");
      if (next.at > limitMs) throw new Error(`still running after ${limitMs} ms of fake time`);
      this.t = Math.max(this.t, next.at);
      const due = this.timers.filter((x) => x.at <= this.t);
      this.timers = this.timers.filter((x) => x.at > this.t);
      for (const timer of due) timer.fire();
    }
    return work;
  }
}
