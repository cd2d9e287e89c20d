import { createRequire } from "node:module";
import type { JobEventName } from "../jobs/events.ts";

// loaded when a bar is drawn: scripts, --json and `cxfr sessions` never pay for it at start-up
const loadCliProgress = (): typeof import("cli-progress") => createRequire(import.meta.url)("cli-progress") as typeof import("cli-progress");

/** What the bar reads of an event. */
export interface ProgressEvent {
  event: JobEventName;
  jid?: string;
  /** `rate` events (--rate auto): the rate from now on and why */
  rate?: number;
  reason?: string;
}

const SETTLED = ["moved", "kicked", "failed", "skipped"] as const;
type Settled = (typeof SETTLED)[number];

/** A one-line progress bar for people at a terminal: moved / kicked / failed / remaining, rate, ETA. */
export function createProgress(stream: NodeJS.WriteStream = process.stderr): { update(event: ProgressEvent): void; stop(): void } {
  const counts: Record<Settled, number> = { moved: 0, kicked: 0, failed: 0, skipped: 0 };
  // every session is sent a packet, kicked straight away (--method kick) or skipped before its turn
  const targets = new Set<unknown>();
  const started = Date.now();
  const cliProgress = loadCliProgress();
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: "{bar} {done}/{total} | moved {moved} kicked {kicked} failed {failed} | remaining {remaining} | {speed}/s | ETA {eta_formatted}{pace}",
      hideCursor: true,
    },
    cliProgress.Presets.shades_classic,
  );
  let running = false;
  // --rate auto: the rate in force and the reason of its last change
  let pace = "";
  const render = () => {
    const done = SETTLED.reduce((sum, key) => sum + counts[key], 0);
    const payload = { ...counts, done, remaining: targets.size - done, speed: (done / Math.max(1, (Date.now() - started) / 1000)).toFixed(1), pace };
    if (!running) bar.start(Math.max(1, targets.size), done, payload);
    running = true;
    bar.setTotal(Math.max(1, targets.size));
    bar.update(done, payload);
  };
  return {
    update(event) {
      if (event.event === "rate" && event.rate !== undefined) {
        pace = ` | auto ${event.rate}/s: ${event.reason ?? ""}`;
        if (running) render();
        return;
      }
      if (event.event === "sent" || event.event === "skipped" || event.event === "kick") targets.add(event.jid);
      if ((SETTLED as readonly string[]).includes(event.event)) counts[event.event as Settled]++;
      if (event.event === "sent" || event.event in counts) render();
    },
    stop() {
      if (running) bar.stop();
      running = false;
    },
  };
}
