import type { JobRecord, SessionRow } from "./journal.ts";

// Journal records as people and scripts see them: `cxfr jobs --json` and the HTTP API print the same shapes.

/** A job as `cxfr jobs` and `GET /v1/jobs/:id` show it: the summary's counts plus state. */
export function jobView(job: JobRecord): Record<string, unknown> {
  return { ...job.summary, nodes: job.nodes, state: job.state, created_at: new Date(job.createdAt).toISOString(), ...(job.finishedAt ? { finished_at: new Date(job.finishedAt).toISOString() } : {}), ...(job.error ? { error: job.error } : {}) };
}

export function sessionView(s: SessionRow): Record<string, unknown> {
  return {
    jid: s.jid,
    login: s.login,
    target: s.target,
    state: s.state,
    methods: s.methods,
    ...(s.movedBy ? { moved_by: s.movedBy } : {}),
    ...(s.reply ? { reply: s.reply } : {}),
    ...(s.condition ? { condition: s.condition } : {}),
    ...(s.reason ? { reason: s.reason } : {}),
    ...(s.sentAt ? { sent_at: new Date(s.sentAt).toISOString() } : {}),
    ...(s.outcomeAt ? { outcome_at: new Date(s.outcomeAt).toISOString() } : {}),
  };
}
