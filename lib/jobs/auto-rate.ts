// `--rate auto`: paces a job by what the target nodes absorb, from signals cxfr can see without
// server changes:
//   - appearance latency: packet (or kick) → the session shows up on its target node (multi-node config)
//   - login probe: TCP + stream open + <stream:features> latency against each target's public address
//   - moved users not yet back: sent minus appeared, compared with what the current rate may leave out
// A busy single-core target (SCRAM logins) queues new clients; the probe waits in that queue, so its
// latency above the target's best is the queue's length in time. The job is fastest while that queue
// is short but never empty (the target never idles), so the probe is read in three bands:
//   - under a quarter of the congestion limit: headroom — raise (×startFactor per interval until the
//     first cut, then +stepFraction, or ×startFactor again while the last answers show no queue at
//     all: an eighth of the limit);
//   - between a quarter of the limit and the limit: the target works at capacity — hold (the newest
//     answer is enough: a hold costs little); but when the last two answers are both in this band
//     and the newer is slower, the queue grows: ease off (the mildest cut) before it reaches the limit;
//   - over the limit: congestion — cut by how far over (limit / probe), or deeper by how fast the last
//     two answers show the queue growing (cutFactor at most).
// A cut needs the lower of the target's last two answers over the limit (a probe still out counts
// with its age so far), so one answer slowed by something else on a busy machine does not cut.
// Every signal lags the sending by about one login, so after a cut only probes sent since count,
// another cut waits for the cool-down and for news that the queue the cut left does not shrink (a
// probe over the limit, sent after the first one over it since the cut, no faster than that one); a
// queue that drains is left to drain. Pure: no timers, no I/O — the caller feeds signals and calls
// update(now) on its own timer; the clock is whatever `now` it passes.
import { InputError } from "../errors.ts";

export interface AutoRateOptions {
  /** Sessions per second to begin with. */
  startRate: number;
  /** Never paced slower than this. */
  minRate: number;
  /** `--max-rate`: never paced faster than this. */
  maxRate: number;
  /** Growth factor per healthy interval before the first cut. */
  startFactor: number;
  /** After the first cut: growth per healthy interval, as a fraction of the current rate (at least 1/s). */
  stepFraction: number;
  /** The deepest cut (0..1): a probe far over the limit multiplies the rate by this, one just over by less. */
  cutFactor: number;
  /** How often a decision is taken. */
  intervalMs: number;
  /** After a cut, no further cut for this long: the signals still show the load sent before it. */
  coolDownMs: number;
  /** How many of a target's latest probe answers are judged together (the lowest counts). */
  probeSamples: number;
  /** Appearance latency (p90 over the last window) above this means the targets fall behind. */
  appearanceBudgetMs: number;
  /** A probe this many times slower than the target's best (and at least probeSlackMs slower) is congestion. */
  probeFactor: number;
  probeSlackMs: number;
  /** Only the last this many ms of appearance samples count. */
  windowMs: number;
  /** Whether the caller reports appearances on targets (multi-node config); otherwise only probes count. */
  tracksAppearance: boolean;
}

/**
 * startRate and startFactor: the probes show a queue about one login after the rate that made it, so the step that
 * passes a target's capacity overshoots it by up to startFactor for that long. Starting at 100/s and growing by half
 * reaches 225/s within 1 s, as fast as 50/s doubling reached 200/s, and overshoots by at most half (storm bench, session 8).
 */
export const autoRateDefaults: AutoRateOptions = {
  startRate: 100,
  minRate: 1,
  maxRate: 1000,
  startFactor: 1.5,
  stepFraction: 0.25,
  cutFactor: 0.5,
  intervalMs: 500,
  coolDownMs: 1000,
  probeSamples: 2,
  appearanceBudgetMs: 5000,
  probeFactor: 4,
  probeSlackMs: 200,
  windowMs: 5000,
  tracksAppearance: false,
};

