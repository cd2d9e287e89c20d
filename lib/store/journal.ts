import { randomBytes } from "node:crypto";
import Database from "better-sqlite3";
import { ConflictError, CxfrError, JournalError, NotFoundError } from "../errors.ts";
import type { JobJournal, JobState, SessionSnapshot, SessionState } from "../jobs/journal-port.ts";
import { TERMINAL_STATES } from "../jobs/journal-port.ts";
import type { JobSpec } from "../jobs/job-schema.ts";
import type { JobSummary } from "../jobs/outcomes.ts";
import { currentHolder, holderAlive, LEASE_MS, type Holder } from "./holder.ts";
import { migrate } from "./migrations.ts";

/** Job states after which nothing more happens and the job's nodes are free. */
export const FINAL_JOB_STATES: readonly JobState[] = ["done", "failed", "cancelled", "interrupted"];
const ACTIVE_JOB_STATES: readonly JobState[] = ["planned", "running", "cancelling"];

/** A node a job acts on: its name for people, its key (component listener host:port) for the hold. */
export interface NodeRef {
  name: string;
  key: string;
}

export interface JobRecord {
  id: string;
  kind: string;
  nodes: string[];
  holdKeys: string[];
  spec: JobSpec;
  state: JobState;
  summary: JobSummary;
  holder?: Holder;
  leaseUntil?: number;
  createdAt: number;
  updatedAt: number;
  finishedAt?: number;
  error?: string;
}

export interface SessionRow extends SessionSnapshot {
  /** 1, 2 …: the same JID taken on again after it settled. */
  login: number;
}

export interface TransitionRow {
  seq: number;
  jid: string;
  login: number;
  state: SessionState;
  at: number;
  snapshot: SessionSnapshot;
}

interface JobDbRow {
  id: string;
  kind: string;
  nodes: string;
  hold_keys: string;
  spec: string;
  state: JobState;
  targeted: number;
  moved: number;
  kicked: number;
  failed: number;
  skipped: number;
  remaining: number;
  elapsed_ms: number;
  holder_pid: number | null;
  holder_start: string | null;
  holder_host: string | null;
  holder_kind: Holder["kind"] | null;
  lease_until: number | null;
  created_at: number;
  updated_at: number;
  finished_at: number | null;
  error: string | null;
}

interface SessionDbRow {
  login: number;
  state: SessionState;
}

/**
 * The SQLite job journal (WAL): jobs, the node holds (one running job per node), every session's latest
 * state and every transition it went through. Every method throws JournalError when the file cannot be
 * read or written, so a caller never acts on a step that was not recorded.
 */
export class Journal implements JobJournal {
  private constructor(
    private readonly db: Database,
    readonly path: string,
  ) {}

  /** Opens (creating if needed) and migrates the journal at path. */
  static open(path: string): Journal {
    return guard(path, () => new Journal(retryWhileBusy(() => openDatabase(path)), path));
  }

  /**
   * Records a new job and takes the hold on its nodes, atomically: two jobs started together on one node
   * cannot both get it. A hold whose holder died (PID gone, or lease run out) is taken over, and that job is
   * marked interrupted. Throws ConflictError naming the job that holds a node.
   */
  createJob(input: { kind: string; nodes: NodeRef[]; spec: JobSpec; holder: Holder["kind"]; id?: string }): JobRecord {
    const id = input.id ?? `j-${randomBytes(4).toString("hex")}`;
    const holder = currentHolder(input.holder);
    return this.write(() => {
      const now = Date.now();
      this.db
        .prepare("INSERT INTO jobs (id, kind, nodes, hold_keys, spec, state, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'planned', ?, ?)")
        .run(id, input.kind, JSON.stringify(input.nodes.map((n) => n.name)), JSON.stringify(input.nodes.map((n) => n.key)), JSON.stringify(input.spec), now, now);
      this.takeHolds(id, input.nodes, holder, now);
      return this.mustGet(id);
    });
  }

