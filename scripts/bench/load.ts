// The load generator: N raw sessions logged in to a lab node within seconds, and what happened to
// each of them afterwards (timestamps, see raw-client.ts).
import { RawSession, type Behaviour, type Endpoint } from "./raw-client.ts";

export interface LoadOptions {
  source: Endpoint;
  /** where plain clients reconnect to */
  target: Endpoint;
  behaviour: Behaviour;
  users: Array<{ user: string; password: string }>;
  /** logins in progress at once */
  concurrency?: number;
  /** plain clients' first reconnect delay: uniform in [min, max] ms */
  backoff?: { minMs: number; maxMs: number };
  /**
   * Whether every client learns the target's SCRAM salt before the move (default true): the clients then log in to
   * the target as returning clients do, deriving no key, so the load generator's PBKDF2 does not take the CPU the
   * nodes and cxfr are measured on.
   */
  returning?: boolean;
  /**
   * Users whose SCRAM salt on this target instance this process has learned in an earlier load (the caller keeps one
   * set per target node it started): they are not asked again, and the users learned now are added. The salt only
   * changes with the password, and the SaltedPassword is kept (scram.ts), so a second ask adds nothing but N
   * connections and SASL starts to the target (≈5 s at 1,000 on Prosody) before every timed run.
   */
  knownSalts?: Set<string>;
}

export interface Load {
  /** the sessions that logged in (those that did not are left out, see loginFailures) */
  sessions: RawSession[];
  loginFailures: number;
  firstLoginError: string;
  /** ms from the first login to the last one bound */
  loginMs: number;
  /** resolves when every session reached the target or gave up, or after timeoutMs */
  settled(timeoutMs: number): Promise<boolean>;
  stop(): void;
}

export async function startLoad(o: LoadOptions): Promise<Load> {
  const backoff = o.backoff ?? { minMs: 500, maxMs: 3000 };
  const sessions = o.users.map(
    (u, i) =>
      new RawSession({
        ...u,
        resource: `bench${i}`,
        behaviour: o.behaviour,
        target: o.target,
        backoffMs: () => backoff.minMs + Math.random() * (backoff.maxMs - backoff.minMs),
      }),
  );
  const started = performance.now();
  let next = 0;
  const failed = new Set<RawSession>();
  let firstLoginError = "";
  const worker = async (): Promise<void> => {
    while (next < sessions.length) {
      const s = sessions[next++] as RawSession;
      try {
        await s.loginSource(o.source);
      } catch (err) {
        // a loaded machine times some logins out: measure with the sessions that made it
        failed.add(s);
        s.stop();
        firstLoginError ||= (err as Error).message;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(o.concurrency ?? 200, sessions.length) }, worker));
  const loginMs = performance.now() - started;
  if (failed.size === sessions.length) throw new Error(`no session could log in: ${firstLoginError}`);
  const online = sessions.filter((s) => !failed.has(s));
  if (o.returning ?? o.behaviour !== "refuse") await learnSalts(online, o.target, o.knownSalts, o.concurrency);
  return tracked(online, { loginFailures: failed.size, firstLoginError, loginMs });
}

/**
 * Each client learns its SCRAM salt on `target` (see LoadOptions.returning), except the users in `knownSalts`; the
 * users learned now are added to it. A client that cannot learn it now derives the key at its move, as a first-time
 * client would.
 */
export async function learnSalts(sessions: RawSession[], target: Endpoint, knownSalts?: Set<string>, concurrency = 200): Promise<void> {
  const unknown = sessions.filter((s) => !knownSalts?.has(s.o.user));
  let next = 0;
  const learner = async (): Promise<void> => {
    while (next < unknown.length) {
      const session = unknown[next++] as RawSession;
      const learned = await session.learnTargetSalt(target).then(
        () => true,
        () => false,
      );
      if (learned) knownSalts?.add(session.o.user);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, unknown.length) }, learner));
}

/**
 * The next turn of a moving load, without logging in again: the clients that reached their target take the next
 * transfer packet there (RawSession.rearm). Those that did not are stopped and left out, as failed logins are.
 */
export function returnLoad(load: Load): Load {
  const back: RawSession[] = [];
  for (const s of load.sessions) {
    if (s.rearm()) back.push(s);
    else s.stop();
  }
  return tracked(back, { loginFailures: load.sessions.length - back.length, firstLoginError: back.length < load.sessions.length ? "not on the target after the last turn" : "", loginMs: 0 });
}