/** Why the rate is what it is; `reason` is one human line, e.g. for the progress bar. */
export type AutoRateCause =
  | "start"
  | "targets-keep-up"
  | "max-rate"
  | "appearance-latency"
  | "probe-latency"
  | "probe-failed"
  | "not-back";

export interface AutoRateEvent {
  event: "rate";
  /** sessions per second from now on */
  rate: number;
  previous: number;
  change: "start" | "raise" | "cut";
  cause: AutoRateCause;
  reason: string;
  /** the `now` passed to update() (ms) */
  at: number;
}

export type ProbeResult = { ok: true; ms: number } | { ok: false; reason: string };

interface ProbeState {
  best: number;
  latest?: ProbeResult;
  /** the last probeSamples successful answers, newest last: when each went out and how long it took */
  recent: Array<{ sentAt: number; ms: number }>;
  /** when the probe now out was sent (undefined: none out) */
  outSince?: number;
  /** set when the latest probe has not yet been judged (each probe counts once) */
  fresh: boolean;
}

/** The mildest cut: a probe just over the limit still slows the job down noticeably. */
const MILDEST_CUT = 0.85;
/** A cut by the queue's growth aims this far under what the target absorbs, so the queue drains. */
const DRAIN = 0.9;

interface Verdict {
  cause: AutoRateCause;
  reason: string;
  /** the rate multiplier this congestion calls for */
  factor: number;
  /** the probe behind a probe verdict: when it went out and its latency (so far) */
  probe?: { sentAt: number; ms: number };
}

/** A probe's latency, answered or (still out) so far. */
interface ProbeSample {
  sentAt: number;
  ms: number;
  answered: boolean;
}

/** How the freshest probes read: headroom (raise), busy (hold) or a problem (cut). */
type Reading = { kind: "problem"; verdict: Verdict } | { kind: "busy" } | { kind: "headroom"; idle: boolean };

export class AutoRate {
  readonly options: AutoRateOptions;
  private current: number;
  private phase: "start" | "steady" = "start";
  private lastDecision: number | undefined;
  private lastCut = -Infinity;
  /** since the last cut: the latest probe over the limit (undefined: none yet) */
  private overLimit: { sentAt: number; ms: number } | undefined;
  private sentTotal = 0;
  private sentInInterval = 0;
  private backTotal = 0;
  private readonly appearances: Array<{ at: number; ms: number }> = [];
  private readonly probes = new Map<string, ProbeState>();
  private readonly listeners: Array<(event: AutoRateEvent) => void> = [];

  constructor(options: Partial<AutoRateOptions> = {}) {
    this.options = checkOptions({ ...autoRateDefaults, ...options });
    this.current = Math.min(this.options.startRate, this.options.maxRate);
  }

  /** The rate to pace by now (sessions per second). */
  get rate(): number {
    return this.current;
  }

  /** Moved users the targets have not shown yet (only meaningful when appearances are reported). */
  get notBack(): number {
    return Math.max(0, this.sentTotal - this.backTotal);
  }

  on(listener: (event: AutoRateEvent) => void): void {
    this.listeners.push(listener);
  }

  /** Announces the starting rate (call once when the job starts). */
  begin(now: number): void {
    this.lastDecision = now;
    this.emit({ rate: this.current, previous: 0, change: "start", cause: "start", reason: `starting at ${fmt(this.current)}/s`, at: now });
  }

  /** A packet (or kick) left for one session. */
  sent(count = 1): void {
    this.sentTotal += count;
    this.sentInInterval += count;
  }

  /** A moved session showed up on its target, latencyMs after its packet. */
  appeared(latencyMs: number, now: number): void {
    this.backTotal++;
    this.appearances.push({ at: now, ms: latencyMs });
  }

  /** A session that will not come back (e.g. kicked, reconnected elsewhere): no longer awaited. */
  forget(count = 1): void {
    this.backTotal += count;
  }

  /** A login probe to `target` went out: while unanswered, its age counts as a latency it has at least. */
  probing(target: string, now: number): void {
    const state = this.probes.get(target) ?? { best: Infinity, recent: [], fresh: false };
    state.outSince = now;
    this.probes.set(target, state);
  }

