// Runs a command under GNU time: wall time, peak RSS and CPU seconds of the process (and its children).
import { spawn } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** The environment that points cxfr at a lab node (secret included: lab only), with a journal of its own in the node's directory. */
export function cxfrEnv(node: { componentAddress: string; component: string; secret: string; domain: string; dir: string }, journal = "bench-cxfr.db"): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    CXFR_SERVER: node.componentAddress,
    CXFR_COMPONENT: node.component,
    CXFR_COMPONENT_SECRET: node.secret,
    CXFR_DOMAIN: node.domain,
    CXFR_JOURNAL: `${node.dir}/${journal}`,
  };
}

export interface Measured {
  code: number | null;
  stdout: string;
  stderr: string;
  /** wall time seen from here (ms) */
  wallMs: number;
  /** when it was spawned, performance.now() of this process */
  startedAt: number;
  /** when it was spawned, Date.now() (to compare with the `ts` of cxfr's JSON lines) */
  startedWall: number;
  peakRssMb: number;
  cpuS: number;
}

/**
 * stdout goes to a file, not a pipe read by this process: this process also runs thousands of benchmark
 * clients, and a pipe it is slow to read would block the measured command's writes (pipes are synchronous on
 * Linux). `onLine` sees each stdout line after the command ended; cxfr's lines carry their own `ts`.
 */
export function measured(command: string, args: string[], env: NodeJS.ProcessEnv = process.env, onLine?: (line: string) => void): Promise<Measured> {
  const dir = mkdtempSync(join(tmpdir(), "cxfr-bench-time-"));
  const timeFile = join(dir, "time");
  const stdoutFile = join(dir, "stdout");
  const stdoutFd = openSync(stdoutFile, "w");
  const startedAt = performance.now();
  const startedWall = Date.now();
  const child = spawn("/usr/bin/time", ["-f", "%M %U %S", "-o", timeFile, command, ...args], { env, stdio: ["ignore", stdoutFd, "pipe"] });
  closeSync(stdoutFd);
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code) => {
      const wallMs = performance.now() - startedAt;
      let peakRssMb = NaN;
      let cpuS = NaN;
      try {
        const last = readFileSync(timeFile, "utf8").trim().split("\n").at(-1) ?? "";
        const [rss, user, sys] = last.split(" ").map(Number);
        peakRssMb = (rss as number) / 1024;
        cpuS = (user as number) + (sys as number);
      } catch {
        // time wrote nothing (command not found): leave NaN
      }
      const stdout = readFileSync(stdoutFile, "utf8");
      rmSync(dir, { recursive: true, force: true });
      if (onLine) for (const line of stdout.split("\n")) if (line) onLine(line);
      resolve({ code, stdout, stderr, wallMs, startedAt, startedWall, peakRssMb, cpuS });
    });
  });
}