  /** Makes this process the holder of an unfinished job whose holder died (resume). */
  takeOver(id: string, kind: Holder["kind"]): JobRecord {
    const holder = currentHolder(kind);
    return this.write(() => {
      const job = this.mustGet(id);
      if (job.state === "done" || job.state === "cancelled") throw new ConflictError(`job ${id} is ${job.state}: nothing to resume`, id);
      if (job.holder && job.holder.pid !== holder.pid && FINAL_JOB_STATES.indexOf(job.state) < 0 && holderAlive(job.holder, job.leaseUntil ?? null)) {
        throw new ConflictError(`job ${id} is still running (pid ${job.holder.pid} on ${job.holder.host})`, id);
      }
      const now = Date.now();
      this.db.prepare("DELETE FROM holds WHERE job = ?").run(id);
      this.takeHolds(id, job.nodes.map((name, i) => ({ name, key: job.holdKeys[i] ?? name })), holder, now);
      this.db.prepare("UPDATE jobs SET state = 'running', finished_at = NULL, error = NULL, updated_at = ? WHERE id = ?").run(now, id);
      return this.mustGet(id);
    });
  }

  /** JobJournal: a session's new state; the transition is kept as proof. */
  session(jobId: string, snapshot: SessionSnapshot): void {
    this.sessionBatch(jobId, [snapshot]);
  }

  /**
   * JobJournal: several sessions' new states, in order, in one transaction (one commit instead of one each), as
   * inserts of ROWS_PER_INSERT rows at a time (one statement call, not one per row).
   */
  sessionBatch(jobId: string, snapshots: readonly SessionSnapshot[]): void {
    if (snapshots.length === 0) return;
    this.write(() => {
      const now = Date.now();
      const s = this.statements();
      const params: unknown[] = [];
      for (const snapshot of snapshots) {
        params.push(jobId, snapshot.jid, this.loginOf(jobId, snapshot), snapshot.state, now, JSON.stringify(snapshot));
        if (params.length === ROWS_PER_INSERT * COLUMNS_PER_ROW) {
          s.insertRows.run(params);
          params.length = 0;
        }
      }
      for (let at = 0; at < params.length; at += COLUMNS_PER_ROW) s.insertTransition.run(params.slice(at, at + COLUMNS_PER_ROW));
    });
  }

  /** The login a session's new state belongs to; noted as pending until the transaction commits. */
  private loginOf(jobId: string, snapshot: SessionSnapshot): number {
    let pending = this.pendingLogins.get(jobId);
    if (!pending) this.pendingLogins.set(jobId, (pending = new Map()));
    const last = pending.get(snapshot.jid) ?? this.committedLogins(jobId).get(snapshot.jid);
    // a settled JID seen again in a non-final state is a new login: a new row, the old proof stays
    const newLogin = last !== undefined && TERMINAL_STATES.includes(last.state) && !TERMINAL_STATES.includes(snapshot.state);
    const login = last === undefined ? 1 : newLogin ? last.login + 1 : last.login;
    pending.set(snapshot.jid, { login, state: snapshot.state });
    return login;
  }

  /** A job's latest login and state per JID, read once per job with one query rather than once per session. */
  private committedLogins(jobId: string): Map<string, SessionDbRow> {
    let logins = this.logins.get(jobId);
    if (!logins) {
      logins = new Map(this.statements().latestLogins.all(jobId).map((row) => [row.jid, { login: row.login, state: row.state }]));
      this.logins.set(jobId, logins);
    }
    return logins;
  }

  /** Per job this process writes, the login and state last written per JID (a job has one holder at a time). */
  private readonly logins = new Map<string, Map<string, SessionDbRow>>();
  /** Written in the open transaction, not yet committed: forgotten when it rolls back. */
  private readonly pendingLogins = new Map<string, Map<string, SessionDbRow>>();
  private prepared: ReturnType<Journal["prepareSessionStatements"]> | undefined;

  /** The statements every session write runs, prepared once (preparing them was a third of a write's cost). */
  private statements(): ReturnType<Journal["prepareSessionStatements"]> {
    this.prepared ??= this.prepareSessionStatements();
    return this.prepared;
  }

