import type { MethodName } from "../methods/method.ts";
import type { JobSummary } from "./outcomes.ts";

/**
 * Per-session states of a job (one record per login the job took on):
 *
 *   queued ──▶ applying ──▶ sent ──▶ moved | kicked          (left the node after a method)
 *      │          │           └────▶ applying (next method in the chain, after the grace or a refusal)
 *      │          └──▶ queued (the method never left: link down)
 *      └──▶ skipped (gone before its turn) · failed · remaining (job ended first)
 *
 * `applying` is written before the method acts: a job resumed after a crash finds it and re-observes the
 * session instead of applying the same method again (nothing is ever sent twice).
 */
export type SessionState = "queued" | "applying" | "sent" | "moved" | "kicked" | "failed" | "skipped" | "remaining";

export const TERMINAL_STATES: readonly SessionState[] = ["moved", "kicked", "failed", "skipped", "remaining"];

export type JobState = "planned" | "running" | "cancelling" | "done" | "failed" | "cancelled" | "interrupted";

/** One session as the journal stores it. Times are ms since the epoch (wall clock, for people). */
export interface SessionSnapshot {
  jid: string;
  bare: string;
  /** Label of the chosen target (node name or HOST:PORT as written). */
  target: string;
  state: SessionState;
  /** Index into the job's method chain of the method applied last (or being applied). */
  methodIndex: number;
  /** Methods applied so far, in order. */
  methods: MethodName[];
  reply?: "acked" | "rejected" | "wait" | "no-reply";
  condition?: string;
  reason?: string;
  /** Method that moved or ended the session (terminal moved/kicked). */
  movedBy?: MethodName;
  sentAt?: number;
  outcomeAt?: number;
}

/**
 * Where a job writes its progress. Every write happens before the engine acts on it; a write that throws
 * stops the job (the journal is the proof of what was done). The SQLite journal lives in lib/store/.
 */
export interface JobJournal {
  session(jobId: string, snapshot: SessionSnapshot): void;
  /** Several sessions' states, in order, written together (one commit); a journal without it gets session() each. */
  sessionBatch?(jobId: string, snapshots: readonly SessionSnapshot[]): void;
  job(jobId: string, state: JobState, summary: JobSummary): void;
}

/** A journal that keeps nothing (dry runs, unit specs). */
export const noJournal: JobJournal = { session: () => undefined, job: () => undefined };
