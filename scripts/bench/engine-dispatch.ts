// cxfr's own cost per session while it dispatches, without a server: the job engine (lib/jobs/runner.ts) with the
// real XEP-0051 method and the real SQLite journal, against an in-process node whose link serializes each stanza
// and whose clients leave 20 ms after their packet. What is left out: the socket, the server, and parsing its
// listings (the node lists from memory). Prints, per round, the packets' rate from the first to the last, and
// cxfr's CPU per session over that window and over the whole job. Not part of `npm run bench`.
//   tsx scripts/bench/engine-dispatch.ts [--n 5000] [--rounds 3] [--from domain|component]
// Profile it with: node --cpu-prof --import tsx scripts/bench/engine-dispatch.ts --rounds 1
import { EventEmitter } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { Element } from "@xmpp/xml";
import type { JobEvent } from "../../lib/jobs/events.ts";
import { parseTargets } from "../../lib/jobs/targets.ts";
import { TransferJob } from "../../lib/jobs/runner.ts";
import { Journal } from "../../lib/store/journal.ts";
import type { LiveSession } from "../../lib/xmpp/admin.ts";

const { values: args } = parseArgs({ options: { n: { type: "string" }, rounds: { type: "string" }, from: { type: "string" } } });
const n = Number(args.n ?? 5000);
const rounds = Number(args.rounds ?? 3);
const from = (args.from ?? "domain") as "domain" | "component";
const CLIENT_LEAVES_MS = 20;

/** A node in memory: the listing is its online set; a packet's client leaves CLIENT_LEAVES_MS later. */
function memoryNode() {
  const online = new Set(Array.from({ length: n }, (_, i) => `u${i}@localhost/res-${i}`));
  const sentAt: number[] = [];
  const cpuAt: number[] = [];
  let serialized = 0;
  const deliver = (el: Element) => {
    serialized += el.toString().length;
    const to = String(el.attrs.to);
    if (!online.has(to)) return;
    sentAt.push(performance.now());
    // CPU at the first and the last packet only: reading it costs as much as a session's bookkeeping
    if (sentAt.length === 1 || sentAt.length === n) {
      const cpu = process.cpuUsage();
      cpuAt.push(cpu.user + cpu.system);
    }
    setTimeout(() => online.delete(to), CLIENT_LEAVES_MS);
  };
  // the server's confirmation of what was written: one per turn, like the link's ping barrier
  let barrier: Promise<void> | undefined;
  const confirmed = () => (barrier ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => (barrier = undefined)));
  const link = Object.assign(new EventEmitter(), {
    component: "cxfr.localhost",
    state: "online",
    send: async (el: Element) => deliver(el),
    sendChecked: async (el: Element) => {
      deliver(el);
      await confirmed();
    },
    exchange: (iq: Element) => {
      deliver(iq);
      return { written: Promise.resolve(), reply: confirmed().then(() => iq) };
    },
    waitOnline: async () => undefined,
    whenTaken: () => Promise.resolve(),
  });
  const admin = {
    listSessions: async (): Promise<LiveSession[]> => [...online].map((jid) => ({ jid, bare: jid.slice(0, jid.indexOf("/")), resource: jid.slice(jid.indexOf("/") + 1) })),
    endSession: async (jid: string) => void online.delete(jid),
    announce: async () => undefined,
  };
  return { link, admin, sentAt, cpuAt, serializedBytes: () => serialized };
}

async function round(dir: string, index: number): Promise<string> {
  const node = memoryNode();
  const journal = Journal.open(join(dir, `round-${index}.db`));
  const { id } = journal.createJob({ kind: "drain", nodes: [{ name: "a", key: "127.0.0.1:5347" }], spec: { kind: "drain", to: ["b"] }, holder: "cli" });
  let output = 0;
  const job = new TransferJob({
    id,
    kind: "drain",
    node: "a",
    link: node.link,
    admin: node.admin,
    domain: "localhost",
    from,
    targets: parseTargets(["127.0.0.1:5223"], () => undefined),
    selects: () => true,
    pacing: { rate: Infinity, burst: 10, jitter: 0.2, maxInFlight: Infinity },
    waitMs: 0,
    graceMs: 10_000,
    fallback: "kick",
    follow: true,
    dryRun: false,
    scanIntervalMs: 1000,
    journal,
    signal: new AbortController().signal,
    // what `--json` writes for each event
    onEvent: (event: JobEvent) => (output += JSON.stringify(event).length + 1),
  });
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const summary = await job.run();
  const wallMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  journal.close();
  const windowMs = Math.max(...node.sentAt) - Math.min(...node.sentAt);
  const windowCpuUs = Math.max(...node.cpuAt) - Math.min(...node.cpuAt);
  const packets = node.sentAt.length;
  return [
    `round ${index}: ${summary.moved}/${n} moved in ${(wallMs / 1000).toFixed(2)} s;`,
    `${packets} packets over ${windowMs.toFixed(0)} ms (${Math.round((packets / windowMs) * 1000)}/s),`,
    `CPU ${(windowCpuUs / packets).toFixed(1)} µs per session there,`,
    `${((cpu.user + cpu.system) / n).toFixed(1)} µs per session for the job;`,
    `${(node.serializedBytes() / 1e6).toFixed(1)} MB of stanzas, ${(output / 1e6).toFixed(1)} MB of events`,
  ].join(" ");
}

const dir = mkdtempSync(join(tmpdir(), "cxfr-engine-bench-"));
try {
  for (let i = 1; i <= rounds; i++) process.stdout.write(`${await round(dir, i)}\n`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
