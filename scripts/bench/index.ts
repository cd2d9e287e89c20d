// cxfr benchmarks: `npm run bench` (quick, ≤ 3 min, Prosody, N = 1,000) and `npm run bench -- --full`
// (both servers, N = 1,000 / 5,000 / 10,000, operators' baselines, the reconnect storm at fixed rates,
// unlimited, kick-all, stop_kindly and --rate auto). Every ratio in the table is between two figures
// measured in the same run on the same lab nodes. Results: bench/results/<time>-<quick|full>.json.
//   options: --full, --n N[,N…] (instead of the default sizes), --servers prosody,ejabberd, --no-storm, --out FILE,
//   --rounds K (dispatch: K turns of cxfr and the raw component, default 4; with --storm-only: storm rounds); with
//   --full or --n, dispatch also runs K turns to clients that refuse the packet and stay (no reconnect storm)
//   --storm-only: only the reconnect storm, on Prosody unless --servers (N = 500 unless --n; fixed rates from
//   --rates, default 100,200,300,400; kick-all and stop_kindly on ejabberd only), e.g. to tune --rate auto, or
//   to measure ejabberd's storm without the dispatch runs; its rows also carry the auto run's rate decisions
//   (`rate_events`). --rounds K repeats it K times, every other round in reverse order, and logs the median
//   of auto's time against the best fixed rate's (each ratio within one round), and the same for auto's p95
//   login latency, with the number of rounds where it was no worse than the best fixed rate's. --also-auto DIR
//   adds a row "cxfr --rate auto (DIR)" run by DIR/bin/cxfr: another checkout's controller, measured in the same round;
//   --auto-variants="--burst 1;--max-rate 200" (with "=": the value starts with a dash) adds a
//   "cxfr --rate auto FLAGS" row for each.
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { startServer, stopAllLabProcesses, type LabServer, type ServerKind } from "../../spec/support/lab/index.ts";
import { ejabberdctlLoop, prosodyctlLoop, stopKindly, type LoopResult } from "./baselines.ts";
import { measureLinkLimit, rawTransferPackets, type LinkLimit } from "./link-limit.ts";
import { arrivalRates, clearPackets, learnSalts, median, refusedArrivals, returnLoad, round, startLoad, stormStats, type Load, type StormStats } from "./load.ts";
import { cxfrEnv, measured, type Measured } from "./measure.ts";
import { untilQuiet } from "./quiet.ts";
import type { Behaviour, Endpoint } from "./raw-client.ts";
import { startLoginProbes } from "../../lib/link/login-probe.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const CXFR = fileURLToPath(new URL("../../bin/cxfr", import.meta.url));

const { values: args } = parseArgs({
  options: { full: { type: "boolean" }, n: { type: "string" }, servers: { type: "string" }, out: { type: "string" }, "no-storm": { type: "boolean" }, "storm-only": { type: "boolean" }, rates: { type: "string" }, rounds: { type: "string" }, "also-auto": { type: "string" }, "auto-variants": { type: "string" } },
});
const full = Boolean(args.full);
const sizes = args.n ? args.n.split(",").map(Number) : full ? [1000, 5000, 10000] : [1000];
const kinds = (args.servers ?? (full ? "prosody,ejabberd" : "prosody")).split(",") as ServerKind[];
if (sizes.some((n) => !(Number.isInteger(n) && n > 0))) throw new Error(`--n: a whole number > 0 (got ${String(args.n)})`);
for (const k of kinds) if (k !== "prosody" && k !== "ejabberd") throw new Error(`--servers: prosody and/or ejabberd (got ${k})`);
const stormOnly = Boolean(args["storm-only"]);
const rounds = Number(args.rounds ?? 1);
/** Rounds of cxfr against the raw component in the dispatch scenario (--rounds, else 4: even, see dispatch()). */
const dispatchRounds = Number(args.rounds ?? 4);
/** Rounds of dispatch to clients that refuse and stay: not in the quick run, which stays within 3 minutes. */
const refusingRounds = full || args.n ? dispatchRounds : 0;
if (!(Number.isInteger(rounds) && rounds > 0)) throw new Error(`--rounds: a whole number > 0 (got ${String(args.rounds)})`);
const stormRates = args.rates ? args.rates.split(",").map(Number) : undefined;
if (stormRates?.some((r) => !(r > 0))) throw new Error(`--rates: numbers > 0 (got ${String(args.rates)})`);

