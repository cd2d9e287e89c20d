// One storm drain next to a fixed-rate one on the same two lab Prosody nodes (N = 500 moving clients),
// with what the clients saw per 250 ms: packets received, logins started on the target, logins done.
// Shows the rate a drain really sends at (e.g. `--rate 200 --burst 1` against `--rate auto`). Not part
// of `npm run bench`.
//   tsx scripts/bench/storm-timeline.ts [--n 500] ["--against=--rate 200 --burst 1"] -- <drain flags…>
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { startServer, stopAllLabProcesses } from "../../spec/support/lab/index.ts";
import { startLoad, stormStats } from "./load.ts";
import { cxfrEnv, measured } from "./measure.ts";

const { values: args, positionals } = parseArgs({ allowPositionals: true, options: { n: { type: "string" }, against: { type: "string" } } });
const n = Number(args.n ?? 500);
if (!(Number.isInteger(n) && n > 0)) throw new Error(`--n: a whole number > 0 (got ${String(args.n)})`);
const against = (args.against ?? "--rate 200 --burst 1").split(/\s+/).filter(Boolean);
const users = Array.from({ length: n }, (_, i) => ({ user: `b${i}`, password: `pw-b${i}` }));

const [a, b] = await Promise.all([startServer({ kind: "prosody", name: "timeline-a", users }), startServer({ kind: "prosody", name: "timeline-b", users })]);
try {
  for (const flags of [positionals, against]) {
    const load = await startLoad({ source: { host: a.host, port: a.c2sPort, domain: a.domain }, target: { host: b.host, port: b.c2sPort, domain: b.domain }, behaviour: "move", users });
    const env = cxfrEnv(a, "timeline.db");
    const r = await measured(fileURLToPath(new URL("../../bin/cxfr", import.meta.url)), ["drain", "--to", b.c2sAddress, "--json", "--grace", "10s", ...flags], env);
    await load.settled(60_000);
    const times = (key: "packetAt" | "targetStart" | "targetOnline") => load.sessions.map((s) => s.times[key]).filter((t): t is number => t !== undefined);
    const t0 = Math.min(...times("packetAt"));
    const per250 = (ts: number[]) => {
      const buckets: number[] = [];
      for (const t of ts) buckets[Math.floor((t - t0) / 250)] = (buckets[Math.floor((t - t0) / 250)] ?? 0) + 1;
      return Array.from(buckets, (count) => count ?? 0).join(" ");
    };
    process.stderr.write(`cxfr drain ${flags.join(" ")}: ${JSON.stringify(stormStats(load.sessions))}\n`);
    process.stderr.write(`  packets per 250 ms:       ${per250(times("packetAt"))}\n  target logins started:    ${per250(times("targetStart"))}\n  target logins done:       ${per250(times("targetOnline"))}\n`);
    for (const line of r.stdout.split("\n")) if (line.includes('"event":"rate"')) process.stderr.write(`  ${line}\n`);
    load.stop();
    await new Promise((resolve) => setTimeout(resolve, 1500));
  }
} finally {
  await Promise.all([a.stop(), b.stop()]);
  await stopAllLabProcesses();
}
