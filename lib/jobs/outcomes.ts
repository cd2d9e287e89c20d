import type { MethodName } from "../methods/method.ts";
import type { SessionSnapshot } from "./journal-port.ts";

/** Decisive outcome of one session in a job; see the README for what each one means. */
export type Outcome = "moved" | "kicked" | "failed" | "skipped" | "remaining";

/** Methods that end a session rather than send it somewhere: a session that leaves after one counts as kicked. */
export const ENDING_METHODS: readonly MethodName[] = ["close", "kick"];

export interface JobSummary {
  job: string;
  kind: string;
  targeted: number;
  moved: number;
  kicked: number;
  failed: number;
  skipped: number;
  remaining: number;
  elapsed_ms: number;
  /** Sessions moved or ended, per method that did it. */
  by_method?: Partial<Record<MethodName, number>>;
  /** Why the job stopped before its end (listing kept failing, link refused for good …); exit code 3. */
  error?: { code: string; message: string };
}

export function summarize(job: string, kind: string, records: Iterable<Pick<SessionSnapshot, "state" | "movedBy">>, elapsedMs: number): JobSummary {
  const byMethod: NonNullable<JobSummary["by_method"]> = {};
  const summary: JobSummary = { job, kind, targeted: 0, moved: 0, kicked: 0, failed: 0, skipped: 0, remaining: 0, elapsed_ms: Math.round(elapsedMs), by_method: byMethod };
  for (const record of records) {
    summary.targeted++;
    const state = record.state;
    if (state === "moved" || state === "kicked" || state === "failed" || state === "skipped") summary[state]++;
    else summary.remaining++;
    if (record.movedBy) byMethod[record.movedBy] = (byMethod[record.movedBy] ?? 0) + 1;
  }
  return summary;
}