function tracked(online: RawSession[], logins: Pick<Load, "loginFailures" | "firstLoginError" | "loginMs">): Load {
  let pending = online.length;
  const waiters: Array<() => void> = [];
  for (const s of online)
    s.onSettled(() => {
      if (--pending === 0) for (const w of waiters.splice(0)) w();
    });
  return {
    sessions: online,
    ...logins,
    settled: (timeoutMs) =>
      new Promise<boolean>((resolve) => {
        if (pending === 0) return resolve(true);
        const timer = setTimeout(() => resolve(false), timeoutMs);
        waiters.push(() => {
          clearTimeout(timer);
          resolve(true);
        });
      }),
    stop: () => {
      for (const s of online) s.stop();
    },
  };
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] as number;
}

/** The median of the known values (undefined ones, e.g. rounds whose rate could not be measured, are left out); of an even count, the mean of the middle two. */
export function median(values: Array<number | undefined>): number | undefined {
  const known = values.filter((v): v is number => v !== undefined).sort((x, y) => x - y);
  if (known.length === 0) return undefined;
  const middle = known.length / 2;
  return round(Number.isInteger(middle) ? ((known[middle - 1] as number) + (known[middle] as number)) / 2 : (known[Math.floor(middle)] as number), 3);
}

/**
 * Arrivals per second: over all of them (first to last), and over the central 90% (5th to 95th percentile), which a
 * single straggler (a GC pause of a node or of this process, a scheduling hiccup on two shared cores) cannot decide.
 */
export function arrivalRates(times: number[]): { all?: number; central?: number } {
  if (times.length < 2) return {};
  const sorted = [...times].sort((a, b) => a - b);
  const rate = (from: number, to: number) => {
    const span = (sorted[to] as number) - (sorted[from] as number);
    return span > 0 ? ((to - from) / span) * 1000 : undefined;
  };
  const all = rate(0, sorted.length - 1);
  const central = rate(Math.floor(0.05 * (sorted.length - 1)), Math.ceil(0.95 * (sorted.length - 1)));
  return { ...(all !== undefined ? { all: round(all) } : {}), ...(central !== undefined ? { central: round(central) } : {}) };
}

/** Refusing clients (raw-client.ts): forgets the packets they got, before a turn of packets. */
export function clearPackets(load: Load): void {
  for (const s of load.sessions) s.times.packets = [];
}

/**
 * Refusing clients: waits up to timeoutMs for every client's packet since clearPackets. The packets/s of their first
 * arrivals (central 90%), the time from the first to the last, and how many clients got none.
 */
export async function refusedArrivals(load: Load, timeoutMs: number): Promise<{ central?: number; firstToLastMs: number; missing: number }> {
  const firsts = () => load.sessions.flatMap((s) => (s.times.packets?.length ? [s.times.packets[0] as number] : []));
  for (let waited = 0; firsts().length < load.sessions.length && waited < timeoutMs; waited += 100) await new Promise((resolve) => setTimeout(resolve, 100));
  const packets = firsts();
  return { central: arrivalRates(packets).central, firstToLastMs: round(Math.max(...packets) - Math.min(...packets)), missing: load.sessions.length - packets.length };
}

/** Most events in any one-second bucket. */
export function peakPerSecond(times: number[]): number {
  const buckets = new Map<number, number>();
  for (const t of times) buckets.set(Math.floor(t / 1000), (buckets.get(Math.floor(t / 1000)) ?? 0) + 1);
  return Math.max(0, ...buckets.values());
}

export interface StormStats {
  reached: number;
  failed: number;
  /** target login latency, client side: connect → bound (ms) */
  p50: number;
  p95: number;
  max: number;
  /** most target logins completed in one second */
  peakLoginsPerSecond: number;
  /** from the first departure to the last session back on the target (ms) */
  spanMs: number;
}

export function stormStats(sessions: RawSession[]): StormStats {
  const reached = sessions.filter((s) => s.times.targetOnline !== undefined);
  const latency = reached.map((s) => (s.times.targetOnline as number) - (s.times.targetStart as number));
  const firstLeft = Math.min(...sessions.map((s) => s.times.leftAt ?? Infinity));
  const lastBack = Math.max(...reached.map((s) => s.times.targetOnline as number));
  return {
    reached: reached.length,
    failed: sessions.filter((s) => s.state === "failed").length,
    p50: round(percentile(latency, 0.5)),
    p95: round(percentile(latency, 0.95)),
    max: round(Math.max(...latency)),
    peakLoginsPerSecond: peakPerSecond(reached.map((s) => s.times.targetOnline as number)),
    spanMs: round(lastBack - firstLeft),
  };
}

export const round = (n: number, digits = 0): number => (Number.isFinite(n) ? Number(n.toFixed(digits)) : n);