  private prepareSessionStatements() {
    return {
      latestLogins: this.db.prepare<SessionDbRow & { jid: string }>(
        "SELECT t.jid, t.login, t.state FROM transitions t JOIN (SELECT max(seq) AS seq FROM transitions WHERE job = ? GROUP BY jid) latest ON t.seq = latest.seq",
      ),
      insertTransition: this.db.prepare(`INSERT INTO transitions (job, jid, login, state, at, snapshot) VALUES ${TRANSITION_VALUES}`),
      insertRows: this.db.prepare(`INSERT INTO transitions (job, jid, login, state, at, snapshot) VALUES ${Array.from({ length: ROWS_PER_INSERT }, () => TRANSITION_VALUES).join(", ")}`),
    };
  }

  /** JobJournal: the job's state and counts. A final state releases the job's nodes. */
  job(jobId: string, state: JobState, summary: JobSummary): void {
    this.write(() => {
      const now = Date.now();
      const final = FINAL_JOB_STATES.includes(state);
      this.db
        .prepare(
          `UPDATE jobs SET state = ?, targeted = ?, moved = ?, kicked = ?, failed = ?, skipped = ?, remaining = ?, elapsed_ms = ?, updated_at = ?,
             finished_at = CASE WHEN ? THEN ? ELSE finished_at END WHERE id = ?`,
        )
        .run(state, summary.targeted, summary.moved, summary.kicked, summary.failed, summary.skipped, summary.remaining, summary.elapsed_ms, now, final ? 1 : 0, now, jobId);
      if (final) this.db.prepare("DELETE FROM holds WHERE job = ?").run(jobId);
    });
    if (FINAL_JOB_STATES.includes(state)) {
      this.logins.delete(jobId);
      this.checkpoint();
    }
  }

  /**
   * Copies the write-ahead log into the database file. SQLite would do it in whichever commit crosses its threshold,
   * in the middle of a job's burst of writes (a few MB and two fsyncs); the journal does it when a job ends instead,
   * and SQLite only once the log passes WAL_CHECKPOINT_PAGES. A checkpoint another reader holds up is only deferred.
   */
  private checkpoint(): void {
    try {
      this.db.pragma("wal_checkpoint(PASSIVE)");
    } catch {
      // the next job's end, or SQLite's own threshold, checkpoints instead
    }
  }

  /** A job that stopped on an error before its summary: failed, nodes released. */
  fail(jobId: string, error: string): void {
    this.write(() => {
      const now = Date.now();
      this.db.prepare("UPDATE jobs SET state = 'failed', error = ?, updated_at = ?, finished_at = ? WHERE id = ?").run(error, now, now, jobId);
      this.db.prepare("DELETE FROM holds WHERE job = ?").run(jobId);
    });
  }

  /** Called periodically by the holder: extends its lease and returns the job's state (to see a cancel). */
  renew(jobId: string): JobState {
    return this.write(() => {
      this.db.prepare("UPDATE jobs SET lease_until = ? WHERE id = ?").run(Date.now() + LEASE_MS, jobId);
      return this.mustGet(jobId).state;
    });
  }

  /**
   * Asks a job to stop. A live holder sees `cancelling` at its next renewal and stops; a job whose holder
   * died is cancelled at once and its nodes released. Returns the state after the call.
   */
  cancel(jobId: string): JobState {
    return this.write(() => {
      const job = this.mustGet(jobId);
      if (FINAL_JOB_STATES.includes(job.state)) return job.state;
      const now = Date.now();
      if (job.holder && holderAlive(job.holder, job.leaseUntil ?? null)) {
        this.db.prepare("UPDATE jobs SET state = 'cancelling', updated_at = ? WHERE id = ?").run(now, jobId);
        return "cancelling";
      }
      this.db.prepare("UPDATE jobs SET state = 'cancelled', updated_at = ?, finished_at = ? WHERE id = ?").run(now, now, jobId);
      this.db.prepare("DELETE FROM holds WHERE job = ?").run(jobId);
      return "cancelled";
    });
  }

