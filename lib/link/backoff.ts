export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  factor: number;
  /** 0..1: the delay is drawn from [d·(1−jitter), d]. */
  jitter: number;
}

export const defaultBackoff: BackoffOptions = { initialMs: 250, maxMs: 15_000, factor: 2, jitter: 0.3 };

/** Delay before reconnect attempt `attempt` (0-based): exponential, capped, jittered so a fleet of sidecars does not reconnect in lockstep. */
export function backoffDelay(attempt: number, options: BackoffOptions = defaultBackoff, random: () => number = Math.random): number {
  const exponential = Math.min(options.maxMs, options.initialMs * options.factor ** attempt);
  return Math.round(exponential * (1 - options.jitter * random()));
}
