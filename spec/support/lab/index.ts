// The integration-test lab: private Prosody / ejabberd instances on free loopback ports, logged-in
// clients, and cleanup by PID. See prosody.ts, ejabberd.ts, admin.ts (registration), client.ts.
import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ejabberd, runEjabberdctl } from "./ejabberd.ts";
import { ServerHandle, logTail, type Backend, type Instance, type LabServer, type LabUser, type ServerKind } from "./instance.ts";
import { freePort } from "./ports.ts";
import { stopAllTracked } from "./processes.ts";
import { prosody } from "./prosody.ts";

export type { LabServer, LabUser, ServerKind } from "./instance.ts";
export { loginClient, type LabClient, type LoginOptions } from "./client.ts";
export { freePort } from "./ports.ts";
export { LAB_ADMIN_COMPONENT } from "./admin.ts";

export interface ServerOptions {
  kind: ServerKind;
  /** instance label (dir names, ejabberd node name); several instances of one kind may run at once */
  name?: string;
  /** users' domain, default "localhost" */
  domain?: string;
  /** component domain, default "cxfr.localhost" */
  component?: string;
  /** component secret, default random hex */
  secret?: string;
  /** default true: Prosody global `admins`; ejabberd `acl: admin: server:` (+ configure/announce: admin) */
  componentIsAdmin?: boolean;
  /** bare JIDs of c2s accounts made admins: Prosody global `admins`; ejabberd `acl: admin: user:` (register them via `users`) */
  adminUsers?: string[];
  /** default true: Prosody `validate_from_addresses = false`; ejabberd `check_from: false` */
  allowDomainFrom?: boolean;
  /** Prosody only: load mod_smacks (XEP-0198 with resumption); ejabberd always has mod_stream_mgmt */
  smacks?: boolean;
  /** registered before startServer resolves */
  users?: LabUser[];
}

const BACKENDS: Record<ServerKind, Backend> = { prosody, ejabberd };
const DOMAIN_RE = /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/i;
let counter = 0;

export async function startServer(opts: ServerOptions): Promise<LabServer> {
  const backend = BACKENDS[opts.kind];
  if (!backend) throw new Error(`unknown server kind ${String(opts.kind)}`);
  const name = opts.name ?? `${opts.kind}${++counter}`;
  const label = name.replace(/[^A-Za-z0-9_-]/g, "_");
  const domain = opts.domain ?? "localhost";
  const component = opts.component ?? "cxfr.localhost";
  for (const d of [domain, component]) if (!DOMAIN_RE.test(d)) throw new Error(`invalid domain ${JSON.stringify(d)}`);
  const secret = opts.secret ?? randomBytes(16).toString("hex");
  const adminUsers = opts.adminUsers ?? [];
  for (const u of adminUsers) if (!/^[a-z0-9._-]+@[a-z0-9.-]+$/i.test(u)) throw new Error(`adminUsers: invalid bare JID ${JSON.stringify(u)}`);
  if (!/^[\x21-\x7e]+$/.test(secret) || /["'\\]/.test(secret)) throw new Error("secret: printable ASCII without quotes or backslashes");

  const c2sPort = await freePort();
  const componentPort = await freePort();
  const isEj = opts.kind === "ejabberd";
  const inst: Instance = {
    kind: opts.kind,
    name,
    domain,
    component,
    secret,
    componentIsAdmin: opts.componentIsAdmin ?? true,
    adminUsers,
    allowDomainFrom: opts.allowDomainFrom ?? true,
    smacks: opts.smacks ?? false,
    c2sPort,
    componentPort,
    adminPort: isEj ? await freePort() : componentPort,
    adminSecret: randomBytes(16).toString("hex"),
    distPort: isEj ? await freePort() : 0,
    node: `cxfrlab_${label}_${randomBytes(3).toString("hex")}@localhost`,
    cookie: randomBytes(16).toString("hex"),
    dir: mkdtempSync(join(tmpdir(), `cxfr-lab-${label}-`)),
    logTail: (lines?: number) => logTail(backend, inst, lines),
  };
  const server = new ServerHandle(backend, inst);
  await server.start();
  try {
    if (opts.users?.length) await server.register(opts.users);
  } catch (err) {
    const tail = server.logTail(30);
    await server.stop();
    throw new Error(`${String(err)}\n${tail}`, { cause: err });
  }
  instances.set(server, inst);
  return server;
}

const instances = new WeakMap<LabServer, Instance>();

/** Runs Debian's ejabberdctl against a lab ejabberd (e.g. ["connected_users_info"]); ~0.5–1 s per call. */
export function ejabberdctl(server: LabServer, args: string[]): Promise<string> {
  const inst = instances.get(server);
  if (!inst || inst.kind !== "ejabberd") throw new Error("ejabberdctl: not a lab ejabberd server");
  return runEjabberdctl(inst, args);
}

/** Stops every server the lab started (SIGTERM, then SIGKILL) and removes their dirs. */
export function stopAllLabProcesses(): Promise<void> {
  return stopAllTracked();
}
