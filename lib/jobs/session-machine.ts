import type { Reply } from "../methods/method.ts";
import { TERMINAL_STATES, type SessionSnapshot, type SessionState } from "./journal-port.ts";

/** One session the job took on: its journaled snapshot plus what only the running engine needs. */
export interface SessionRecord extends SessionSnapshot {
  /** Canonical full JID: the key listings are matched on. */
  key: string;
  /** Monotonic ms when the current method's wait ends (grace, or the settle time of an ending method). */
  waitEnds?: number;
  /** Good listings in a row that did not show the session; two make a departure (one may be a glitch). */
  absences: number;
  /** Link epoch the last method was applied in: a server restart since then ended that session. */
  epoch?: number;
  /** Monotonic ms the current method was applied. */
  appliedAt?: number;
}

/**
 * Every allowed transition, in one place (see the state diagram in journal-port.ts). `applying → applying` is the
 * next method after one that was unavailable; `sent → applying` the next method after the grace or a refusal.
 */
const ALLOWED: Record<SessionState, readonly SessionState[]> = {
  queued: ["applying", "skipped", "remaining", "failed", "moved"],
  applying: ["sent", "queued", "applying", "failed", "remaining", "moved"],
  sent: ["sent", "applying", "moved", "kicked", "failed", "remaining", "skipped"],
  moved: [],
  kicked: [],
  failed: [],
  skipped: [],
  remaining: [],
};

export class TransitionError extends Error {}

export function isTerminal(state: SessionState): boolean {
  return TERMINAL_STATES.includes(state);
}

export interface TransitionDetail {
  reason?: string;
  reply?: Reply;
}

/** Moves `record` to `to`, or throws when the table does not allow it (a bug, never user input). */
export function transition(record: SessionRecord, to: SessionState, detail: TransitionDetail = {}, wallNow = Date.now()): void {
  if (!ALLOWED[record.state].includes(to)) throw new TransitionError(`${record.jid}: ${record.state} → ${to} is not a transition`);
  record.state = to;
  if (detail.reason !== undefined) record.reason = detail.reason;
  if (detail.reply) {
    record.reply = detail.reply.kind;
    if ("condition" in detail.reply) record.condition = detail.reply.condition;
  }
  if (isTerminal(to)) record.outcomeAt = wallNow;
}

/**
 * The journal's view of a record: the snapshot fields only, copied one by one (a rest pattern that leaves out the
 * engine's fields was a runtime call per write, and three writes per session in a burst).
 */
export function snapshotOf(record: SessionRecord): SessionSnapshot {
  const snapshot: SessionSnapshot = { jid: record.jid, bare: record.bare, target: record.target, state: record.state, methodIndex: record.methodIndex, methods: [...record.methods] };
  if (record.reply !== undefined) snapshot.reply = record.reply;
  if (record.condition !== undefined) snapshot.condition = record.condition;
  if (record.reason !== undefined) snapshot.reason = record.reason;
  if (record.movedBy !== undefined) snapshot.movedBy = record.movedBy;
  if (record.sentAt !== undefined) snapshot.sentAt = record.sentAt;
  if (record.outcomeAt !== undefined) snapshot.outcomeAt = record.outcomeAt;
  return snapshot;
}
