// A real slixmpp client that follows redirects and reconnects (see roaming.py): its events, timestamped, for
// specs that watch what the client does after a method acted on its session. Stopped by PID.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const SCRIPT = fileURLToPath(new URL("./roaming.py", import.meta.url));

export interface RoamingEvent {
  at: number;
  /** first word: online, sm-enabled, resumed, stream-error, disconnected, message */
  kind: string;
  args: string[];
}

export interface RoamingClient {
  pid: number;
  jid: string;
  events: RoamingEvent[];
  /** The first event after index `from` of this kind (or kinds, or matching), or a rejection after timeoutMs. */
  next(kind: Match, from: number, timeoutMs?: number): Promise<RoamingEvent>;
  stop(): Promise<void>;
}

type Match = string | string[] | ((event: RoamingEvent) => boolean);

function matches(kind: Match, event: RoamingEvent): boolean {
  if (typeof kind === "function") return kind(event);
  return Array.isArray(kind) ? kind.includes(event.kind) : event.kind === kind;
}

export interface RoamingOptions {
  sm?: boolean;
  presenceTo?: string;
  /** Reconnect here after a lost connection ("127.0.0.1:PORT"), as a load balancer that moved on would. */
  then?: string;
}

export async function startRoaming(server: { host: string; c2sPort: number }, jid: string, password: string, options: RoamingOptions = {}): Promise<RoamingClient> {
  const args = [SCRIPT, server.host, String(server.c2sPort), jid, password, ...(options.sm ? ["--sm"] : []), ...(options.presenceTo ? ["--presence-to", options.presenceTo] : []), ...(options.then ? ["--then", options.then] : [])];
  const child = spawn("/usr/bin/python3", args, { stdio: ["ignore", "pipe", "pipe"] });
  const events: RoamingEvent[] = [];
  const waiters = new Set<() => void>();
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  let buffered = "";
  child.stdout.on("data", (d: Buffer) => {
    buffered += d.toString();
    const lines = buffered.split("\n");
    buffered = lines.pop() ?? "";
    for (const line of lines) {
      const [kind = "", ...rest] = line.split(" ");
      events.push({ at: performance.now(), kind, args: rest });
    }
    for (const wake of waiters) wake();
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  };
  const next = (kind: Match, from: number, timeoutMs = 15_000) =>
    new Promise<RoamingEvent>((resolve, reject) => {
      const check = () => {
        const found = events.slice(from).find((e) => matches(kind, e));
        if (!found) return;
        done();
        resolve(found);
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`slixmpp ${jid}: no "${typeof kind === "function" ? "matching event" : String(kind)}" within ${timeoutMs} ms; events: ${events.map((e) => e.kind).join(",")}; ${stderr.trim().split("\n").at(-1) ?? ""}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        waiters.delete(check);
      };
      waiters.add(check);
      check();
    });
  const client: RoamingClient = { pid: child.pid as number, jid, events, next, stop };
  try {
    const online = await next("online", 0);
    client.jid = online.args[0] ?? jid;
    return client;
  } catch (err) {
    await stop();
    throw err;
  }
}
