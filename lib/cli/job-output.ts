import { ExitCode } from "../errors.ts";
import type { JobSummary } from "../jobs/outcomes.ts";
import type { JobEvent } from "../jobs/runner.ts";
import type { Output } from "./output.ts";
import { createProgress } from "./progress.ts";

/**
 * How a job looks on the terminal, the same whether it runs here or in the daemon (--api): JSON lines
 * with --json, plan lines on a dry run, a progress bar on a TTY only (cron gets plain lines), the summary line.
 */
export function presentJob(out: Output, dryRun: boolean): { onEvent(event: JobEvent): void; finish(summary: JobSummary, interrupted: boolean): number; stop(): void } {
  const progress = !out.options.json && out.options.tty && !out.options.quiet ? createProgress() : undefined;
  return {
    onEvent(event) {
      if (out.options.json) out.event(event);
      else if (event.event === "planned") out.line(`${String(event.jid)} -> ${String(event.target)}`);
      else progress?.update(event);
    },
    finish(summary, interrupted) {
      progress?.stop();
      if (!out.options.json) printSummary(out, summary, dryRun);
      return exitCodeOf(summary, interrupted, dryRun);
    },
    stop() {
      progress?.stop();
    },
  };
}

/** DESIGN §3: 0 all targeted sessions moved; 1 some not; 130 interrupted. */
export function exitCodeOf(summary: JobSummary, interrupted: boolean, dryRun: boolean): number {
  if (interrupted) return ExitCode.interrupted;
  if (dryRun) return ExitCode.ok;
  return summary.failed === 0 && summary.remaining === 0 ? ExitCode.ok : ExitCode.incomplete;
}

function printSummary(out: Output, s: JobSummary, dryRun: boolean): void {
  if (dryRun) {
    out.line(`dry run: ${s.targeted} sessions would be transferred; nothing was sent`);
    return;
  }
  out.line(`${s.kind} ${s.job}: targeted ${s.targeted}, moved ${s.moved}, kicked ${s.kicked}, failed ${s.failed}, skipped ${s.skipped}, remaining ${s.remaining} in ${(s.elapsed_ms / 1000).toFixed(1)} s`);
}
