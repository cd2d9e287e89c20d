// A/B of dispatch on the same two lab nodes: N moving clients are sent their packets, in turns, by each variant —
// a `cxfr drain --rate unlimited` with its own flags (and optionally another checkout's bin/cxfr), or the bare raw
// component — and each turn reports the packets/s at the clients (central 90%, see load.ts) and the time until the
// node is empty. The order rotates every round, so the machine's drift falls on every variant. Not part of `npm run bench`.
// Each variant keeps a journal of its own: another checkout may know an older schema.
//   tsx scripts/bench/ab-dispatch.ts [--kind prosody|ejabberd] [--n 1000] [--rounds 6] --variant "NAME=FLAGS" … [--raw] [--raw-domain]
//   a variant's FLAGS may start with "@DIR " to run DIR/bin/cxfr, e.g. --variant "main=@/work/main" --variant "batch=--burst 10"
// --behaviour refuse: the clients answer every packet with service-unavailable and stay (as clients without XEP-0051
// do), so one login serves every turn and no reconnect storm shares the machine with the dispatch; cxfr runs with
// `--method cxfr --fallback none`, and a turn reports the packets/s at the clients and the time from the first
// packet to the last.
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { startServer, stopAllLabProcesses, type LabServer, type ServerKind } from "../../spec/support/lab/index.ts";
import { rawTransferPackets } from "./link-limit.ts";
import { arrivalRates, clearPackets, median, refusedArrivals, round, startLoad, type Load } from "./load.ts";
import { untilQuiet } from "./quiet.ts";
import { cxfrEnv, measured } from "./measure.ts";

const { values: args } = parseArgs({
  options: { kind: { type: "string" }, n: { type: "string" }, rounds: { type: "string" }, variant: { type: "string", multiple: true }, raw: { type: "boolean" }, "raw-domain": { type: "boolean" }, behaviour: { type: "string" } },
});
const refusing = args.behaviour === "refuse";
if (args.behaviour !== undefined && !refusing && args.behaviour !== "move") throw new Error("--behaviour: move or refuse");
const kind = (args.kind ?? "ejabberd") as ServerKind;
const n = Number(args.n ?? 1000);
const rounds = Number(args.rounds ?? 6);
const users = Array.from({ length: n }, (_, i) => ({ user: `b${i}`, password: `pw-b${i}` }));
const endpoint = (s: LabServer) => ({ host: s.host, port: s.c2sPort, domain: s.domain });
const CXFR = fileURLToPath(new URL("../../bin/cxfr", import.meta.url));

interface Variant {
  name: string;
  bin?: string;
  flags: string[];
}
const variants: Variant[] = (args.variant ?? ["cxfr="]).map((spec) => {
  const [name, rest = ""] = spec.split(/=(.*)/s) as [string, string?];
  const words = rest.split(/\s+/).filter(Boolean);
  const bin = words[0]?.startsWith("@") ? `${words.shift()?.slice(1).replace(/\/$/, "")}/bin/cxfr` : undefined;
  return { name, flags: words, ...(bin ? { bin } : {}) };
});
if (args.raw) variants.push({ name: "raw component", flags: [] });
if (args["raw-domain"]) variants.push({ name: "raw from domain", flags: [] });

async function turn(a: LabServer, b: LabServer, load: Load, v: Variant): Promise<{ central?: number; emptyMs: number }> {
  const started = performance.now();
  clearPackets(load);
  if ((v.name === "raw component" && args.raw) || (v.name === "raw from domain" && args["raw-domain"])) {
    await rawTransferPackets(a, b, load.sessions.map((s) => s.jid), v.name === "raw from domain" ? "domain" : "component");
  } else {
    const flags = [...(refusing ? ["--method", "cxfr", "--fallback", "none"] : []), ...v.flags];
    const r = await measured(v.bin ?? CXFR, ["drain", "--to", b.c2sAddress, "--json", "--grace", "10s", "--rate", "unlimited", ...flags], cxfrEnv(a, `ab-${v.name.replace(/[^a-z0-9]+/gi, "-")}.db`));
    if (r.code !== 0 && !(refusing && r.code === 1)) process.stderr.write(`${v.name}: exit ${r.code} ${r.stderr.slice(0, 300)}\n`);
  }
  if (refusing) return refusedTurn(load);
  await load.settled(60_000);
  const packets = load.sessions.flatMap((s) => (s.times.packetAt !== undefined ? [s.times.packetAt] : []));
  const left = load.sessions.flatMap((s) => (s.times.leftAt !== undefined ? [s.times.leftAt] : []));
  return { central: arrivalRates(packets).central, emptyMs: round(Math.max(...left) - started) };
}

/** A refusing turn: waits (up to 30 s) for every client's packet; "empty" is the time from the first packet to the last. */
async function refusedTurn(load: Load): Promise<{ central?: number; emptyMs: number }> {
  const { central, firstToLastMs, missing } = await refusedArrivals(load, 30_000);
  if (missing > 0) process.stderr.write(`${missing} clients got no packet\n`);
  return { ...(central !== undefined ? { central } : {}), emptyMs: firstToLastMs };
}

async function main(): Promise<void> {
  const [a, b] = await Promise.all([startServer({ kind, name: "ab-a", users }), startServer({ kind, name: "ab-b", users })]);
  const results = new Map<string, Array<{ central?: number; emptyMs: number }>>(variants.map((v) => [v.name, []]));
  try {
    const knownSalts = new Set<string>();
    const staying = refusing ? await startLoad({ source: endpoint(a), target: endpoint(b), behaviour: "refuse", users }) : undefined;
    for (let r = 0; r < rounds; r++) {
      const order = variants.map((_, i) => variants[(i + r) % variants.length] as Variant);
      for (const v of order) {
        const load = staying ?? (await startLoad({ source: endpoint(a), target: endpoint(b), behaviour: "move", users, knownSalts }));
        const calm = await untilQuiet([a.pid, b.pid]);
        if (!calm.quiet) process.stderr.write(`warning: a node was still busy after ${round(calm.waitedMs)} ms\n`);
        const result = await turn(a, b, load, v);
        results.get(v.name)?.push(result);
        process.stderr.write(`round ${r + 1} ${v.name}: ${result.central ?? "?"} packets/s, ${staying ? "first packet to last" : "empty after"} ${result.emptyMs} ms\n`);
        if (staying) continue;
        load.stop();
        await new Promise((resolve) => setTimeout(resolve, 1500));
      }
    }
    staying?.stop();
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
  for (const [name, rs] of results) {
    const rates = rs.flatMap((r) => (r.central !== undefined ? [r.central] : []));
    process.stdout.write(`${name}: packets/s median ${median(rates) ?? "?"} (${rates.join(", ")}); ${refusing ? "first packet to last" : "empty after"} median ${median(rs.map((r) => r.emptyMs)) ?? "?"} ms\n`);
  }
}

try {
  await main();
} finally {
  await stopAllLabProcesses();
}
