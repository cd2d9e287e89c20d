// Waits until the lab nodes are idle before a timed run. After thousands of logins (or a storm's
// reconnects and their teardown) a node keeps working for seconds, and on two shared cores a run that
// starts then is slowed by that leftover work, whichever sender it measures; so cxfr, the raw component
// and the link limit all wait here first. (The raw component's rate at ejabberd still varies 3–5×
// between idle turns: README, Performance, session 8.)
import { cpuSeconds } from "../../spec/support/lab/processes.ts";

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface QuietResult {
  /** how long the wait took */
  waitedMs: number;
  /** false if a node was still busy at maxMs (the run goes ahead: it is logged, not hidden) */
  quiet: boolean;
  /** the busiest process's share of one core in the last window */
  lastBusiest: number;
}

/**
 * Resolves once, for `windows` windows of `windowMs` in a row, every pid (and this process) used less than
 * `share` of one core, or after `maxMs`.
 */
export async function untilQuiet(pids: number[], o: { share?: number; windowMs?: number; windows?: number; maxMs?: number } = {}): Promise<QuietResult> {
  const share = o.share ?? 0.1;
  const windowMs = o.windowMs ?? 250;
  const windows = o.windows ?? 2;
  const maxMs = o.maxMs ?? 20_000;
  const started = performance.now();
  const usage = () => {
    const self = process.cpuUsage();
    return [...pids.map(cpuSeconds), (self.user + self.system) / 1e6];
  };
  let before = usage();
  let calm = 0;
  let busiest = 0;
  while (performance.now() - started < maxMs) {
    const at = performance.now();
    await sleep(windowMs);
    const now = usage();
    const elapsed = (performance.now() - at) / 1000;
    busiest = Math.max(0, ...now.map((s, i) => (s !== undefined && before[i] !== undefined ? (s - (before[i] as number)) / elapsed : 0)));
    before = now;
    calm = busiest < share ? calm + 1 : 0;
    if (calm >= windows) return { waitedMs: performance.now() - started, quiet: true, lastBusiest: busiest };
  }
  return { waitedMs: performance.now() - started, quiet: false, lastBusiest: busiest };
}