  /** Result of one login probe against a target's public address (sent at its probing() call, else at the last decision). */
  probed(target: string, result: ProbeResult): void {
    const state = this.probes.get(target) ?? { best: Infinity, recent: [], fresh: false };
    const sentAt = state.outSince ?? this.lastDecision ?? -Infinity;
    state.outSince = undefined;
    if (result.ok) {
      state.best = Math.min(state.best, result.ms);
      state.recent.push({ sentAt, ms: result.ms });
      if (state.recent.length > this.options.probeSamples) state.recent.shift();
    }
    state.latest = result;
    state.fresh = true;
    this.probes.set(target, state);
  }

  /** Takes a decision if an interval has passed since the last one; returns the event when the rate changed. */
  update(now: number): AutoRateEvent | undefined {
    if (this.lastDecision === undefined) this.begin(now);
    const since = now - (this.lastDecision as number);
    if (since < this.options.intervalMs) return undefined;
    this.lastDecision = now;
    const used = this.sentInInterval;
    this.sentInInterval = 0;
    this.dropOldAppearances(now);

    const reading = this.read(now);
    const evidence = this.evidence(now - since);
    for (const state of this.probes.values()) state.fresh = false;
    if (reading.kind === "problem") {
      if (now - this.lastCut < this.options.coolDownMs) return undefined;
      if (this.draining(reading.verdict)) return undefined;
      return this.cut(now, reading.verdict);
    }
    // Raise only when the rate was what held the job back (a job that sent far less than it was
    // allowed learns nothing about the targets), only on fresh news that the targets keep up, and
    // not while a target already works through a queue.
    const allowed = (this.current * since) / 1000;
    if (reading.kind !== "headroom" || used < allowed * 0.5 || !evidence) return undefined;
    return this.raise(now, reading.idle);
  }

  /**
   * After a cut, whether a slow probe shows a queue that still drains. The first probe over the limit
   * after a cut shows the queue the cut left (the load sent before it is still queued); only a later
   * probe, sent after it, tells whether that queue shrinks. A probe still out grows older by itself:
   * it is the same news until a later one comes. Remembers the probe it was given.
   */
  private draining(verdict: Verdict): boolean {
    const probe = verdict.probe;
    if (!probe || this.lastCut === -Infinity) return false;
    const before = this.overLimit;
    if (before && probe.sentAt !== before.sentAt && probe.ms >= before.ms) return false;
    this.overLimit = before && probe.sentAt === before.sentAt ? { sentAt: probe.sentAt, ms: Math.max(before.ms, probe.ms) } : probe;
    return true;
  }

  /** Whether something was heard from the targets since `from`; true when no signal is configured at all. */
  private evidence(from: number): boolean {
    const freshProbe = [...this.probes.values()].some((state) => state.fresh && state.latest?.ok);
    const freshAppearance = this.appearances.some((a) => a.at >= from);
    if (this.options.tracksAppearance) return freshProbe || freshAppearance;
    return freshProbe || this.probes.size === 0;
  }

