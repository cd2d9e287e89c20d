// A real `cxfr serve` process for specs: started on a free loopback port, talked to over HTTP,
// stopped by its PID (SIGTERM, or SIGKILL to simulate a crash).
import { spawn } from "node:child_process";
import { CXFR_BIN } from "./cli.ts";
import { freePort } from "./lab/index.ts";

export interface DaemonProcess {
  pid: number;
  url: string;
  token: string;
  /** Everything the daemon wrote to stdout (its JSON log lines) and stderr. */
  output(): string;
  /** Resolves with the exit code (or the signal name) when the process ends. */
  exited: Promise<number | string>;
  request(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; json: Record<string, unknown>; text: string }>;
  /** Follows GET /v1/jobs/:id/events (NDJSON) to its end. */
  events(id: string): Promise<Array<Record<string, unknown>>>;
  stop(signal?: NodeJS.Signals): Promise<number | string>;
}

const running = new Set<DaemonProcess>();

export async function startDaemon(env: NodeJS.ProcessEnv, options: { token?: string; port?: number; waitOnline?: boolean; config?: string } = {}): Promise<DaemonProcess> {
  const port = options.port ?? (await freePort());
  const token = options.token ?? "spec-token-0123456789";
  const child = spawn(process.execPath, [CXFR_BIN, ...(options.config !== undefined ? ["--config", options.config] : []), "serve", "--listen", `127.0.0.1:${port}`], { env: { ...env, CXFR_API_TOKEN: token }, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (c: Buffer) => (output += c.toString()));
  child.stderr.on("data", (c: Buffer) => (output += c.toString()));
  const exited = new Promise<number | string>((resolve) => child.on("exit", (code, signal) => resolve(code ?? String(signal))));
  const url = `http://127.0.0.1:${port}`;
  const request: DaemonProcess["request"] = async (method, path, body, headers = { authorization: `Bearer ${token}` }) => {
    const res = await fetch(`${url}${path}`, { method, headers: { ...headers, ...(body !== undefined ? { "content-type": "application/json" } : {}) }, ...(body !== undefined ? { body: typeof body === "string" ? body : JSON.stringify(body) } : {}) });
    const text = await res.text();
    let json: Record<string, unknown> = {};
    try {
      json = JSON.parse(text) as Record<string, unknown>;
    } catch {
      // not JSON (metrics text)
    }
    return { status: res.status, json, text };
  };
  const daemon: DaemonProcess = {
    pid: child.pid as number,
    url,
    token,
    output: () => output,
    exited,
    request,
    async events(id) {
      const res = await fetch(`${url}/v1/jobs/${id}/events`, { headers: { authorization: `Bearer ${token}` } });
      const text = await res.text();
      return text.split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l) as Record<string, unknown>);
    },
    async stop(signal = "SIGTERM") {
      running.delete(daemon);
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
  running.add(daemon);
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`cxfr serve exited ${child.exitCode}: ${output}`);
    const health = await fetch(`${url}/healthz`).then((r) => r.json() as Promise<{ nodes: Record<string, string> }>).catch(() => undefined);
    if (health && (options.waitOnline === false || Object.values(health.nodes).every((s) => s === "online"))) break;
    if (Date.now() > deadline) {
      await daemon.stop("SIGKILL");
      throw new Error(`cxfr serve did not come up: ${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return daemon;
}

/** Kills every daemon a spec left running (by PID). */
export async function stopAllDaemons(): Promise<void> {
  await Promise.all([...running].map((d) => d.stop("SIGKILL")));
}
