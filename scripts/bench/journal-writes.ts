// What a session write costs the journal: N sessions journaled as a drain writes them (`applying` and `sent` in
// batches of 256, the settled state in batches of 16), into a fresh journal file in a temporary directory.
//   tsx scripts/bench/journal-writes.ts [--n 5000] [--rounds 3]
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { SessionSnapshot } from "../../lib/jobs/journal-port.ts";
import { Journal } from "../../lib/store/journal.ts";

const { values: args } = parseArgs({ options: { n: { type: "string" }, rounds: { type: "string" } } });
const n = Number(args.n ?? 5000);
const rounds = Number(args.rounds ?? 3);

const snapshot = (i: number, state: SessionSnapshot["state"]): SessionSnapshot => ({
  jid: `b${i}@a.example/res-${i}`,
  bare: `b${i}@a.example`,
  target: "127.0.0.1:5222",
  state,
  methodIndex: 0,
  methods: ["cxfr"],
  ...(state === "applying" ? {} : { sentAt: Date.now() }),
});

function writeAll(journal: Journal, job: string, state: SessionSnapshot["state"], batch: number): number {
  const started = performance.now();
  for (let first = 0; first < n; first += batch) {
    journal.sessionBatch(job, Array.from({ length: Math.min(batch, n - first) }, (_, k) => snapshot(first + k, state)));
  }
  return ((performance.now() - started) / n) * 1000;
}

const dir = mkdtempSync(join(tmpdir(), "cxfr-journal-bench-"));
try {
  for (let round = 1; round <= rounds; round++) {
    const journal = Journal.open(join(dir, `round-${round}.db`));
    const { id } = journal.createJob({ kind: "drain", nodes: [{ name: "a", key: "127.0.0.1:5347" }], spec: { kind: "drain", to: ["b"] }, holder: "cli" });
    const applying = writeAll(journal, id, "applying", 256);
    const sent = writeAll(journal, id, "sent", 256);
    const moved = writeAll(journal, id, "moved", 16);
    journal.close();
    process.stdout.write(`round ${round}, ${n} sessions: µs per write: applying ${applying.toFixed(1)}, sent ${sent.toFixed(1)} (batches of 256), moved ${moved.toFixed(1)} (batches of 16)\n`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
