import { spawn } from "node:child_process";
import { mkdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { expect } from "chai";
import { ConflictError, JournalError } from "../../lib/errors.ts";
import type { SessionSnapshot } from "../../lib/jobs/journal-port.ts";
import { processStart } from "../../lib/store/holder.ts";
import { Journal } from "../../lib/store/journal.ts";
import { MIGRATIONS, SCHEMA_VERSION } from "../../lib/store/migrations.ts";
import { specTempDir } from "../support/temp-dir.ts";

const dir = specTempDir("cxfr-journal");
let n = 0;
const freshPath = () => join(dir, `j${++n}.db`);
const A = [{ name: "a", key: "127.0.0.1:5347" }];
const B = [{ name: "b", key: "127.0.0.2:5347" }];
const spec = { kind: "drain" as const, to: ["b"] };
const summary = (id: string) => ({ job: id, kind: "drain", targeted: 3, moved: 1, kicked: 1, failed: 0, skipped: 0, remaining: 1, elapsed_ms: 1234 });
const snap = (jid: string, state: SessionSnapshot["state"], extra: Partial<SessionSnapshot> = {}): SessionSnapshot => ({ jid, bare: jid.split("/")[0] as string, target: "b", state, methodIndex: 0, methods: ["cxfr"], ...extra });

describe("Journal (SQLite)", () => {
  it("creates the schema at the current version, in WAL mode", () => {
    const path = freshPath();
    Journal.open(path).close();
    const db = new Database(path);
    expect(db.pragma("user_version", { simple: true })).to.equal(SCHEMA_VERSION);
    expect(db.pragma("journal_mode", { simple: true })).to.equal("wal");
    db.close();
  });

  it("a version 1 journal (sessions table, AUTOINCREMENT) keeps its jobs, sessions and proof when migrated", () => {
    const path = freshPath();
    const v1 = new Database(path);
    v1.exec((MIGRATIONS[0] as { sql: string }).sql);
    v1.pragma("user_version = 1");
    v1.prepare("INSERT INTO jobs (id, kind, nodes, hold_keys, spec, state, created_at, updated_at) VALUES ('j-old', 'drain', '[\"a\"]', '[\"k\"]', '{}', 'done', 1, 1)").run();
    const insert = v1.prepare("INSERT INTO transitions (job, jid, login, state, at, snapshot) VALUES ('j-old', ?, ?, ?, ?, ?)");
    for (const [jid, login, state] of [["u1@x/r", 1, "applying"], ["u1@x/r", 1, "moved"], ["u1@x/r", 2, "queued"], ["u2@x/r", 1, "sent"]] as const) {
      insert.run(jid, login, state, 5, JSON.stringify(snap(jid, state)));
    }
    v1.close();
    const journal = Journal.open(path);
    expect(journal.get("j-old")?.state).to.equal("done");
    expect(journal.sessions("j-old").map((r) => `${r.jid}#${r.login} ${r.state}`)).to.deep.equal(["u1@x/r#1 moved", "u1@x/r#2 queued", "u2@x/r#1 sent"]);
    journal.session("j-old", snap("u2@x/r", "moved"));
    expect(journal.transitions("j-old").map((t) => `${t.seq} ${t.state}`)).to.deep.equal(["1 applying", "2 moved", "3 queued", "4 sent", "5 moved"]);
    journal.close();
    const db = new Database(path);
    expect(db.pragma("user_version", { simple: true })).to.equal(SCHEMA_VERSION);
    expect(db.prepare<{ name: string }>("SELECT name FROM sqlite_master WHERE name IN ('sessions', 'sqlite_sequence', 'transitions_by_session') ORDER BY name").all().map((r) => r.name)).to.deep.equal(["sqlite_sequence", "transitions_by_session"]);
    db.close();
  });

  it("checkpoints the log when a job ends, not in the middle of its session writes", () => {
    const path = freshPath();
    const journal = Journal.open(path);
    const { id } = journal.createJob({ kind: "drain", nodes: A, spec, holder: "cli" });
    const fileSize = () => statSync(path).size;
    const before = fileSize();
    for (let b = 0; b < 80; b++) journal.sessionBatch(id, Array.from({ length: 256 }, (_, k) => snap(`u${b * 256 + k}@x/r`, "applying")));
    // 20,480 transitions: ≈1,600 pages of log, past SQLite's default threshold (1,000), still only in the log
    expect(statSync(`${path}-wal`).size).to.be.above(1000 * 4096);
    expect(fileSize()).to.equal(before);
    journal.job(id, "done", summary(id));
    expect(fileSize()).to.be.above(before + 2_000_000);
    journal.close();
  });

  it("refuses a journal written by a newer cxfr", () => {
    const path = freshPath();
    const db = new Database(path);
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    expect(() => Journal.open(path)).to.throw(JournalError, /newer than this cxfr/);
  });

  it("a corrupt file is one JournalError line naming the file", () => {
    const path = freshPath();
    writeFileSync(path, "not a database at all\n".repeat(200));
    expect(() => Journal.open(path)).to.throw(JournalError, new RegExp(`journal ${path} is not a cxfr journal`));
  });

  it("a path that cannot be a file (a directory, or under /proc) is a JournalError", () => {
    const folder = join(dir, "a-folder");
    mkdirSync(folder);
    expect(() => Journal.open(folder)).to.throw(JournalError, /cannot be written|failed/);
    expect(() => Journal.open("/proc/cxfr.db")).to.throw(JournalError, /journal \/proc\/cxfr\.db/);
  });

  it("a missing directory is a JournalError", () => {
    expect(() => Journal.open(join(dir, "no", "such", "cxfr.db"))).to.throw(JournalError, /cannot be written/);
  });

  it("records a job, its counts and state; a final state releases its nodes", () => {
    const journal = Journal.open(freshPath());
    const job = journal.createJob({ kind: "drain", nodes: A, spec, holder: "cli" });
    expect(job).to.include({ state: "planned", kind: "drain" });
    expect(job.holder).to.include({ pid: process.pid, kind: "cli" });
    journal.job(job.id, "running", summary(job.id));
    expect(() => journal.createJob({ kind: "drain", nodes: A, spec, holder: "cli" })).to.throw(ConflictError, new RegExp(`node a \\(127\\.0\\.0\\.1:5347\\) is held by job ${job.id}`));
    journal.job(job.id, "done", summary(job.id));
    const done = journal.get(job.id);
    expect(done?.state).to.equal("done");
    expect(done?.summary).to.deep.equal(summary(job.id));
    expect(done?.finishedAt).to.be.a("number");
    expect(journal.createJob({ kind: "drain", nodes: A, spec, holder: "cli" }).state).to.equal("planned");
    expect(journal.list().map((j) => j.id)).to.include(job.id);
    journal.close();
  });

  it("jobs on different nodes run side by side", () => {
    const journal = Journal.open(freshPath());
    journal.createJob({ kind: "drain", nodes: A, spec, holder: "cli" });
    expect(() => journal.createJob({ kind: "drain", nodes: B, spec, holder: "cli" })).not.to.throw();
    journal.close();
  });

  it("a holder killed with kill -9 does not hold the node: its job is marked interrupted", async () => {
    const path = freshPath();
    const journal = Journal.open(path);
    const job = journal.createJob({ kind: "drain", nodes: A, spec, holder: "cli" });
    const child = spawn("sleep", ["60"], { stdio: "ignore" });
    const pid = child.pid as number;
    const db = new Database(path);
    db.prepare("UPDATE jobs SET holder_pid = ?, holder_start = ? WHERE id = ?").run(pid, processStart(pid), job.id);
    db.close();
    expect(() => journal.createJob({ kind: "drain", nodes: A, spec, holder: "cli" })).to.throw(ConflictError);
    const exited = new Promise((resolve) => child.on("exit", resolve));
    process.kill(pid, "SIGKILL");
    await exited;
    const next = journal.createJob({ kind: "drain", nodes: A, spec, holder: "cli" });
    expect(next.id).not.to.equal(job.id);
    expect(journal.get(job.id)?.state).to.equal("interrupted");
    journal.close();
  });

  it("a holder PID reused by another process is not the holder", () => {
    const path = freshPath();
    const journal = Journal.open(path);
    const job = journal.createJob({ kind: "drain", nodes: A, spec, holder: "cli" });
    const db = new Database(path);
    db.prepare("UPDATE jobs SET holder_start = '1' WHERE id = ?").run(job.id);
    db.close();
    expect(journal.orphans().map((j) => j.id)).to.deep.equal([job.id]);
    journal.close();
  });

  it("cancel: a live holder sees cancelling at its next renewal; a dead holder's job is cancelled at once", () => {
    const path = freshPath();
    const journal = Journal.open(path);
    const live = journal.createJob({ kind: "drain", nodes: A, spec, holder: "cli" });
    expect(journal.cancel(live.id)).to.equal("cancelling");
    expect(journal.renew(live.id)).to.equal("cancelling");
    const dead = journal.createJob({ kind: "drain", nodes: B, spec, holder: "cli" });
    const db = new Database(path);
    db.prepare("UPDATE jobs SET holder_start = '1' WHERE id = ?").run(dead.id);
    db.close();
    expect(journal.cancel(dead.id)).to.equal("cancelled");
    expect(() => journal.createJob({ kind: "drain", nodes: B, spec, holder: "cli" })).not.to.throw();
    journal.close();
  });

  it("resume: takes over a job whose holder died, keeps its sessions, refuses one still running", () => {
    const path = freshPath();
    const journal = Journal.open(path);
    const job = journal.createJob({ kind: "drain", nodes: A, spec, holder: "cli" });
    journal.session(job.id, snap("u1@x/r", "moved", { movedBy: "cxfr" }));
    journal.session(job.id, snap("u2@x/r", "applying"));
    expect(() => journal.takeOver(job.id, "daemon")).not.to.throw(); // the same process may take its own job
    const db = new Database(path);
    db.prepare("UPDATE jobs SET holder_pid = 1, holder_start = '1' WHERE id = ?").run(job.id);
    db.close();
    expect(journal.orphans().map((j) => j.id)).to.deep.equal([job.id]);
    const taken = journal.takeOver(job.id, "daemon");
    expect(taken).to.include({ state: "running" });
    expect(taken.holder).to.include({ pid: process.pid, kind: "daemon" });
    expect(journal.orphans()).to.deep.equal([]);
    expect(journal.snapshots(job.id).map((s) => `${s.jid} ${s.state}`)).to.deep.equal(["u1@x/r moved", "u2@x/r applying"]);
    expect(() => journal.createJob({ kind: "drain", nodes: A, spec, holder: "cli" })).to.throw(ConflictError);
    journal.job(job.id, "done", summary(job.id));
    expect(() => journal.takeOver(job.id, "daemon")).to.throw(ConflictError, /is done/);
    journal.close();
  });

  it("keeps every session transition, the latest snapshot per session, and a new login as a new row", () => {
    const journal = Journal.open(freshPath());
    const { id } = journal.createJob({ kind: "drain", nodes: A, spec, holder: "cli" });
    journal.session(id, snap("u1@x/r", "queued"));
    journal.session(id, snap("u1@x/r", "applying"));
    journal.session(id, snap("u1@x/r", "sent", { sentAt: 10, reply: "acked" }));
    journal.session(id, snap("u1@x/r", "moved", { sentAt: 10, outcomeAt: 20, movedBy: "cxfr" }));
    journal.session(id, snap("u1@x/r", "queued"));
    journal.session(id, snap("u2@x/r", "skipped", { reason: "gone before its turn" }));
    expect(journal.transitions(id).map((t) => `${t.jid}#${t.login} ${t.state}`)).to.deep.equal([
      "u1@x/r#1 queued",
      "u1@x/r#1 applying",
      "u1@x/r#1 sent",
      "u1@x/r#1 moved",
      "u1@x/r#2 queued",
      "u2@x/r#1 skipped",
    ]);
    const rows = journal.sessions(id);
    expect(rows.map((r) => `${r.jid}#${r.login} ${r.state}`)).to.deep.equal(["u1@x/r#1 moved", "u1@x/r#2 queued", "u2@x/r#1 skipped"]);
    expect(rows[0]).to.deep.include({ movedBy: "cxfr", sentAt: 10, outcomeAt: 20 });
    expect(journal.snapshots(id).map((s) => `${s.jid} ${s.state}`)).to.deep.equal(["u1@x/r queued", "u2@x/r skipped"]);
    journal.close();
  });

  it("a batch of session writes is one transaction, in order, with the same login rules; a failed batch keeps none of it", () => {
    const path = freshPath();
    const journal = Journal.open(path);
    const { id } = journal.createJob({ kind: "drain", nodes: A, spec, holder: "cli" });
    journal.sessionBatch(id, [snap("u1@x/r", "queued"), snap("u1@x/r", "applying"), snap("u2@x/r", "queued")]);
    journal.sessionBatch(id, [snap("u1@x/r", "moved", { movedBy: "cxfr" }), snap("u1@x/r", "queued")]);
    expect(journal.transitions(id).map((t) => `${t.jid}#${t.login} ${t.state}`)).to.deep.equal(["u1@x/r#1 queued", "u1@x/r#1 applying", "u2@x/r#1 queued", "u1@x/r#1 moved", "u1@x/r#2 queued"]);
    // a snapshot the schema refuses (state is NOT NULL) rolls the whole batch back
    const broken = { ...snap("u3@x/r", "queued"), state: null } as unknown as SessionSnapshot;
    expect(() => journal.sessionBatch(id, [snap("u2@x/r", "applying"), broken])).to.throw(JournalError);
    expect(journal.transitions(id)).to.have.length(5);
    // and the login cache did not keep what rolled back: u2 is still on its first login
    journal.session(id, snap("u2@x/r", "skipped"));
    expect(journal.sessions(id).map((r) => `${r.jid}#${r.login} ${r.state}`)).to.include("u2@x/r#1 skipped");
    journal.close();
  });

  it("a batch longer than one multi-row insert keeps every transition in order, with its login", () => {
    const journal = Journal.open(freshPath());
    const { id } = journal.createJob({ kind: "drain", nodes: A, spec, holder: "cli" });
    // 100 writes: several inserts of many rows and a remainder; u0 settles and logs in again inside the batch
    const batch = Array.from({ length: 97 }, (_, i) => snap(`u${i}@x/r`, "applying"));
    batch.splice(40, 0, snap("u0@x/r", "moved", { movedBy: "cxfr" }));
    batch.splice(70, 0, snap("u0@x/r", "queued"));
    batch.push(snap("u96@x/r", "sent"));
    journal.sessionBatch(id, batch);
    const transitions = journal.transitions(id);
    expect(transitions.map((t) => `${t.jid}#${t.login} ${t.state}`)).to.deep.equal(batch.map((s) => `${s.jid}#${s === batch[70] ? 2 : 1} ${s.state}`));
    expect(transitions.map((t) => t.seq)).to.deep.equal([...transitions.map((t) => t.seq)].sort((x, y) => x - y));
    expect(transitions[40]?.snapshot).to.deep.equal(batch[40]);
    expect(journal.sessions(id)).to.have.length(98);
    journal.close();
  });

  it("two processes creating a job on one node at once: exactly one gets it", async () => {
    const path = freshPath();
    Journal.open(path).close();
    const script = `import { Journal } from ${JSON.stringify(new URL("../../lib/store/journal.ts", import.meta.url).pathname)};
      const j = Journal.open(${JSON.stringify(path)});
      try { j.createJob({ kind: "drain", nodes: [{ name: "a", key: "127.0.0.1:5347" }], spec: { kind: "drain", to: ["b"] }, holder: "cli" }); console.log("got"); setTimeout(() => {}, 1500); }
      catch (e) { console.log(e.code); }`;
    const run = () =>
      new Promise<string>((resolve) => {
        const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "inherit"] });
        let out = "";
        child.stdout.on("data", (c: Buffer) => (out += c.toString()));
        child.on("close", () => resolve(out.trim()));
      });
    const results = await Promise.all([run(), run()]);
    expect(results.sort()).to.deep.equal(["conflict", "got"]);
  });

  it("opening a new journal while another process is creating it waits, rather than failing at once", async () => {
    const path = freshPath();
    // The other process, midway through creating the file: a write transaction on it, not yet in WAL mode.
    // Switching to WAL then gets SQLITE_BUSY at once (SQLite skips its busy handler to avoid a deadlock).
    const creator = spawn(process.execPath, ["-e", `const Database = require("better-sqlite3"); const db = new Database(${JSON.stringify(path)}); db.exec("BEGIN IMMEDIATE"); console.log("writing"); setTimeout(() => { db.exec("COMMIT"); db.close(); }, 300);`], { stdio: ["ignore", "pipe", "inherit"] });
    const exited = new Promise((resolve) => creator.on("exit", resolve));
    await new Promise((resolve) => creator.stdout.once("data", resolve));
    const journal = Journal.open(path);
    expect(journal.list()).to.deep.equal([]);
    journal.close();
    await exited;
  });
});
