import { InterruptedError } from "../errors.ts";

/**
 * Time as the engine sees it: `now()` is monotonic (a wall-clock step neither shortens nor stretches a grace),
 * `sleep` rejects with InterruptedError when the signal aborts. Specs pass a fake clock and run on fake time.
 */
export interface Clock {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const realClock: Clock = {
  now: () => performance.now(),
  sleep: (ms, signal) =>
    new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(new InterruptedError());
      const timer = setTimeout(() => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      }, ms);
      const onAbort = () => {
        clearTimeout(timer);
        reject(new InterruptedError());
      };
      signal?.addEventListener("abort", onAbort, { once: true });
    }),
};

/** Sleeps without throwing when interrupted: loops that check their own stop condition use it. */
export function nap(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return clock.sleep(ms, signal).catch(() => undefined);
}