  private read(now: number): Reading {
    let busy = false;
    let idle = this.probes.size > 0;
    for (const [target, state] of this.probes) {
      const latest = state.latest;
      if (state.fresh && latest && !latest.ok) return { kind: "problem", verdict: this.probeFailed(target, latest.reason) };
      if (!latest || !Number.isFinite(state.best)) continue;
      const limit = Math.max(state.best * this.options.probeFactor, state.best + this.options.probeSlackMs);
      // Only probes sent after the last cut tell how the target takes the rate since. One still out
      // for longer than the limit counts with its age so far (a lower bound of its latency).
      const samples: ProbeSample[] = state.recent.filter((sample) => sample.sentAt >= this.lastCut).map((sample) => ({ ...sample, answered: true }));
      const out = state.outSince !== undefined && state.outSince >= this.lastCut ? now - state.outSince : 0;
      if (out > limit) samples.push({ sentAt: state.outSince as number, ms: out, answered: false });
      else if (!state.fresh) continue;
      const judged = samples.slice(-this.options.probeSamples);
      if (judged.length === 0) {
        busy = true; // news from before the cut only: hold until the target answers for the rate since
        continue;
      }
      const lowest = judged.reduce((low, sample) => (sample.ms < low.ms ? sample : low));
      const newest = judged.at(-1) as ProbeSample;
      if (lowest.ms > limit) return { kind: "problem", verdict: this.probeSlow(target, limit, lowest, newest, state.best, judged.length > 1 ? judged[0] : undefined) };
      const holdAt = state.best + (limit - state.best) / 4;
      if (newest.ms > holdAt) busy = true;
      // in the hold band and still growing: the rate is over what the target absorbs; ease off before the limit, by
      // the mildest cut (two answers 250 ms apart in the band say too little to size a deeper one: past the limit the
      // cut by the queue's growth takes over)
      const previous = judged.at(-2);
      if (previous && lowest.ms > holdAt && newest.ms > previous.ms) {
        const reason = `login probe to ${target} grows: ${fmt(previous.ms)} → ${fmt(newest.ms)} ms (best ${fmt(state.best)} ms)`;
        return { kind: "problem", verdict: { cause: "probe-latency", reason, factor: MILDEST_CUT, probe: { sentAt: newest.sentAt, ms: newest.ms } } };
      }
      if (judged.some((sample) => sample.ms > state.best + (limit - state.best) / 8)) idle = false;
    }
    const appearance = this.appearanceProblem();
    if (appearance) return { kind: "problem", verdict: appearance };
    return busy ? { kind: "busy" } : { kind: "headroom", idle };
  }

  private probeFailed(target: string, reason: string): Verdict {
    return { cause: "probe-failed", reason: `login probe to ${target} failed: ${reason}`, factor: this.options.cutFactor };
  }

  /** `lowest` of the last answers sets the cut and the reason; the `newest` tells whether the queue still grows. */
  private probeSlow(target: string, limit: number, lowest: ProbeSample, newest: ProbeSample, best: number, oldest?: ProbeSample): Verdict {
    const factor = this.cutFactor(limit / lowest.ms, oldest, newest);
    const verb = lowest.answered ? "took" : "has not answered in";
    return { cause: "probe-latency", reason: `login probe to ${target} ${verb} ${fmt(lowest.ms)} ms (best ${fmt(best)} ms)`, factor, probe: { sentAt: newest.sentAt, ms: newest.ms } };
  }

  /**
   * How deep to cut: `byLatency`, or deeper when two probes show how fast the queue grows. A login queue whose wait
   * grows by g ms per ms fills at (rate − capacity) / capacity = g, so the target absorbs rate / (1 + g); the cut goes
   * a tenth under that, so the queue drains. Between the deepest cut and the mildest.
   */
  private cutFactor(byLatency: number, older: ProbeSample | undefined, newer: ProbeSample): number {
    let factor = byLatency;
    if (older && newer.sentAt > older.sentAt && newer.ms > older.ms) {
      const growth = (newer.ms - older.ms) / (newer.sentAt - older.sentAt);
      factor = Math.min(factor, DRAIN / (1 + growth));
    }
    return Math.max(this.options.cutFactor, Math.min(MILDEST_CUT, factor));
  }

  private appearanceProblem(): Verdict | undefined {
    if (!this.options.tracksAppearance) return undefined;
    const factor = this.options.cutFactor;
    const p90 = percentile(
      this.appearances.map((a) => a.ms),
      0.9,
    );
    if (p90 !== undefined && p90 > this.options.appearanceBudgetMs) {
      return { cause: "appearance-latency", reason: `moved sessions take ${fmt(p90)} ms (p90) to appear on their target`, factor };
    }
    // Little's law: at a rate the targets keep up with, about rate × budget users are on their way.
    const expected = (this.current * this.options.appearanceBudgetMs) / 1000;
    const notBack = this.notBack;
    if (notBack > Math.max(expected, 10)) {
      return { cause: "not-back", reason: `${notBack} moved users not back yet (more than ${fmt(this.options.appearanceBudgetMs / 1000)} s of sending)`, factor };
    }
    return undefined;
  }

