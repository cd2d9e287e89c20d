// One drain scenario, for profiling the engine: two lab nodes, N raw sessions on the first, one
// `cxfr drain` (bin/cxfr: dist/ when current, else the sources through tsx), optionally under `--cpu-prof`, and a
// timeline of its --json events. Not part of `npm run bench`.
//   tsx scripts/bench/profile-drain.ts [--kind prosody|ejabberd] [--n 1000] [--behaviour move|plain] [--prof DIR] -- <drain flags…>
// PROF_NODE_ARGS="--heap-prof …" adds node flags to the cxfr process; PROF_STDOUT=FILE keeps its stdout.
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { startServer, stopAllLabProcesses, type LabServer, type ServerKind } from "../../spec/support/lab/index.ts";
import { percentile, round, startLoad, stormStats } from "./load.ts";
import { cxfrEnv, measured } from "./measure.ts";
import type { Behaviour } from "./raw-client.ts";
import { untilQuiet } from "./quiet.ts";

const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: { kind: { type: "string" }, n: { type: "string" }, behaviour: { type: "string" }, prof: { type: "string" } },
});
const kind = (args.kind ?? "prosody") as ServerKind;
const n = Number(args.n ?? 1000);
const behaviour = (args.behaviour ?? "move") as Behaviour;
const users = Array.from({ length: n }, (_, i) => ({ user: `b${i}`, password: `pw-b${i}` }));
const endpoint = (s: LabServer) => ({ host: s.host, port: s.c2sPort, domain: s.domain });

/** The node flags in bin/cxfr's sh line (`exec node FLAGS "$0" "$@"`). */
function binNodeFlags(bin: string): string[] {
  const line = readFileSync(bin, "utf8").split("\n")[1] ?? "";
  return /exec node (.*?) ?"\$0"/.exec(line)?.[1]?.split(" ").filter(Boolean) ?? [];
}

async function main(): Promise<void> {
  const [a, b] = await Promise.all([startServer({ kind, name: "prof-a", users }), startServer({ kind, name: "prof-b", users })]);
  try {
    const load = await startLoad({ source: endpoint(a), target: endpoint(b), behaviour, users });
    process.stderr.write(`${load.sessions.length} sessions on a in ${round(load.loginMs)} ms\n`);
    const calm = await untilQuiet([a.pid, b.pid]);
    process.stderr.write(`nodes ${calm.quiet ? "idle" : "still busy"} after ${round(calm.waitedMs)} ms\n`);
    const entry = fileURLToPath(new URL("../../bin/cxfr", import.meta.url));
    const prof = [...(args.prof ? ["--cpu-prof", "--cpu-prof-dir", args.prof] : []), ...(process.env.PROF_NODE_ARGS?.split(" ").filter(Boolean) ?? [])];
    // bin/cxfr as operators run it; profiled, node itself with the profiling flags and the flags bin/cxfr's sh line gives
    const [command, commandArgs] = prof.length > 0 ? [process.execPath, [...prof, ...binNodeFlags(entry), entry]] : [entry, []];
    const env = cxfrEnv(a, "prof.db");
    const counts = new Map<string, number>();
    const sentAt = new Map<string, number>();
    const settleMs: number[] = [];
    const timeline: string[] = [];
    let first = 0;
    let listedAt = 0;
    // cxfr's own timestamps (ms, wall clock): its stdout is read after it ends
    const r = await measured(command, [...commandArgs, "drain", "--to", b.c2sAddress, "--json", ...positionals], env, (line) => {
      const event = /"event":"([^"]+)"/.exec(line)?.[1];
      const at = Date.parse(/"ts":"([^"]+)"/.exec(line)?.[1] ?? "");
      if (!event || !Number.isFinite(at)) return;
      first ||= at;
      if (!counts.has(event)) timeline.push(`${at - first} ms first "${event}"`);
      counts.set(event, (counts.get(event) ?? 0) + 1);
      const jid = /"jid":"([^"]+)"/.exec(line)?.[1];
      if (event === "scan") listedAt ||= at;
      if (jid && (event === "sent" || event === "kick")) sentAt.set(jid, at);
      if (jid && (event === "moved" || event === "kicked")) settleMs.push(at - (sentAt.get(jid) ?? NaN));
      if (event === "scan" || event === "summary" || event === "rate" || event === "job") timeline.push(`${at - first} ms ${line.slice(0, 200)}`);
    });
    if (process.env.PROF_STDOUT) writeFileSync(process.env.PROF_STDOUT, r.stdout);
    process.stderr.write(`first event ${first - r.startedWall} ms after spawn\n${timeline.join("\n")}\n`);
    await load.settled(60_000);
    const packets = load.sessions.map((s) => s.times.packetAt).filter((t): t is number => t !== undefined);
    const left = load.sessions.map((s) => s.times.leftAt).filter((t): t is number => t !== undefined);
    const span = (ts: number[]) => Math.max(...ts) - Math.min(...ts);
    process.stderr.write(`exit ${r.code}, wall ${round(r.wallMs)} ms, RSS ${round(r.peakRssMb, 1)} MB, CPU ${round(r.cpuS, 2)} s\n`);
    process.stderr.write(`packets ${packets.length}, ${round(((packets.length - 1) / span(packets)) * 1000)}/s; empty after ${round(Math.max(...left) - r.startedAt)} ms\n`);
    process.stderr.write(`events ${JSON.stringify(Object.fromEntries(counts))}\n`);
    const sends = [...sentAt.values()];
    process.stderr.write(`dispatch: first listing → last packet the server took ${round(Math.max(...sends) - listedAt)} ms (${round((sends.length / (Math.max(...sends) - listedAt)) * 1000)}/s)\n`);
    process.stderr.write(`cxfr side: sends over ${round(span(sends))} ms; method → settled p50 ${round(percentile(settleMs, 0.5))} ms, p95 ${round(percentile(settleMs, 0.95))} ms\n`);
    const leftAfter = load.sessions.flatMap((s) => (s.times.leftAt !== undefined && s.times.packetAt !== undefined ? [s.times.leftAt - s.times.packetAt] : []));
    if (leftAfter.length) process.stderr.write(`client side: packet → closed p50 ${round(percentile(leftAfter, 0.5))} ms, p95 ${round(percentile(leftAfter, 0.95))} ms\n`);
    if (behaviour === "move") process.stderr.write(`storm ${JSON.stringify(stormStats(load.sessions))}\n`);
    if (r.code !== 0 && r.code !== 1) process.stderr.write(r.stderr);
    load.stop();
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
}

try {
  await main();
} finally {
  await stopAllLabProcesses();
}