/** When the run began: the log's seconds, the result's file name, `began` and `took_s`. */
const began = Date.now();
/** Progress on stderr, with the seconds since the run began: where a run's minutes go. */
const log = (text: string): void => void process.stderr.write(`bench [${((Date.now() - began) / 1000).toFixed(1)} s]: ${text}\n`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const users = (n: number) => Array.from({ length: n }, (_, i) => ({ user: `b${i}`, password: `pw-b${i}` }));
const endpoint = (s: LabServer): Endpoint => ({ host: s.host, port: s.c2sPort, domain: s.domain });

const autoVariants = (args["auto-variants"] ?? "").split(";").map((v) => v.trim().split(/\s+/).filter(Boolean)).filter((v) => v.length > 0);
const CXFR_ALSO = args["also-auto"] ? `${args["also-auto"].replace(/\/$/, "")}/bin/cxfr` : undefined;

const cxfr = (node: LabServer, cliArgs: string[], bin = CXFR): Promise<Measured> => measured(bin, cliArgs, cxfrEnv(node));

function machine(): Record<string, unknown> {
  const version = (pkg: string) => {
    try {
      return execFileSync("dpkg-query", ["-W", "-f", "${Version}", pkg], { encoding: "utf8" });
    } catch {
      return "not installed";
    }
  };
  const commit = (() => {
    try {
      return execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    } catch {
      // a copy made by `git archive` (to bench one commit while the checkout changes) says which commit it is
      return process.env.CXFR_BENCH_COMMIT ?? "unknown";
    }
  })();
  return {
    cpu: cpus()[0]?.model,
    cores: cpus().length,
    memory_gb: round(totalmem() / 2 ** 30, 1),
    loadavg_at_start: loadavg().map((l) => round(l, 2)),
    node: process.version,
    prosody: version("prosody"),
    ejabberd: version("ejabberd"),
    commit,
    note: "2 cores shared with other work: absolute figures are noisy, ratios within one run are what count",
  };
}

// ---------- scenarios ----------

async function startup(): Promise<{ wallMs: number; peakRssMb: number }> {
  const runs: Measured[] = [];
  for (let i = 0; i < 5; i++) runs.push(await measured(CXFR, ["--version"]));
  return { wallMs: round(median(runs.map((r) => r.wallMs)) as number), peakRssMb: round(median(runs.map((r) => r.peakRssMb)) as number, 1) };
}

/** Per target node: the users whose salt there the load generator has learned (see LoadOptions.knownSalts). */
const saltsLearned = new WeakMap<LabServer, Set<string>>();

function saltsKnownOn(node: LabServer): Set<string> {
  const known = saltsLearned.get(node) ?? new Set<string>();
  saltsLearned.set(node, known);
  return known;
}

async function loadOn(a: LabServer, b: LabServer, n: number, behaviour: Behaviour): Promise<Load> {
  const load = await startLoad({ source: endpoint(a), target: endpoint(b), behaviour, users: users(n), knownSalts: saltsKnownOn(b) });
  log(`${load.sessions.length} ${behaviour} sessions on ${a.name} in ${round(load.loginMs)} ms`);
  if (load.loginFailures > 0) log(`warning: ${load.loginFailures} of ${n} logins failed (${load.firstLoginError}); measuring with the rest`);
  return load;
}

/** Waits until both nodes (and the load generator) are idle: every timed run starts from the same calm. */
async function quiet(a: LabServer, b: LabServer): Promise<void> {
  const q = await untilQuiet([a.pid, b.pid]);
  if (!q.quiet) log(`warning: a node was still busy after ${round(q.waitedMs)} ms (${round(q.lastBusiest * 100)}% of a core); measuring anyway`);
  else if (q.waitedMs > 2000) log(`nodes idle after ${round(q.waitedMs)} ms`);
}

/**
 * The moving clients of the next dispatch turn, from `from` to `to`: the last turn's, which are on `from` now
 * (returnLoad), once they know `to`'s salts. Logging 1,000 clients in again took 2–11 s a turn on 2 cores; a fresh
 * load is only made when more than 1% did not reach `from`.
 */
async function nextTurn(load: Load, from: LabServer, to: LabServer, n: number): Promise<Load> {
  const why = new Map<string, number>();
  for (const s of load.sessions.filter((s) => s.state !== "target")) {
    const key = `${s.state} after ${s.times.targetAttempts} login attempts${s.error ? ` (${s.error})` : ""}`;
    why.set(key, (why.get(key) ?? 0) + 1);
  }
  const back = returnLoad(load);
  if (back.sessions.length < 0.99 * n) {
    const missing = [...why].map(([key, count]) => `${count} ${key}`).join("; ");
    log(`${back.sessions.length} of ${n} clients reached ${from.name} in the last turn (${missing}): logging in a fresh load`);
    await finish(back);
    return loadOn(from, to, n, "move");
  }
  await learnSalts(back.sessions, endpoint(to), saltsKnownOn(to));
  return back;
}

async function finish(load: Load): Promise<void> {
  load.stop();
  await sleep(1500); // let both nodes drop the closed sessions before the next scenario logs in
}

async function linkLimit(a: LabServer, n: number): Promise<LinkLimit> {
  const r = await measureLinkLimit({
    host: a.host,
    port: a.componentPort,
    component: a.component,
    secret: a.secret,
    domain: a.domain,
    users: users(n).map((u) => u.user),
    count: Math.max(3000, n),
  });
  return { ...r, elapsedMs: round(r.elapsedMs), perSecond: round(r.perSecond) };
}

/** `cxfr sessions` run 3 times back to back: the median, and each run's wall time (one run right after the logins
 * met a node still settling them). */
async function sessionsTime(a: LabServer, n: number): Promise<{ wallMs: number; runsMs: number[]; listed: number; peakRssMb: number }> {
  const runs = [];
  for (let i = 0; i < 3; i++) {
    const r = await cxfr(a, ["sessions", "--json"]);
    if (r.code !== 0) throw new Error(`cxfr sessions exited ${r.code}: ${r.stderr}`);
    runs.push({ ...r, listed: r.stdout.split("\n").filter((l) => l.includes('"jid"')).length });
  }
  const listed = Math.min(...runs.map((r) => r.listed));
  if (listed < n) log(`warning: cxfr sessions listed ${listed} of ${n}`);
  return {
    wallMs: round(median(runs.map((r) => r.wallMs)) as number),
    runsMs: runs.map((r) => round(r.wallMs)),
    listed,
    peakRssMb: round(Math.max(...runs.map((r) => r.peakRssMb)), 1),
  };
}

interface DrainResult {
  exitCode: number | null;
  wallMs: number;
  /** packets received by the clients per second, over the central 90% of arrivals (load.ts, arrivalRates) */
  packetsPerSecond?: number;
  /** the same from the first packet to the last */
  packetsPerSecondAll?: number;
  /**
   * cxfr's dispatch as the server took it: sessions over the time from the first listing (the job's `scan` event,
   * after which the packets go) to the last `sent`/`kick` event (the server answered the ping that follows a packet).
   * The counterpart of the link limit, which also runs from the first write to the last answer.
   */
  cxfrSentPerSecond?: number;
  /** from cxfr's spawn to the last session gone from the source node */
  emptyAfterMs: number;
  /** from the first departure to the last */
  departureSpanMs: number;
  peakRssMb: number;
  cpuS: number;
  cpuSPer1000: number;
  storm: StormStats;
  /** `--rate auto`: the controller's decisions, ms after cxfr's start */
  rateEvents?: Array<{ atMs: number; rate: number; change: string; reason: string }>;
}

async function drain(a: LabServer, b: LabServer, load: Load, extra: string[], bin = CXFR): Promise<DrainResult> {
  const r = await cxfr(a, ["drain", "--to", b.c2sAddress, "--json", "--grace", "10s", ...extra], bin);
  if (r.code === 2) throw new UsageError(r.stderr.trim());
  await load.settled(Math.max(60_000, load.sessions.length * 30));
  const n = load.sessions.length;
  const packets = load.sessions.map((s) => s.times.packetAt).filter((t): t is number => t !== undefined);
  const left = load.sessions.map((s) => s.times.leftAt).filter((t): t is number => t !== undefined);
  if (left.length < n) log(`warning: only ${left.length} of ${n} sessions left ${a.name}`);
  const span = (ts: number[]) => Math.max(...ts) - Math.min(...ts);
  const eventTimes = (pattern: RegExp) => r.stdout.split("\n").flatMap((line) => (pattern.test(line) ? [Date.parse(/"ts":"([^"]+)"/.exec(line)?.[1] ?? "")] : [])).filter((t) => Number.isFinite(t));
  const sentTs = eventTimes(/"event":"(sent|kick)"/);
  const listedAt = eventTimes(/"event":"scan"/)[0];
  const rateEvents = r.stdout.split("\n").flatMap((line) => {
    if (!line.includes('"event":"rate"')) return [];
    const e = JSON.parse(line) as { ts: string; rate: number; change: string; reason: string };
    return [{ atMs: round(Date.parse(e.ts) - r.startedWall), rate: e.rate, change: e.change, reason: e.reason }];
  });
  return {
    exitCode: r.code,
    wallMs: round(r.wallMs),
    ...arrivalFields(packets),
    ...(sentTs.length > 0 && listedAt !== undefined ? { cxfrSentPerSecond: round((sentTs.length / Math.max(1, Math.max(...sentTs) - listedAt)) * 1000) } : {}),
    emptyAfterMs: round(Math.max(...left) - r.startedAt),
    departureSpanMs: round(span(left)),
    peakRssMb: round(r.peakRssMb, 1),
    cpuS: round(r.cpuS, 2),
    cpuSPer1000: round((r.cpuS / n) * 1000, 2),
    storm: stormStats(load.sessions),
    ...(rateEvents.length > 0 ? { rateEvents } : {}),
  };
}

class UsageError extends Error {}

/**
 * A raw component (link-limit.ts) sends the transfer packet to every session of `load` at once and counts the
 * clients' answers: the link's limit for transfer packets to these live clients. Packets/s as the clients saw them.
 */
function arrivalFields(packets: number[]): { packetsPerSecond?: number; packetsPerSecondAll?: number } {
  const { all, central } = arrivalRates(packets);
  return { ...(central !== undefined ? { packetsPerSecond: central } : {}), ...(all !== undefined ? { packetsPerSecondAll: all } : {}) };
}

async function rawDispatch(a: LabServer, b: LabServer, load: Load): Promise<{ packetsPerSecond?: number; packetsPerSecondAll?: number; answeredPerSecond?: number; emptyAfterMs: number }> {
  const jids = load.sessions.map((s) => s.jid);
  const started = performance.now();
  const answered = await rawTransferPackets(a, b, jids);
  await load.settled(Math.max(60_000, jids.length * 30));
  const packets = load.sessions.map((s) => s.times.packetAt).filter((t): t is number => t !== undefined);
  const left = load.sessions.map((s) => s.times.leftAt).filter((t): t is number => t !== undefined);
  return {
    ...arrivalFields(packets),
    ...(answered ? { answeredPerSecond: round(answered.perSecond) } : {}),
    emptyAfterMs: round(Math.max(...left) - started),
  };
}

/** cxfr dispatch on one server kind and size: sessions, link limit, drain unlimited (moving clients), kick-only drain (plain clients). */
async function dispatch(kind: ServerKind, n: number, baselineSample: number): Promise<Record<string, unknown>> {
  log(`${kind}, N = ${n}: starting two nodes`);
  const list = users(n);
  const [a, b] = await Promise.all([startServer({ kind, name: `bench-${kind}-a`, users: list }), startServer({ kind, name: `bench-${kind}-b`, users: list })]);
  try {
    let load = await loadOn(a, b, n, "move");
    await quiet(a, b);
    const sessions = await sessionsTime(a, n);
    await quiet(a, b);
    const limitBefore = await linkLimit(a, n);
    // cxfr and a bare raw component (what any sender gets from this node) take turns on the same N moving clients,
    // every other round in the other order: one pair alone swings by 2× on two shared cores. The clients go back and
    // forth: each turn moves them off the node where the last one left them, so the first turn of every round drains
    // A and the second B. With an even number of rounds (default 4) each sender drains each node, first and second,
    // equally often.
    const pairs: Array<{ cxfr: DrainResult; raw: Awaited<ReturnType<typeof rawDispatch>> }> = [];
    if (dispatchRounds % 2 === 1) log(`warning: with an odd --rounds, cxfr drains node A in one round more than the raw component does`);
    let [from, to] = [a, b];
    for (let turn = 0; turn < dispatchRounds; turn++) {
      const pair: Partial<(typeof pairs)[number]> = {};
      for (const who of turn % 2 === 0 ? (["cxfr", "raw"] as const) : (["raw", "cxfr"] as const)) {
        if (turn > 0 || who === "raw") load = await nextTurn(load, from, to, n);
        await quiet(a, b);
        if (who === "cxfr") pair.cxfr = await drain(from, to, load, ["--rate", "unlimited"]);
        else pair.raw = await rawDispatch(from, to, load);
        [from, to] = [to, from];
      }
      const done = pair as (typeof pairs)[number];
      pairs.push(done);
      log(`round ${turn + 1}: packets/s at the clients (central 90%, all): cxfr unlimited ${done.cxfr.packetsPerSecond ?? "?"}, ${done.cxfr.packetsPerSecondAll ?? "?"} (empty after ${done.cxfr.emptyAfterMs} ms); raw component ${done.raw.packetsPerSecond ?? "?"}, ${done.raw.packetsPerSecondAll ?? "?"}`);
    }
    await finish(load);
    await quiet(a, b);
    const limitAfter = await linkLimit(a, n);
    const limit = round((limitBefore.perSecond + limitAfter.perSecond) / 2);
    const ratios = pairs.map((p) => (p.cxfr.packetsPerSecond && p.raw.packetsPerSecond ? p.cxfr.packetsPerSecond / p.raw.packetsPerSecond : undefined));
    // the rates and times are medians of the rounds; RSS, CPU and the storm figures are the first round's
    const unlimited = {
      ...(pairs[0] as (typeof pairs)[number]).cxfr,
      packetsPerSecond: median(pairs.map((p) => p.cxfr.packetsPerSecond)),
      packetsPerSecondAll: median(pairs.map((p) => p.cxfr.packetsPerSecondAll)),
      emptyAfterMs: median(pairs.map((p) => p.cxfr.emptyAfterMs)) as number,
    };
    const raw = {
      ...(pairs[0] as (typeof pairs)[number]).raw,
      packetsPerSecond: median(pairs.map((p) => p.raw.packetsPerSecond)),
      packetsPerSecondAll: median(pairs.map((p) => p.raw.packetsPerSecondAll)),
      emptyAfterMs: median(pairs.map((p) => p.raw.emptyAfterMs)) as number,
    };
    log(`link ${limit}/s; medians of ${pairs.length} rounds: cxfr ${unlimited.packetsPerSecond ?? "?"} packets/s, raw ${raw.packetsPerSecond ?? "?"}/s, ratio ${median(ratios) ?? "?"}`);

    const refusing = refusingRounds > 0 ? await refusingDispatch(a, b, n) : undefined;

    load = await loadOn(a, b, n, "plain");
    await quiet(a, b);
    const kick = await drain(a, b, load, ["--rate", "unlimited", "--method", "kick"]);
    const kickPerSecond = round((load.sessions.length / kick.emptyAfterMs) * 1000);
    await finish(load);
    log(`kick-only drain: ${kickPerSecond} sessions/s`);

    load = await loadOn(a, b, baselineSample, "plain");
    const jids = load.sessions.map((s) => s.jid);
    const baseline: LoopResult = kind === "prosody" ? await prosodyctlLoop(a, jids) : await ejabberdctlLoop(a, jids);
    await finish(load);
    log(`${kind === "prosody" ? "prosodyctl" : "ejabberdctl"} loop: ${round(baseline.msPerSession)} ms per session`);

    return {
      kind,
      n,
      link_limit: { before: limitBefore, after: limitAfter, per_second: limit },
      sessions,
      drain_unlimited: {
        ...unlimited,
        at_clients_ratio_to_link: unlimited.packetsPerSecond ? round(unlimited.packetsPerSecond / limit, 3) : null,
        dispatch_ratio_to_link: unlimited.cxfrSentPerSecond ? round(unlimited.cxfrSentPerSecond / limit, 3) : null,
        // the median of the rounds' own ratios (each between two runs minutes apart at most)
        ratio_to_raw_component: median(ratios) ?? null,
        rounds: pairs.map((p, i) => ({ cxfr_packets_per_second: p.cxfr.packetsPerSecond, cxfr_all_packets_per_second: p.cxfr.packetsPerSecondAll, cxfr_empty_after_ms: p.cxfr.emptyAfterMs, raw_packets_per_second: p.raw.packetsPerSecond, raw_all_packets_per_second: p.raw.packetsPerSecondAll, ratio: ratios[i] !== undefined ? round(ratios[i] as number, 3) : null })),
      },
      raw_component_dispatch: raw,
      ...(refusing ? { dispatch_refusing_clients: refusing } : {}),
      drain_kick: { ...kick, sessions_per_second: kickPerSecond },
      baseline_loop: { tool: kind === "prosody" ? "prosodyctl shell c2s:close" : "ejabberdctl kick_session", ...roundAll(baseline) },
      kick_speedup_vs_loop: round(kickPerSecond / baseline.perSecond, 1),
    };
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
}

/**
 * Dispatch without a reconnect storm: N clients that answer the packet with service-unavailable and stay (as
 * clients without XEP-0051 do) get the packets of `cxfr drain --rate unlimited --method cxfr --fallback none` and of
 * the bare raw component in turns, alternating which goes first, over one login. With moving clients, every turn
 * also logs N clients in to the other node on the same two cores, and the packets/s at the clients measure that
 * contention as much as the sender.
 */
async function refusingDispatch(a: LabServer, b: LabServer, n: number): Promise<Rec> {
  const load = await loadOn(a, b, n, "refuse");
  const rounds: Array<{ cxfr?: number; raw?: number; cxfr_first_to_last_ms: number; raw_first_to_last_ms: number }> = [];
  try {
    for (let turn = 0; turn < refusingRounds; turn++) {
      const round_: Partial<(typeof rounds)[number]> = {};
      for (const who of turn % 2 === 0 ? (["cxfr", "raw"] as const) : (["raw", "cxfr"] as const)) {
        clearPackets(load);
        await quiet(a, b);
        if (who === "cxfr") {
          const r = await cxfr(a, ["drain", "--to", b.c2sAddress, "--json", "--grace", "10s", "--rate", "unlimited", "--method", "cxfr", "--fallback", "none"]);
          if (r.code !== 0 && r.code !== 1) throw new Error(`cxfr drain (refusing clients) exited ${r.code}: ${r.stderr}`);
        } else await rawTransferPackets(a, b, load.sessions.map((s) => s.jid));
        const arrived = await refusedArrivals(load, 30_000);
        if (arrived.missing > 0) log(`warning: ${arrived.missing} refusing clients got no packet from ${who}`);
        round_[who] = arrived.central;
        round_[`${who}_first_to_last_ms`] = arrived.firstToLastMs;
      }
      rounds.push(round_ as (typeof rounds)[number]);
      log(`refusing clients, round ${turn + 1}: packets/s at the clients: cxfr ${round_.cxfr ?? "?"}, raw component ${round_.raw ?? "?"}`);
    }
  } finally {
    await finish(load);
  }
  const ratios = rounds.map((r) => (r.cxfr && r.raw ? round(r.cxfr / r.raw, 3) : undefined));
  return { packetsPerSecond: median(rounds.map((r) => r.cxfr)), raw_packets_per_second: median(rounds.map((r) => r.raw)), ratio_to_raw_component: median(ratios) ?? null, rounds: rounds.map((r, i) => ({ ...r, ratio: ratios[i] ?? null })) };
}

/**
 * Runs a storm row while the bench probes the target's login path itself (lib/link/login-probe.ts, as
 * --rate auto does) and logs the slowest probe of each half second: what auto's signal looked like.
 */
async function probed(target: LabServer, run: () => Promise<DrainResult>): Promise<DrainResult> {
  const started = performance.now();
  const samples: Array<{ at: number; ms: number }> = [];
  const prober = startLoginProbes([{ label: target.name, address: { host: target.host, port: target.c2sPort } }], { domain: target.domain, timeoutMs: 5000, intervalMs: 250 }, (_label, r) =>
    samples.push({ at: performance.now() - started - r.ms, ms: r.ms }),
  );
  try {
    return await run();
  } finally {
    prober.stop();
    const buckets = new Map<number, number>();
    for (const s of samples) buckets.set(Math.floor(s.at / 500), Math.max(buckets.get(Math.floor(s.at / 500)) ?? 0, s.ms));
    log(`  probe (slowest per 0.5 s, by start): ${[...buckets].map(([k, ms]) => `${(k / 2).toFixed(1)}s ${round(ms)}`).join(", ")}`);
  }
}

/** The reconnect storm on one target: moving clients at fixed rates, unlimited, --rate auto; plain clients under kick-all and (ejabberd) stop_kindly. */
async function storm(kind: ServerKind, n: number, rates: number[], options: { reversed?: boolean; kickAll?: boolean } = {}): Promise<Record<string, unknown>> {
  log(`storm on ${kind}, N = ${n}`);
  const list = users(n);
  const b = await startServer({ kind, name: `storm-${kind}-b`, users: list });
  const a = await startServer({ kind, name: `storm-${kind}-a`, users: list });
  const rows: Array<Record<string, unknown>> = [];
  const row = (name: string, r: DrainResult) => {
    rows.push({ scenario: name, total_ms: r.storm.spanMs + 0, cxfr_wall_ms: r.wallMs, ...r.storm, ...(r.rateEvents ? { rate_events: r.rateEvents } : {}) });
    log(`${name}: back in ${r.storm.spanMs} ms, p95 ${r.storm.p95} ms, peak ${r.storm.peakLoginsPerSecond}/s`);
    for (const e of r.rateEvents ?? []) log(`  ${(e.atMs / 1000).toFixed(1)} s: ${e.change} ${e.rate}/s (${e.reason})`);
  };
  try {
    const scenarios: Array<{ name: string; flags: string[]; behaviour: Behaviour; bin?: string }> = [
      // the default burst, as operators and --rate auto run
      ...rates.map((rate) => ({ name: `cxfr --rate ${rate}`, flags: ["--rate", String(rate)], behaviour: "move" as const })),
      { name: "cxfr --rate unlimited", flags: ["--rate", "unlimited"], behaviour: "move" },
      { name: "cxfr --rate auto", flags: ["--rate", "auto"], behaviour: "move" },
      ...(CXFR_ALSO ? [{ name: `cxfr --rate auto (${String(args["also-auto"])})`, flags: ["--rate", "auto"], behaviour: "move" as const, bin: CXFR_ALSO }] : []),
      ...autoVariants.map((flags) => ({ name: `cxfr --rate auto ${flags.join(" ")}`, flags: ["--rate", "auto", ...flags], behaviour: "move" as const })),
      ...(options.kickAll === false ? [] : [{ name: "kick-all (cxfr --method kick --rate unlimited)", flags: ["--rate", "unlimited", "--method", "kick"], behaviour: "plain" as const }]),
    ];
    // the machine's load drifts: a reversed order puts the drift on the other rows
    for (const { name, flags, behaviour, bin } of options.reversed ? scenarios.reverse() : scenarios) {
      const load = await loadOn(a, b, n, behaviour);
      await quiet(a, b);
      try {
        row(name, await probed(b, () => drain(a, b, load, flags, bin)));
      } catch (err) {
        if (!(err instanceof UsageError)) throw err;
        rows.push({ scenario: name, unavailable: err.message });
        log(`${name}: not available (${err.message})`);
      }
      await finish(load);
    }
    if (kind === "ejabberd") {
      const load = await loadOn(a, b, n, "plain");
      const stopped = await stopKindly(a);
      await load.settled(90_000);
      const stats = stormStats(load.sessions);
      rows.push({ scenario: "ejabberdctl stop_kindly 0", total_ms: stats.spanMs, command_ms: round(stopped.elapsedMs), ...stats });
      log(`stop_kindly: back in ${stats.spanMs} ms, p95 ${stats.p95} ms`);
      await finish(load); // the last scenario: node a is gone now
    }
    const fixed = rows.filter((r) => /^cxfr --rate \d+$/.test(String(r.scenario)) && r.reached === n);
    const best = fixed.sort((x, y) => (x.total_ms as number) - (y.total_ms as number))[0];
    const auto = rows.find((r) => r.scenario === "cxfr --rate auto");
    /** `field` of a row that moved every client, against the best fixed rate's (null when either is missing or 0). */
    const ratioToBest = (r: Record<string, unknown> | undefined, field: "total_ms" | "p95") => (best && r?.reached === n && (best[field] as number) > 0 ? round((r[field] as number) / (best[field] as number), 2) : null);
    const vsBest = (r: Record<string, unknown> | undefined) => ratioToBest(r, "total_ms");
    const autoVsBest = vsBest(auto);
    for (const r of rows.filter((r) => String(r.scenario).startsWith("cxfr --rate auto"))) {
      log(`${String(r.scenario)}: ${String(vsBest(r))}× the best fixed rate's time (${String(best?.scenario)}), p95 ${String(r.p95)} ms against ${String(best?.p95)} ms`);
    }
    // held: compared unrounded, so a p95 1.004× the best's does not count as no worse
    const p95Held = best && auto?.reached === n ? (auto.p95 as number) <= (best.p95 as number) : null;
    return { kind, n, rows, best_fixed: best?.scenario ?? null, auto_vs_best: autoVsBest, auto_p95_vs_best: ratioToBest(auto, "p95"), auto_p95_held: p95Held, ...(CXFR_ALSO ? { also_auto_vs_best: vsBest(rows.find((r) => String(r.scenario).startsWith("cxfr --rate auto ("))) } : {}) };
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
}

function roundAll<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, typeof v === "number" ? round(v, 1) : v])) as T;
}

// ---------- table ----------

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? "").length)));
  return rows.map((r) => r.map((cell, c) => cell.padEnd(widths[c] as number)).join("  ")).join("\n");
}

