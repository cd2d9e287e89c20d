import { readFileSync } from "node:fs";
import { hostname } from "node:os";

/** The process that runs a job and holds its nodes. */
export interface Holder {
  pid: number;
  /** Field 22 of /proc/PID/stat (start time in clock ticks since boot): a PID reused later is not the holder. */
  start: string;
  host: string;
  kind: "cli" | "daemon";
}

/** How long a holder on another host counts as alive after its last renewal. */
export const LEASE_MS = 30_000;

export function processStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // "pid (comm) state ppid …": comm may hold spaces and parentheses, so split after the last ')'
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return fields[0] === "Z" || fields[0] === "X" ? undefined : fields[19];
  } catch {
    return undefined;
  }
}

export function currentHolder(kind: Holder["kind"]): Holder {
  return { pid: process.pid, start: processStart(process.pid) ?? "", host: hostname(), kind };
}

/**
 * Whether a recorded holder still runs. On this host the PID and its start time decide (a holder killed
 * with kill -9 is dead at once); a holder on another host is trusted until its lease runs out.
 */
export function holderAlive(holder: Omit<Holder, "kind">, leaseUntil: number | null, now = Date.now()): boolean {
  if (holder.host === hostname()) return processStart(holder.pid) === holder.start;
  return leaseUntil !== null && leaseUntil > now;
}
