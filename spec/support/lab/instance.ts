// One lab server instance, whatever its kind: ports, private dir, start/stop/restart by PID,
// registration and log tails. The kind-specific parts (config, launch) are a Backend.
import type { ChildProcess } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { basename, join } from "node:path";
import { registerUsers } from "./admin.ts";
import { descendants, isAlive, signal, track, untrack, waitGone, type ProcRef, type Tracked } from "./processes.ts";

export type ServerKind = "prosody" | "ejabberd";

export interface LabUser {
  user: string;
  password: string;
}

export interface LabServer {
  kind: ServerKind;
  name: string;
  domain: string;
  component: string;
  secret: string;
  host: "127.0.0.1";
  c2sPort: number;
  componentPort: number;
  componentAddress: string;
  c2sAddress: string;
  pid: number;
  dir: string;
  /** Prosody: mod_admin_shell's socket (data_path/prosody.sock). */
  adminSocket?: string;
  /** ejabberd: how to run ejabberdctl against this instance (cxfr's node config `ejabberdctl`). */
  ejabberdctl?: { path: string; node: string; configDir: string };
  register(users: LabUser[]): Promise<void>;
  stop(): Promise<void>;
  restart(): Promise<void>;
  logTail(lines?: number): string;
}

/** Everything a backend needs to write its config and start. */
export interface Instance {
  kind: ServerKind;
  name: string;
  domain: string;
  component: string;
  secret: string;
  componentIsAdmin: boolean;
  /** bare JIDs of c2s accounts that are server admins */
  adminUsers: string[];
  allowDomainFrom: boolean;
  /** Prosody: load mod_smacks */
  smacks: boolean;
  c2sPort: number;
  componentPort: number;
  /** port of the lab-only admin component (Prosody: the component port; ejabberd: its own listener) */
  adminPort: number;
  adminSecret: string;
  /** ejabberd only: Erlang distribution port (no epmd) */
  distPort: number;
  /** ejabberd only: Erlang node name, unique per instance */
  node: string;
  /** ejabberd only: loopback address the Erlang distribution binds to (default 127.0.0.1; a cluster gives each member its own) */
  distInterface?: string;
  cookie: string;
  dir: string;
  logTail(lines?: number): string;
}

export interface Launch {
  /** the process we spawned */
  wrapper: ProcRef;
  /** the server process itself, signalled to stop (Prosody: = wrapper; ejabberd: beam.smp) */
  server: ProcRef;
  child: ChildProcess;
}

export interface Backend {
  prepare(i: Instance): Promise<void>;
  /** spawns and waits until ready; calls spawned() at once so a failed start can still be stopped */
  launch(i: Instance, spawned: (l: Launch) => void): Promise<Launch>;
  logFiles(i: Instance): string[];
}

const STOP_TIMEOUT_MS = 10_000;

function tailOf(file: string, lines: number): string {
  if (!existsSync(file)) return "";
  const all = readFileSync(file, "utf8").split("\n");
  if (all.at(-1) === "") all.pop();
  return all.slice(-lines).join("\n");
}

export function logTail(backend: Backend, i: Instance, lines = 50): string {
  return backend
    .logFiles(i)
    .map((f) => ({ f, t: tailOf(f, lines) }))
    .filter((x) => x.t !== "")
    .map((x) => `--- ${basename(x.f)} (${i.kind} ${i.name}) ---\n${x.t}`)
    .join("\n");
}

/** Stops one launch: SIGTERM to the server, SIGKILL to the whole tree after the timeout. */
async function stopLaunch(l: Launch): Promise<void> {
  const tree = [l.wrapper, ...(isAlive(l.wrapper) ? descendants(l.wrapper.pid) : [])];
  if (!tree.some((r) => r.pid === l.server.pid)) tree.push(l.server);
  signal(l.server, "SIGTERM");
  if (!(await waitGone([l.server], STOP_TIMEOUT_MS))) {
    for (const r of tree) signal(r, "SIGKILL");
  }
  // the wrapper (ejabberdctl, su, sh) and helpers (erl_child_setup, eimp) follow the server out
  if (!(await waitGone(tree, 3_000))) {
    for (const r of tree) signal(r, "SIGKILL");
    await waitGone(tree, 2_000);
  }
  // let Node reap the process it spawned, so no zombie is left behind
  const c = l.child;
  if (c.exitCode === null && c.signalCode === null) {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 2_000);
      c.once("exit", () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}

export class ServerHandle implements LabServer {
  readonly host = "127.0.0.1" as const;
  private launch: Launch | undefined;
  private lastPid = 0;
  private stopping: Promise<void> | undefined;
  private registering: Promise<void> = Promise.resolve();
  private readonly tracked: Tracked;

  constructor(
    private readonly backend: Backend,
    private readonly inst: Instance,
  ) {
    this.tracked = {
      dir: inst.dir,
      procs: () => (this.launch ? [this.launch.wrapper, this.launch.server] : []),
      stop: () => this.stop(),
    };
  }

  get kind(): ServerKind {
    return this.inst.kind;
  }
  get name(): string {
    return this.inst.name;
  }
  get domain(): string {
    return this.inst.domain;
  }
  get component(): string {
    return this.inst.component;
  }
  get secret(): string {
    return this.inst.secret;
  }
  get c2sPort(): number {
    return this.inst.c2sPort;
  }
  get componentPort(): number {
    return this.inst.componentPort;
  }
  get componentAddress(): string {
    return `127.0.0.1:${this.inst.componentPort}`;
  }
  get c2sAddress(): string {
    return `127.0.0.1:${this.inst.c2sPort}`;
  }
  get dir(): string {
    return this.inst.dir;
  }
  get adminSocket(): string | undefined {
    return this.inst.kind === "prosody" ? join(this.inst.dir, "data", "prosody.sock") : undefined;
  }
  get ejabberdctl(): { path: string; node: string; configDir: string } | undefined {
    return this.inst.kind === "ejabberd" ? { path: "/usr/sbin/ejabberdctl", node: this.inst.node, configDir: join(this.inst.dir, "conf") } : undefined;
  }
  /** PID of the server process (Prosody's lua, ejabberd's beam.smp); changes on restart(). */
  get pid(): number {
    return this.launch?.server.pid ?? this.lastPid;
  }

  /** First start (config written once; restart() reuses it). */
  async start(): Promise<void> {
    track(this.tracked);
    try {
      await this.backend.prepare(this.inst);
      this.launch = await this.backend.launch(this.inst, (l) => (this.launch = l));
      this.lastPid = this.launch.server.pid;
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  register(users: LabUser[]): Promise<void> {
    const run = this.registering.then(() =>
      registerUsers({ domain: this.inst.domain, adminPort: this.inst.adminPort, adminSecret: this.inst.adminSecret }, users),
    );
    this.registering = run.catch(() => undefined);
    return run;
  }

  async restart(): Promise<void> {
    if (this.stopping) throw new Error(`${this.kind} ${this.name} was stopped; cannot restart`);
    await this.registering;
    const old = this.launch;
    this.launch = undefined;
    if (old) await stopLaunch(old);
    this.launch = await this.backend.launch(this.inst, (l) => (this.launch = l));
    this.lastPid = this.launch.server.pid;
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      try {
        if (this.launch) await stopLaunch(this.launch);
      } finally {
        this.launch = undefined;
        untrack(this.tracked);
        rmSync(this.inst.dir, { recursive: true, force: true });
      }
    })();
    return this.stopping;
  }

  logTail(lines = 50): string {
    return logTail(this.backend, this.inst, lines);
  }
}