  private cut(now: number, why: Verdict): AutoRateEvent | undefined {
    const previous = this.current;
    this.current = Math.max(this.options.minRate, previous * why.factor);
    this.phase = "steady";
    this.lastCut = now;
    this.overLimit = undefined;
    if (this.current === previous) return undefined;
    return this.emit({ rate: this.current, previous, change: "cut", cause: why.cause, reason: why.reason, at: now });
  }

  /** `idle`: the probes show no queue at all (the target waits for logins): growing by steps would leave it idle. */
  private raise(now: number, idle: boolean): AutoRateEvent | undefined {
    const previous = this.current;
    const grown = this.phase === "start" || idle ? previous * this.options.startFactor : previous + Math.max(1, previous * this.options.stepFraction);
    this.current = Math.min(this.options.maxRate, grown);
    if (this.current === previous) return undefined;
    const capped = this.current === this.options.maxRate;
    return this.emit({
      rate: this.current,
      previous,
      change: "raise",
      cause: capped ? "max-rate" : "targets-keep-up",
      reason: capped ? `at --max-rate ${fmt(this.current)}/s` : `targets keep up: ${fmt(previous)}/s → ${fmt(this.current)}/s`,
      at: now,
    });
  }

  private dropOldAppearances(now: number): void {
    const oldest = now - this.options.windowMs;
    let drop = 0;
    while (drop < this.appearances.length && (this.appearances[drop] as { at: number }).at < oldest) drop++;
    this.appearances.splice(0, drop);
  }

  private emit(fields: Omit<AutoRateEvent, "event">): AutoRateEvent {
    const event: AutoRateEvent = { event: "rate", ...fields };
    for (const listener of this.listeners) listener(event);
    return event;
  }
}

function percentile(values: number[], p: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

const fmt = (n: number): string => (Number.isInteger(n) ? String(n) : n.toFixed(1));

function checkOptions(o: AutoRateOptions): AutoRateOptions {
  const positive = (value: number, field: string) => {
    if (!(value > 0) || Number.isNaN(value)) throw new InputError(field, `must be a number > 0 (got ${String(value)})`);
  };
  positive(o.startRate, "auto-rate startRate");
  positive(o.minRate, "auto-rate minRate");
  positive(o.maxRate, "--max-rate");
  positive(o.intervalMs, "auto-rate intervalMs");
  positive(o.appearanceBudgetMs, "auto-rate appearanceBudgetMs");
  positive(o.windowMs, "auto-rate windowMs");
  if (o.maxRate < o.minRate) throw new InputError("--max-rate", `must be at least the minimum rate ${o.minRate}/s (got ${o.maxRate})`);
  if (!(o.startFactor > 1)) throw new InputError("auto-rate startFactor", "must be > 1");
  if (!(o.stepFraction > 0)) throw new InputError("auto-rate stepFraction", "must be > 0");
  if (!(o.cutFactor > 0 && o.cutFactor < 1)) throw new InputError("auto-rate cutFactor", "must be between 0 and 1");
  if (!(o.probeFactor >= 1) || !(o.probeSlackMs >= 0)) throw new InputError("auto-rate probeFactor", "probeFactor ≥ 1 and probeSlackMs ≥ 0");
  if (!(o.coolDownMs >= 0)) throw new InputError("auto-rate coolDownMs", "must be ≥ 0");
  if (!(Number.isInteger(o.probeSamples) && o.probeSamples >= 1)) throw new InputError("auto-rate probeSamples", "must be a whole number ≥ 1");
  return { ...o, startRate: Math.max(o.minRate, o.startRate) };
}
