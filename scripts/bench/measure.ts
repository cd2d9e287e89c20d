// Runs a command under GNU time: wall time, peak RSS and CPU seconds of the process (and its children).
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface Measured {
  code: number | null;
  stdout: string;
  stderr: string;
  /** wall time seen from here (ms) */
  wallMs: number;
  /** when it was spawned, performance.now() of this process */
  startedAt: number;
  /** the same moment, Date.now() (for the child's own timestamps) */
  startedWallAt: number;
  peakRssMb: number;
  cpuS: number;
}

export function measured(command: string, args: string[], env: NodeJS.ProcessEnv = process.env, onLine?: (line: string) => void): Promise<Measured> {
  const dir = mkdtempSync(join(tmpdir(), "cxfr-bench-time-"));
  const timeFile = join(dir, "time");
  const startedAt = performance.now();
  const startedWallAt = Date.now();
  const child = spawn("/usr/bin/time", ["-f", "%M %U %S", "-o", timeFile, command, ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  let partial = "";
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
    if (!onLine) return;
    partial += chunk.toString();
    const lines = partial.split("\n");
    partial = lines.pop() ?? "";
    for (const line of lines) onLine(line);
  });
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
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
      rmSync(dir, { recursive: true, force: true });
      resolve({ code, stdout, stderr, wallMs, startedAt, startedWallAt, peakRssMb, cpuS });
    });
  });
}