// the results are plain JSON records built above; reading them back untyped keeps this short
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Rec = Record<string, any>;

function summaryRows(results: { startup: { wallMs: number; peakRssMb: number }; dispatch: Rec[]; storm: Rec[] }): string[][] {
  const rows: string[][] = [["measure", "cxfr", "reference (same run)", "ratio", "target"]];
  rows.push(["cxfr --version", `${(results.startup.wallMs / 1000).toFixed(2)} s, ${results.startup.peakRssMb} MB`, "", "", "≤ 0.25 s, ≤ 50 MB"]);
  for (const d of results.dispatch) {
    const tag = `${d.kind} N=${d.n}`;
    rows.push([`${tag}: cxfr sessions, median of 3`, `${(d.sessions.wallMs / 1000).toFixed(2)} s (runs ${((d.sessions.runsMs ?? []) as number[]).map((ms) => (ms / 1000).toFixed(2)).join(", ")}; ${d.sessions.listed} listed)`, "", "", d.n <= 1000 ? "≤ 0.3 s" : "≤ 2 s at 10,000"]);
    rows.push([`${tag}: drain --rate unlimited, packets at the clients (central 90%, median of ${d.drain_unlimited.rounds?.length ?? 1} rounds)`, `${d.drain_unlimited.packetsPerSecond ?? "?"}/s`, `raw component, same clients: ${d.raw_component_dispatch.packetsPerSecond ?? "?"}/s`, String(d.drain_unlimited.ratio_to_raw_component ?? "?"), "≥ 0.8 (goal 0.9)"]);
    if (d.dispatch_refusing_clients) {
      const r = d.dispatch_refusing_clients;
      rows.push([`${tag}: … clients that refuse and stay (no reconnect storm; median of ${r.rounds.length} rounds)`, `${r.packetsPerSecond ?? "?"}/s`, `raw component, same clients: ${r.raw_packets_per_second ?? "?"}/s`, String(r.ratio_to_raw_component ?? "?"), "≥ 0.8 (goal 0.9)"]);
    }
    rows.push([`${tag}: … listing → last packet the server took`, `${d.drain_unlimited.cxfrSentPerSecond ?? "?"}/s`, `IQs to absent resources: ${d.link_limit.per_second}/s; raw to live clients: ${d.raw_component_dispatch.answeredPerSecond ?? "?"}/s answered`, String(d.drain_unlimited.dispatch_ratio_to_link ?? "?"), ""]);
    rows.push([`${tag}: node empty after`, `${(d.drain_unlimited.emptyAfterMs / 1000).toFixed(2)} s`, "", "", "≤ 1.5 s at 1,000"]);
    rows.push([`${tag}: cxfr peak RSS, CPU`, `${d.drain_unlimited.peakRssMb} MB, ${d.drain_unlimited.cpuSPer1000} CPU s/1,000`, "", "", "≤ 150 MB at 10,000"]);
    rows.push([`${tag}: kick-only drain`, `${d.drain_kick.sessions_per_second} sessions/s`, `${d.baseline_loop.tool}: ${round(d.baseline_loop.perSecond, 1)}/s`, `${d.kick_speedup_vs_loop}×`, d.kind === "prosody" ? "≥ 20×" : "≥ 100×"]);
    rows.push([`${tag}: target logins (unlimited)`, `p50 ${d.drain_unlimited.storm.p50} ms, p95 ${d.drain_unlimited.storm.p95} ms, peak ${d.drain_unlimited.storm.peakLoginsPerSecond}/s`, "", "", ""]);
  }
  for (const s of results.storm) {
    const best = s.rows.find((r: Rec) => r.scenario === s.best_fixed);
    for (const r of s.rows) {
      if (r.unavailable) {
        rows.push([`storm ${s.kind} N=${s.n}: ${r.scenario}`, "not available yet", "", "", ""]);
        continue;
      }
      const ratio = best ? `${round(r.total_ms / best.total_ms, 2)}× time` : "";
      rows.push([
        `storm ${s.kind} N=${s.n}: ${r.scenario}`,
        `${(r.total_ms / 1000).toFixed(1)} s, p95 ${r.p95} ms, max ${r.max} ms, peak ${r.peakLoginsPerSecond}/s`,
        best ? `best fixed: ${best.scenario}` : "",
        ratio,
        r.scenario === "cxfr --rate auto" ? "≤ 1.3× time, p95 ≤ best's" : "",
      ]);
    }
  }
  return rows;
}

