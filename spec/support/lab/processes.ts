// Every process the lab starts is tracked here, by PID plus its /proc start time (so a reused PID
// is never signalled), and killed by PID: on stop(), in stopAllLabProcesses(), and synchronously on
// process exit / SIGINT / SIGTERM so that a crashed test run never leaves servers behind.
import { readFileSync, readdirSync, rmSync } from "node:fs";

export interface ProcRef {
  pid: number;
  start: string; // field 22 of /proc/<pid>/stat; "" if unknown
}

interface ProcStat {
  ppid: number;
  state: string;
  start: string;
  comm: string;
  /** utime + stime (fields 14 and 15): CPU time so far in clock ticks (USER_HZ), its threads included */
  cpuTicks: number;
}

function readStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  // "pid (comm) state ppid ..." — comm may contain spaces and parentheses: split at the last ')'
  const close = text.lastIndexOf(")");
  const comm = text.slice(text.indexOf("(") + 1, close);
  const rest = text.slice(close + 2).split(" ");
  return { state: rest[0] ?? "", ppid: Number(rest[1]), start: rest[19] ?? "", comm, cpuTicks: Number(rest[11]) + Number(rest[12]) };
}

const TICKS_PER_SECOND = 100; // USER_HZ: the unit of utime/stime in /proc/<pid>/stat on Linux

/** CPU seconds used so far by pid (its threads included), or undefined once it is gone. */
export function cpuSeconds(pid: number): number | undefined {
  const st = readStat(pid);
  return st ? st.cpuTicks / TICKS_PER_SECOND : undefined;
}

export function procRef(pid: number): ProcRef {
  return { pid, start: readStat(pid)?.start ?? "" };
}

/** True while the process exists, is not a zombie and is still the one we recorded. */
export function isAlive(ref: ProcRef | number): boolean {
  const r = typeof ref === "number" ? { pid: ref, start: "" } : ref;
  const st = readStat(r.pid);
  if (!st || st.state === "Z" || st.state === "X") return false;
  return r.start === "" || st.start === r.start;
}

/** All live descendants of pid (children first), from one scan of /proc. */
export function descendants(pid: number): ProcRef[] {
  const children = new Map<number, Array<{ pid: number; st: ProcStat }>>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const p = Number(name);
    const st = readStat(p);
    if (!st || st.state === "Z") continue;
    const list = children.get(st.ppid) ?? [];
    list.push({ pid: p, st });
    children.set(st.ppid, list);
  }
  const out: ProcRef[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const cur = queue.shift() as number;
    for (const c of children.get(cur) ?? []) {
      out.push({ pid: c.pid, start: c.st.start });
      queue.push(c.pid);
    }
  }
  return out;
}

/** The first descendant of pid whose command name is comm (e.g. "beam.smp"). */
export function findDescendant(pid: number, comm: string): ProcRef | undefined {
  return descendants(pid).find((r) => readStat(r.pid)?.comm === comm);
}

export function signal(ref: ProcRef, sig: NodeJS.Signals): void {
  if (!isAlive(ref)) return;
  try {
    process.kill(ref.pid, sig);
  } catch {
    // already gone
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until none of refs is alive; false on timeout. */
export async function waitGone(refs: ProcRef[], timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!refs.some(isAlive)) return true;
    if (Date.now() > deadline) return false;
    await sleep(20);
  }
}

/** What the exit handler needs to clean one lab server up without awaiting anything. */
export interface Tracked {
  /** every process of this server that may still be running (server, wrapper, helpers) */
  procs(): ProcRef[];
  /** stop gracefully (async); used by stopAllLabProcesses */
  stop(): Promise<void>;
  /** private directory removed on exit */
  dir: string;
}

const tracked = new Set<Tracked>();
let handlersInstalled = false;

export function track(t: Tracked): void {
  tracked.add(t);
  installExitHandlers();
}

export function untrack(t: Tracked): void {
  tracked.delete(t);
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** SIGKILL everything synchronously: for process exit, where nothing can be awaited. */
export function killAllSync(): void {
  const all: ProcRef[] = [];
  for (const t of tracked) {
    const refs = t.procs();
    all.push(...refs, ...refs.flatMap((r) => (isAlive(r) ? descendants(r.pid) : [])));
  }
  for (const r of all) signal(r, "SIGKILL");
  // a killed process may still write for a moment: wait (max 2 s) before removing its dir
  for (let n = 0; n < 100 && all.some(isAlive); n++) sleepSync(20);
  for (const t of tracked) {
    try {
      rmSync(t.dir, { recursive: true, force: true, maxRetries: 3 });
    } catch {
      // best effort
    }
  }
  tracked.clear();
}

export async function stopAllTracked(): Promise<void> {
  const all = [...tracked];
  await Promise.all(all.map((t) => t.stop().catch(() => undefined)));
  killAllSync(); // anything a failed stop left behind
}

function installExitHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on("exit", killAllSync);
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.once(sig, () => {
      killAllSync();
      process.exit(sig === "SIGINT" ? 130 : 143);
    });
  }
}