  /** Unfinished jobs whose holder died: what `cxfr serve` resumes. */
  orphans(): JobRecord[] {
    return this.read(() =>
      this.db
        .prepare<JobDbRow>(`SELECT * FROM jobs WHERE state IN (${ACTIVE_JOB_STATES.map(() => "?").join(", ")}) ORDER BY created_at`)
        .all(...ACTIVE_JOB_STATES)
        .map(toJobRecord)
        .filter((job) => !job.holder || !holderAlive(job.holder, job.leaseUntil ?? null)),
    );
  }

  get(id: string): JobRecord | undefined {
    return this.read(() => {
      const row = this.db.prepare<JobDbRow>("SELECT * FROM jobs WHERE id = ?").get(id);
      return row ? toJobRecord(row) : undefined;
    });
  }

  /** Newest first. */
  list(limit = 50): JobRecord[] {
    return this.read(() => this.db.prepare<JobDbRow>("SELECT * FROM jobs ORDER BY created_at DESC, rowid DESC LIMIT ?").all(limit).map(toJobRecord));
  }

  /** Every login of every session of a job, each in its latest state (its latest transition). */
  sessions(jobId: string): SessionRow[] {
    return this.read(() =>
      this.db
        .prepare<{ login: number; snapshot: string }>(
          `SELECT t.login, t.snapshot FROM transitions t
           JOIN (SELECT max(seq) AS seq FROM transitions WHERE job = ? GROUP BY jid, login) latest ON t.seq = latest.seq
           ORDER BY t.jid, t.login`,
        )
        .all(jobId)
        .map((r) => ({ ...(JSON.parse(r.snapshot) as SessionSnapshot), login: r.login })),
    );
  }

  /** The latest snapshot of every session of a job: what a resumed engine starts from. */
  snapshots(jobId: string): SessionSnapshot[] {
    const latest = new Map<string, SessionRow>();
    for (const row of this.sessions(jobId)) latest.set(row.jid, row);
    return [...latest.values()].map(({ login: _login, ...snapshot }) => snapshot);
  }

