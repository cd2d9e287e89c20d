import { createServer, connect } from "node:net";
import { mkdirSync, readFileSync, rmdirSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sleep } from "./processes.ts";

// Ports handed out by this process; never handed out twice, so parallel lab servers cannot collide.
const given = new Set<number>();

// `mocha --parallel` runs spec files in several processes. A port is free from the probe until the server binds it,
// and another process's probe may get the same one meanwhile: each port handed out is also claimed by a file that
// names this process, created only if absent. A claim whose process is gone is taken over.
const CLAIMS = join(tmpdir(), "cxfr-lab-ports");
const claimed: string[] = [];

function claim(port: number): boolean {
  mkdirSync(CLAIMS, { recursive: true });
  const file = join(CLAIMS, String(port));
  return createClaim(file) || takeOver(file);
}

/** Creates the claim file if it is absent: false when another process's claim (live or not) is there. */
function createClaim(file: string): boolean {
  try {
    writeFileSync(file, String(process.pid), { flag: "wx" });
  } catch {
    return false;
  }
  if (claimed.length === 0) process.once("exit", releaseClaims);
  claimed.push(file);
  return true;
}

/**
 * Takes over a claim whose process died, under a lock (a directory, made only if absent): two processes that both
 * read the dead pid would otherwise both remove the file and the second could remove the first one's new claim.
 * The one that does not get the lock skips the port.
 */
function takeOver(file: string): boolean {
  const lock = `${file}.lock`;
  try {
    mkdirSync(lock);
  } catch {
    return false;
  }
  try {
    if (holderAlive(file)) return false;
    try {
      unlinkSync(file);
    } catch {
      // removed meanwhile by its own process, on exit
    }
    return createClaim(file);
  } finally {
    rmdirSync(lock);
  }
}

function holderAlive(file: string): boolean {
  try {
    process.kill(Number(readFileSync(file, "utf8")), 0);
    return true;
  } catch (err) {
    // EPERM: alive, someone else's. A file still being written reads as pid 0, which signals this process's own group
    // and so counts as alive too; a file removed meanwhile (ENOENT) makes this port one to skip.
    return (err as NodeJS.ErrnoException).code !== "ESRCH";
  }
}

function releaseClaims(): void {
  for (const file of claimed.splice(0)) {
    try {
      unlinkSync(file);
    } catch {
      // already gone
    }
  }
  try {
    rmdirSync(CLAIMS); // only once no process holds a claim (ENOTEMPTY otherwise); the next claim makes it again
  } catch {
    // others still claim ports
  }
}

/** A currently free TCP port on 127.0.0.1 (bind to port 0, read it, close). */
export async function freePort(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const port = await new Promise<number>((resolve, reject) => {
      const srv = createServer();
      srv.unref();
      srv.once("error", reject);
      srv.listen({ host: "127.0.0.1", port: 0, exclusive: true }, () => {
        const addr = srv.address();
        const p = typeof addr === "object" && addr ? addr.port : 0;
        srv.close(() => resolve(p));
      });
    });
    if (port > 0 && !given.has(port) && claim(port)) {
      given.add(port);
      return port;
    }
  }
  throw new Error("freePort: no free port found on 127.0.0.1");
}

/** True if something accepts a TCP connection on 127.0.0.1:port. */
export function portOpen(port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ host: "127.0.0.1", port });
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      sock.removeAllListeners();
      sock.on("error", () => undefined);
      sock.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    sock.once("connect", () => done(true));
    sock.once("error", () => done(false));
  });
}

/**
 * Polls until every port accepts TCP. Rejects on timeout, or as soon as alive() says the server
 * process died (its message then carries the log tail from diagnose()).
 */
export async function waitForPorts(
  ports: number[],
  opts: { timeoutMs: number; alive: () => boolean; what: string; diagnose: () => string },
): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  let pending = [...ports];
  for (;;) {
    const open = await Promise.all(pending.map((p) => portOpen(p)));
    pending = pending.filter((_, i) => !open[i]);
    if (pending.length === 0) return;
    if (!opts.alive()) {
      throw new Error(`${opts.what} exited before listening on ${pending.join(", ")}\n${opts.diagnose()}`);
    }
    if (Date.now() > deadline) {
      throw new Error(`${opts.what} not listening on ${pending.join(", ")} after ${opts.timeoutMs} ms\n${opts.diagnose()}`);
    }
    await sleep(25);
  }
}
