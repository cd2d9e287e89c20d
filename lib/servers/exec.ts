import { execFile } from "node:child_process";
import { ConnectError } from "../errors.ts";

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a program with an argument array (never through a shell); injected in specs to see the exact argv. */
export type ExecFileRunner = (file: string, args: string[], timeoutMs: number) => Promise<ExecResult>;

/** Resolves with the exit code and output; rejects only when the program cannot be started (ENOENT, EACCES …). */
export const runExecFile: ExecFileRunner = (file, args, timeoutMs) =>
  new Promise((resolve, reject) => {
    execFile(file, args, { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err && typeof err.code === "string") reject(new ConnectError(`${file}: ${err.code}`));
      else resolve({ code: err ? (typeof err.code === "number" ? err.code : -1) : 0, stdout: String(stdout), stderr: String(stderr) });
    });
  });
