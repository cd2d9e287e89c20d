// Runs the real `bin/cxfr` executable as a child process, the way operators and cron do.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

export const CXFR_BIN = fileURLToPath(new URL("../../bin/cxfr", import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON lines (non-JSON lines are skipped). */
  events: Array<Record<string, unknown>>;
}

export interface CliRun {
  pid: number;
  /** Resolves when the process exits. */
  done: Promise<CliResult>;
  /** Lines of stdout as they arrive. */
  onLine(listener: (line: string) => void): void;
}

/** Environment for one lab node, configured the way DESIGN.md §3 documents it (CXFR_*). */
export function nodeEnv(server: { componentAddress: string; component: string; secret: string; domain: string }, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME };
  env.CXFR_SERVER = server.componentAddress;
  env.CXFR_COMPONENT = server.component;
  env.CXFR_COMPONENT_SECRET = server.secret;
  env.CXFR_DOMAIN = server.domain;
  return { ...env, ...extra };
}

export function startCli(args: string[], env: NodeJS.ProcessEnv = { PATH: process.env.PATH }): CliRun {
  const child = spawn(process.execPath, [CXFR_BIN, ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  let partial = "";
  const listeners: Array<(line: string) => void> = [];
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
    partial += chunk.toString();
    const lines = partial.split("\n");
    partial = lines.pop() ?? "";
    for (const line of lines) for (const l of listeners) l(line);
  });
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const done = new Promise<CliResult>((resolve) => {
    child.on("close", (code) => resolve({ code, stdout, stderr, events: jsonLines(stdout) }));
  });
  return { pid: child.pid as number, done, onLine: (l) => listeners.push(l) };
}

export function runCli(args: string[], env?: NodeJS.ProcessEnv): Promise<CliResult> {
  return startCli(args, env).done;
}

function jsonLines(text: string): Array<Record<string, unknown>> {
  const events: Array<Record<string, unknown>> = [];
  for (const line of text.split("\n")) {
    if (!line.startsWith("{")) continue;
    try {
      events.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // not an event line
    }
  }
  return events;
}

/** Starts cxfr and kills it with SIGKILL at its first `sent` event (a crash mid-job); resolves with that job's id. */
export async function killAtFirstPacket(args: string[], env?: NodeJS.ProcessEnv): Promise<string> {
  const run = startCli(args, env);
  let job = "";
  run.onLine((line) => {
    if (!job && line.includes('"event":"sent"')) {
      job = String((JSON.parse(line) as { job: string }).job);
      process.kill(run.pid, "SIGKILL");
    }
  });
  await run.done;
  return job;
}
