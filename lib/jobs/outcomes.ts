/** Decisive outcome of one session in a job; see the README for what each one means. */
export type Outcome = "moved" | "kicked" | "failed" | "skipped" | "remaining";

/** What the client said to the packet (visible only when it was sent from the component). */
export type Reply = "acked" | "rejected" | "no-reply";

export interface SessionRecord {
  jid: string;
  bare: string;
  target: string;
  /** Times in ms since the epoch. */
  sentAt?: number;
  reply?: Reply;
  replyCondition?: string;
  kickAt?: number;
  outcome?: Outcome;
  outcomeAt?: number;
  reason?: string;
}

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
}

export function summarize(job: string, kind: string, records: Iterable<SessionRecord>, elapsedMs: number): JobSummary {
  const summary: JobSummary = { job, kind, targeted: 0, moved: 0, kicked: 0, failed: 0, skipped: 0, remaining: 0, elapsed_ms: Math.round(elapsedMs) };
  for (const record of records) {
    summary.targeted++;
    summary[record.outcome ?? "remaining"]++;
  }
  return summary;
}
