import type Database from "better-sqlite3";
import { JournalError } from "../errors.ts";

/**
 * The journal's schema, one step per version; `PRAGMA user_version` records the last step applied.
 * Append new steps, never edit a released one.
 */
export const MIGRATIONS: ReadonlyArray<{ version: number; sql: string }> = [
  {
    version: 1,
    sql: `
      CREATE TABLE jobs (
        id           TEXT PRIMARY KEY,
        kind         TEXT NOT NULL,
        nodes        TEXT NOT NULL,            -- JSON array of node names the job acts on
        hold_keys    TEXT NOT NULL,            -- JSON array of what it holds: each node's component listener (host:port)
        spec         TEXT NOT NULL,            -- JSON JobSpec: what was asked, re-read on resume
        state        TEXT NOT NULL,
        targeted     INTEGER NOT NULL DEFAULT 0,
        moved        INTEGER NOT NULL DEFAULT 0,
        kicked       INTEGER NOT NULL DEFAULT 0,
        failed       INTEGER NOT NULL DEFAULT 0,
        skipped      INTEGER NOT NULL DEFAULT 0,
        remaining    INTEGER NOT NULL DEFAULT 0,
        elapsed_ms   INTEGER NOT NULL DEFAULT 0,
        holder_pid   INTEGER,                  -- process running the job
        holder_start TEXT,                     -- its start time (/proc/PID/stat field 22): a reused PID is not the holder
        holder_host  TEXT,
        holder_kind  TEXT,                     -- cli | daemon
        lease_until  INTEGER,                  -- renewed while running; decides for a holder on another host
        created_at   INTEGER NOT NULL,
        updated_at   INTEGER NOT NULL,
        finished_at  INTEGER,
        error        TEXT
      );
      CREATE TABLE holds (
        node TEXT PRIMARY KEY,                 -- a hold key (host:port of the node's component listener)
        job  TEXT NOT NULL REFERENCES jobs(id)
      );
      CREATE TABLE sessions (
        job          TEXT NOT NULL REFERENCES jobs(id),
        jid          TEXT NOT NULL,
        login        INTEGER NOT NULL,         -- 1, 2 …: the same JID taken on again after it settled
        bare         TEXT NOT NULL,
        target       TEXT NOT NULL,
        state        TEXT NOT NULL,
        method_index INTEGER NOT NULL,
        methods      TEXT NOT NULL,            -- JSON array of methods applied so far
        reply        TEXT,
        condition    TEXT,
        reason       TEXT,
        moved_by     TEXT,
        sent_at      INTEGER,
        outcome_at   INTEGER,
        updated_at   INTEGER NOT NULL,
        PRIMARY KEY (job, jid, login)
      );
      CREATE TABLE transitions (
        seq      INTEGER PRIMARY KEY AUTOINCREMENT,
        job      TEXT NOT NULL REFERENCES jobs(id),
        jid      TEXT NOT NULL,
        login    INTEGER NOT NULL,
        state    TEXT NOT NULL,
        at       INTEGER NOT NULL,
        snapshot TEXT NOT NULL                 -- the full SessionSnapshot as written: the proof per session
      );
      CREATE INDEX transitions_by_session ON transitions (job, jid, login, seq);
      CREATE INDEX jobs_by_state ON jobs (state);
    `,
  },
  {
    // A session's latest state is its latest transition, whose snapshot holds every field: the sessions table
    // made every write ≈40% dearer for what one query over transitions gives. AUTOINCREMENT kept a counter
    // table up to date on every insert; seq stays increasing without it, since no transition is ever deleted.
    version: 2,
    sql: `
      DROP TABLE sessions;
      CREATE TABLE transitions_v2 (
        seq      INTEGER PRIMARY KEY,
        job      TEXT NOT NULL REFERENCES jobs(id),
        jid      TEXT NOT NULL,
        login    INTEGER NOT NULL,
        state    TEXT NOT NULL,
        at       INTEGER NOT NULL,
        snapshot TEXT NOT NULL                 -- the full SessionSnapshot as written: the proof per session
      );
      INSERT INTO transitions_v2 (seq, job, jid, login, state, at, snapshot) SELECT seq, job, jid, login, state, at, snapshot FROM transitions;
      DROP TABLE transitions;
      ALTER TABLE transitions_v2 RENAME TO transitions;
      CREATE INDEX transitions_by_session ON transitions (job, jid, login, seq);
    `,
  },
];

export const SCHEMA_VERSION = MIGRATIONS.at(-1)?.version ?? 0;

/** Brings the database to SCHEMA_VERSION; refuses a journal written by a newer cxfr. */
export function migrate(db: Database, path: string): void {
  const pending = () => {
    const current = db.pragma("user_version", { simple: true }) as number;
    if (current > SCHEMA_VERSION) throw new JournalError(`journal ${path} has schema version ${current}, newer than this cxfr knows (${SCHEMA_VERSION}): upgrade cxfr`);
    return MIGRATIONS.filter((m) => m.version > current);
  };
  if (pending().length === 0) return;
  // read the version again under the write lock: two processes opening a new journal at once migrate it once
  db.transaction(() => {
    for (const step of pending()) {
      db.exec(step.sql);
      db.pragma(`user_version = ${step.version}`);
    }
  }).immediate();
}