// ---------- main ----------

async function main(): Promise<void> {
  log("building dist/ (npm run build)");
  execFileSync(process.execPath, [fileURLToPath(new URL("../../node_modules/typescript/bin/tsc", import.meta.url)), "-p", "tsconfig.build.json"], { cwd: ROOT, stdio: "inherit" });
  const facts = machine();
  const results = { startup: await startup(), dispatch: [] as Array<Record<string, unknown>>, storm: [] as Array<Record<string, unknown>> };
  for (const kind of stormOnly ? [] : kinds) {
    for (const n of sizes) results.dispatch.push(await dispatch(kind, n, full ? (kind === "prosody" ? 100 : 20) : 30));
  }
  for (let round = 0; stormOnly && round < rounds; round++) {
    for (const kind of kinds) {
      // ejabberd's rows include kick-all and stop_kindly, the operators' all-at-once evacuations
      results.storm.push(await storm(kind, args.n ? (sizes[0] as number) : 500, stormRates ?? [100, 200, 300, 400], { reversed: round % 2 === 1, kickAll: kind === "ejabberd" }));
    }
  }
  if (stormOnly && rounds > 1) {
    for (const kind of kinds) {
      const ofKind = results.storm.filter((s) => s.kind === kind);
      const ratios = ofKind.map((s) => s.auto_vs_best).filter((r): r is number => typeof r === "number");
      const p95s = ofKind.map((s) => s.auto_p95_vs_best).filter((r): r is number => typeof r === "number");
      const held = ofKind.map((s) => s.auto_p95_held).filter((h): h is boolean => typeof h === "boolean");
      log(`${kind}: auto against the best fixed rate, per round: ${ratios.join(", ")}; median ${median(ratios) ?? "?"}`);
      log(`${kind}: auto's p95 against the best fixed rate's, per round: ${p95s.join(", ")}; median ${median(p95s) ?? "?"}; no worse in ${held.filter(Boolean).length} of ${held.length} rounds`);
      const also = ofKind.map((s) => s.also_auto_vs_best).filter((r): r is number => typeof r === "number");
      if (also.length > 0) log(`${kind}: auto (${String(args["also-auto"])}) against the best fixed rate, per round: ${also.join(", ")}; median ${median(also) ?? "?"}`);
    }
  }
  if (args["no-storm"] || stormOnly) {
    // dispatch only, or the storm done above
  } else if (full) {
    for (const kind of kinds) results.storm.push(await storm(kind, 1000, [50, 100, 200, 400]));
  } else {
    // 1,000 clients: enough that the target saturates (≈250 SCRAM logins/s here) for a few seconds, which is what
    // --rate auto is judged on; at 500 the whole storm is shorter than auto's ramp from 50/s
    // kick-all is in --full: the quick run stays within 3 minutes
    results.storm.push(await storm("prosody", Math.min(sizes[0] as number, 1000), stormRates ?? [150, 250], { kickAll: false }));
  }
  const rows = summaryRows(results as never);
  const text = table(rows);
  process.stdout.write(`\n${text}\n\n`);
  const out = args.out ?? `${ROOT}bench/results/${new Date(began).toISOString().replace(/[:.]/g, "-")}-${full ? "full" : stormOnly ? "storm" : "quick"}.json`;
  mkdirSync(`${ROOT}bench/results`, { recursive: true });
  writeFileSync(out, `${JSON.stringify({ command: ["npm run bench", ...(process.argv.length > 2 ? ["--", ...process.argv.slice(2)] : [])].join(" "), began: new Date(began).toISOString(), took_s: round((Date.now() - began) / 1000), machine: facts, results, table: rows }, null, 2)}\n`);
  log(`results: ${out} (${round((Date.now() - began) / 1000)} s)`);
}

try {
  await main();
} finally {
  await stopAllLabProcesses();
}