  transitions(jobId: string): TransitionRow[] {
    return this.read(() =>
      this.db
        .prepare<{ seq: number; jid: string; login: number; state: SessionState; at: number; snapshot: string }>("SELECT seq, jid, login, state, at, snapshot FROM transitions WHERE job = ? ORDER BY seq")
        .all(jobId)
        .map((r) => ({ ...r, snapshot: JSON.parse(r.snapshot) as SessionSnapshot })),
    );
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  private takeHolds(id: string, nodes: NodeRef[], holder: Holder, now: number): void {
    for (const node of nodes) {
      const held = this.db.prepare<JobDbRow>("SELECT jobs.* FROM holds JOIN jobs ON jobs.id = holds.job WHERE holds.node = ?").get(node.key);
      if (held && held.id !== id) {
        const other = toJobRecord(held);
        if (other.holder && holderAlive(other.holder, other.leaseUntil ?? null)) {
          throw new ConflictError(`node ${node.name} (${node.key}) is held by job ${other.id} (${other.kind}, ${other.state}, pid ${other.holder.pid}): wait for it or run cxfr cancel ${other.id}`, other.id);
        }
        this.db.prepare("UPDATE jobs SET state = 'interrupted', error = 'its process died', updated_at = ?, finished_at = ? WHERE id = ? AND state IN ('planned', 'running', 'cancelling')").run(now, now, other.id);
        this.db.prepare("DELETE FROM holds WHERE job = ?").run(other.id);
      }
      this.db.prepare("INSERT OR REPLACE INTO holds (node, job) VALUES (?, ?)").run(node.key, id);
    }
    this.db
      .prepare("UPDATE jobs SET holder_pid = ?, holder_start = ?, holder_host = ?, holder_kind = ?, lease_until = ? WHERE id = ?")
      .run(holder.pid, holder.start, holder.host, holder.kind, now + LEASE_MS, id);
  }

  private mustGet(id: string): JobRecord {
    const row = this.db.prepare<JobDbRow>("SELECT * FROM jobs WHERE id = ?").get(id);
    if (!row) throw new NotFoundError("ID", `no job ${id} in ${this.path}`);
    return toJobRecord(row);
  }

  private write<T>(fn: () => T): T {
    try {
      const result = guard(this.path, () => this.db.transaction(fn).immediate());
      // committed: the logins just written are what the next write of those sessions builds on
      for (const [jobId, rows] of this.pendingLogins) {
        const logins = this.committedLogins(jobId);
        for (const [jid, row] of rows) logins.set(jid, row);
      }
      return result;
    } finally {
      this.pendingLogins.clear();
    }
  }

  private read<T>(fn: () => T): T {
    return guard(this.path, fn);
  }
}

const TRANSITION_VALUES = "(?, ?, ?, ?, ?, ?)";
const COLUMNS_PER_ROW = 6;
/** Rows per insert statement in a batch (6 parameters each, well under SQLite's 32,766). */
const ROWS_PER_INSERT = 32;

const BUSY_TIMEOUT_MS = 5000;
const BUSY_RETRY_MS = 20;
/** 40 MB of log (4 KB pages): a job of 10,000 sessions writes ≈15 MB, so SQLite checkpoints between jobs, not within. */
const WAL_CHECKPOINT_PAGES = 10_000;

function openDatabase(path: string): Database {
  const db = new Database(path, { timeout: BUSY_TIMEOUT_MS });
  try {
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = NORMAL");
    db.pragma(`wal_autocheckpoint = ${WAL_CHECKPOINT_PAGES}`);
    db.pragma("foreign_keys = ON");
    migrate(db, path);
    db.prepare("SELECT count(*) FROM jobs").get();
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

/**
 * SQLite's busy timeout does not cover switching a new file to WAL while another process writes it (SQLite
 * skips the busy handler where waiting could deadlock): when two processes create one journal at once, the
 * loser gets SQLITE_BUSY at once. Opening again a moment later finds the file in WAL mode and migrated.
 */
function retryWhileBusy<T>(fn: () => T): T {
  const deadline = Date.now() + BUSY_TIMEOUT_MS;
  for (;;) {
    try {
      return fn();
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (typeof code !== "string" || !code.startsWith("SQLITE_BUSY") || Date.now() >= deadline) throw err;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, BUSY_RETRY_MS);
    }
  }
}

/** SQLite failures become one JournalError line naming the file; our own typed errors pass through. */
function guard<T>(path: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof CxfrError) throw err;
    const e = err as Error & { code?: string };
    const reason = e.code === "SQLITE_NOTADB" || e.code === "SQLITE_CORRUPT" ? "is not a cxfr journal (corrupt, or another kind of file)" : e.code === "SQLITE_READONLY" || e.code === "SQLITE_CANTOPEN" || /directory does not exist/.test(e.message) ? `cannot be written (${e.message})` : `failed: ${e.message}`;
    throw new JournalError(`journal ${path} ${reason}; set CXFR_JOURNAL or journal: to a writable path`);
  }
}

function optional<K extends string, V>(key: K, value: V | null | undefined): { [P in K]?: V } {
  return (value === null || value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

function toJobRecord(row: JobDbRow): JobRecord {
  return {
    id: row.id,
    kind: row.kind,
    nodes: JSON.parse(row.nodes) as string[],
    holdKeys: JSON.parse(row.hold_keys) as string[],
    spec: JSON.parse(row.spec) as JobSpec,
    state: row.state,
    summary: { job: row.id, kind: row.kind, targeted: row.targeted, moved: row.moved, kicked: row.kicked, failed: row.failed, skipped: row.skipped, remaining: row.remaining, elapsed_ms: row.elapsed_ms },
    ...(row.holder_pid !== null ? { holder: { pid: row.holder_pid, start: row.holder_start ?? "", host: row.holder_host ?? "", kind: row.holder_kind ?? "cli" } } : {}),
    ...optional("leaseUntil", row.lease_until),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    ...optional("finishedAt", row.finished_at),
    ...optional("error", row.error),
  };
}
