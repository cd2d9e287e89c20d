// A real ejabberd 23.01 cluster for specs and the demo: N members on one machine, loopback only.
// - Epmd-less Erlang distribution: every member listens on the same distribution port, each on its
//   own loopback address (cxfrlab_x@127.0.0.2, cxfrlab_x@127.0.0.3, …: long names), so no epmd runs
//   and nothing shared outlives the cluster. ejabberdctl against a member works with its --config-dir.
// - Each member is a normal lab ejabberd (ejabberd.ts): own dir, c2s and component listeners on free
//   127.0.0.1 ports, tracked and stopped by PID. Same cookie and secrets on every member.
// - join_cluster runs against the joining member and wipes its own data: users are registered on
//   member 1 after the join (users, rosters and sessions are cluster-wide).
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ejabberd, runEjabberdctl, waitForLog } from "./ejabberd.ts";
import { ServerHandle, logTail, type Instance, type LabServer, type LabUser } from "./instance.ts";
import { freePort, waitForPorts } from "./ports.ts";
import { isAlive, procRef } from "./processes.ts";

export const EJABBERDCTL = "/usr/sbin/ejabberdctl";

export interface LabClusterMember {
  server: LabServer;
  /** mod_http_api base URL of this member (with `httpApi`), e.g. http://127.0.0.1:PORT/api */
  httpApi?: string;
  /** Erlang node name, e.g. cxfrlab_c1_ab12cd@127.0.0.2 */
  erlangNode: string;
  /** --config-dir for ejabberdctl (holds the cookie and the distribution port) */
  configDir: string;
}

export interface LabCluster {
  name: string;
  domain: string;
  component: string;
  secret: string;
  members: LabClusterMember[];
  /** Runs ejabberdctl against one member (0-based), e.g. ["connected_users_info"]. */
  ctl(member: number, args: string[]): Promise<string>;
  register(users: LabUser[]): Promise<void>;
  stop(): Promise<void>;
}

export interface ClusterOptions {
  /** label for dirs and Erlang node names */
  name?: string;
  /** members, default 2 */
  size?: number;
  domain?: string;
  component?: string;
  secret?: string;
  users?: LabUser[];
  /** also serve mod_http_api on every member: connected_users_info for loopback callers without a token (Debian's 23.01 lacks the oauth2 library tokens need) */
  httpApi?: boolean;
}

let counter = 0;

export async function startEjabberdCluster(opts: ClusterOptions = {}): Promise<LabCluster> {
  const name = opts.name ?? `cluster${++counter}`;
  const label = name.replace(/[^A-Za-z0-9_]/g, "_");
  const size = opts.size ?? 2;
  if (size < 2 || size > 8) throw new Error("size: 2..8 members");
  const domain = opts.domain ?? "localhost";
  const component = opts.component ?? "cxfr.localhost";
  const secret = opts.secret ?? randomBytes(16).toString("hex");
  const cookie = randomBytes(16).toString("hex");
  const adminSecret = randomBytes(16).toString("hex");
  const tag = randomBytes(3).toString("hex");
  const distPort = await freePort();

  const instances: Instance[] = [];
  for (let k = 0; k < size; k++) {
    const address = `127.0.0.${k + 2}`;
    const inst: Instance = {
      kind: "ejabberd",
      name: `${name}-ej${k + 1}`,
      domain,
      component,
      secret,
      componentIsAdmin: true,
      smacks: false,
      adminUsers: [],
      allowDomainFrom: true,
      c2sPort: await freePort(),
      componentPort: await freePort(),
      adminPort: await freePort(),
      adminSecret,
      distPort,
      distInterface: address,
      node: `cxfrlab_${label}_${tag}@${address}`,
      cookie,
      dir: mkdtempSync(join(tmpdir(), `cxfr-lab-${label}-ej${k + 1}-`)),
      logTail: (lines?: number) => logTail(ejabberd, inst, lines),
    };
    instances.push(inst);
  }
  const httpPorts = opts.httpApi ? await Promise.all(instances.map(() => freePort())) : [];
  const backend = opts.httpApi ? withHttpApi(httpPorts, instances) : ejabberd;
  const handles = instances.map((i) => new ServerHandle(backend, i));
  const stop = async () => {
    await Promise.all(handles.map((h) => h.stop()));
  };
  try {
    await Promise.all(handles.map((h) => h.start()));
    const first = instances[0] as Instance;
    for (const [k, inst] of instances.entries()) {
      if (k === 0) continue;
      await joinCluster(inst, first.node, handles[k] as ServerHandle);
    }
    if (opts.users?.length) await (handles[0] as ServerHandle).register(opts.users);
  } catch (err) {
    const tails = instances.map((i) => i.logTail(20)).join("\n");
    await stop();
    throw new Error(`${String(err)}\n${tails}`, { cause: err });
  }
  return {
    name,
    domain,
    component,
    secret,
    members: instances.map((inst, k) => ({
      server: handles[k] as ServerHandle,
      erlangNode: inst.node,
      configDir: join(inst.dir, "conf"),
      ...(opts.httpApi ? { httpApi: `http://127.0.0.1:${httpPorts[k] as number}/api` } : {}),
    })),
    ctl: (member, args) => runEjabberdctl(instances[member] as Instance, args),
    register: (users) => (handles[0] as ServerHandle).register(users),
    stop,
  };
}

/** join_cluster restarts ejabberd on the joining member (not its VM): waits for its listeners and log line again. */
async function joinCluster(inst: Instance, firstNode: string, handle: ServerHandle): Promise<void> {
  const logPath = join(inst.dir, "logs", "ejabberd.log");
  const offset = existsSync(logPath) ? statSync(logPath).size : 0;
  await runEjabberdctl(inst, ["join_cluster", firstNode]);
  const beam = procRef(handle.pid);
  const watch = { timeoutMs: 30_000, alive: () => isAlive(beam), what: `ejabberd ${inst.name} (joining)`, diagnose: () => inst.logTail(30) };
  await waitForLog(logPath, offset, / is started in the node /, watch);
  await waitForPorts([inst.c2sPort, inst.componentPort, inst.adminPort], watch);
}

/**
 * The ejabberd backend plus an ejabberd_http listener with mod_http_api on 127.0.0.1, where loopback
 * callers may run connected_users_info without a token (a request that carries one is checked as
 * OAuth, which Debian's 23.01 cannot issue: `oauth_issue_token` fails on the missing oauth2 module).
 */
function withHttpApi(ports: number[], instances: Instance[]): typeof ejabberd {
  return {
    ...ejabberd,
    async prepare(i: Instance): Promise<void> {
      await ejabberd.prepare(i);
      const port = ports[instances.indexOf(i)] as number;
      const path = join(i.dir, "conf", "ejabberd.yml");
      const yml = readFileSync(path, "utf8")
        .replace("\nlisten:\n", `\nlisten:\n  -\n    port: ${port}\n    ip: "127.0.0.1"\n    module: ejabberd_http\n    request_handlers:\n      /api: mod_http_api\n`)
        .replace("\napi_permissions:\n", `\napi_permissions:\n  "lab node map":\n    from:\n      - mod_http_api\n    who:\n      ip: 127.0.0.1/8\n    what:\n      - connected_users_info\n`);
      writeFileSync(path, yml);
    },
    launch: async (i, spawned) => {
      const launch = await ejabberd.launch(i, spawned);
      await waitForPorts([ports[instances.indexOf(i)] as number], { timeoutMs: 10_000, alive: () => isAlive(launch.server), what: `ejabberd ${i.name} http`, diagnose: () => i.logTail(20) });
      return launch;
    },
  };
}
