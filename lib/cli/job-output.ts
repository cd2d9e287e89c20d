import { CxfrError, ExitCode } from "../errors.ts";
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
      else if (event.event === "plan") planLine(out, event);
      else progress?.update(event);
    },
    finish(summary, interrupted) {
      progress?.stop();
      if (!out.options.json) printSummary(out, summary, dryRun);
      if (summary.error) out.error(new CxfrError(summary.error.message, ExitCode.connect, summary.error.code));
      return exitCodeOf(summary, interrupted, dryRun);
    },
    stop() {
      progress?.stop();
    },
  };
}

/** rebalance --even: the counts it starts from and aims at, before the moves. */
function planLine(out: Output, event: Extract<JobEvent, { event: "plan" }>): void {
  const { ts: _ts, job: _job, event: _event, kind, planned, ...note } = event;
  if (Object.keys(note).length === 0) return;
  out.line(`${kind}: ${Object.entries(note).map(([k, v]) => `${k} ${typeof v === "object" ? JSON.stringify(v) : String(v)}`).join(", ")}; ${planned} to move`);
}

/** DESIGN §3: 0 all targeted sessions moved; 1 some not; 130 interrupted. */
export function exitCodeOf(summary: JobSummary, interrupted: boolean, dryRun: boolean): number {
  // the job stopped early (listing kept failing, link refused for good): 3, or 2 when the journal failed
  if (summary.error) return summary.error.code === "journal_failed" ? ExitCode.usage : ExitCode.connect;
  if (interrupted) return ExitCode.interrupted;
  if (dryRun) return ExitCode.ok;
  return summary.failed === 0 && summary.remaining === 0 ? ExitCode.ok : ExitCode.incomplete;
}

export function printSummary(out: Output, s: JobSummary, dryRun: boolean): void {
  if (dryRun) {
    out.line(`dry run: ${s.targeted} sessions would be transferred; nothing was sent`);
    return;
  }
  const methods = Object.entries(s.by_method ?? {}).map(([method, n]) => `${method} ${n}`).join(", ");
  out.result(`${s.kind} ${s.job}: targeted ${s.targeted}, moved ${s.moved}, kicked ${s.kicked}, failed ${s.failed}, skipped ${s.skipped}, remaining ${s.remaining} in ${(s.elapsed_ms / 1000).toFixed(1)} s${methods ? ` (by method: ${methods})` : ""}`);
}
