import cliProgress from "cli-progress";
import type { JobEvent } from "../jobs/runner.ts";

/** A one-line progress bar for people at a terminal: moved / kicked / failed / remaining, rate, ETA. */
export function createProgress(stream: NodeJS.WriteStream = process.stderr): { update(event: JobEvent): void; stop(): void } {
  const counts = { moved: 0, kicked: 0, failed: 0, skipped: 0, remaining: 0, targeted: 0 };
  const seen = new Set<string>();
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: "{bar} {done}/{total} | moved {moved} kicked {kicked} failed {failed} | remaining {remaining} | {speed}/s | ETA {eta_formatted}",
      hideCursor: true,
      clearOnComplete: false,
    },
    cliProgress.Presets.shades_classic,
  );
  const started = Date.now();
  let running = false;
  const render = () => {
    const done = counts.moved + counts.kicked + counts.failed + counts.skipped;
    const payload = { ...counts, done, remaining: counts.targeted - done, speed: (done / Math.max(1, (Date.now() - started) / 1000)).toFixed(1) };
    if (!running) {
      bar.start(Math.max(1, counts.targeted), done, payload);
      running = true;
    }
    bar.setTotal(Math.max(1, counts.targeted));
    bar.update(done, payload);
  };
  return {
    update(event) {
      const jid = typeof event.jid === "string" ? event.jid : undefined;
      if (event.event === "sent" && jid && !seen.has(jid)) {
        seen.add(jid);
        counts.targeted++;
      }
      if (event.event === "moved" || event.event === "kicked" || event.event === "failed" || event.event === "skipped") {
        if (jid && !seen.has(jid)) {
          seen.add(jid);
          counts.targeted++;
        }
        counts[event.event]++;
      }
      if (event.event === "sent" || event.event in counts) render();
    },
    stop() {
      if (running) bar.stop();
    },
  };
}
