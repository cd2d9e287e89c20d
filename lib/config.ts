import { readFileSync, statSync } from "node:fs";
import { parseYaml } from "./yaml.ts";
import { InputError } from "./errors.ts";
import { Secret } from "./secret.ts";
import { parseHostPort, type HostPort } from "./xmpp/address.ts";
import { parseJid } from "./xmpp/jid.ts";
import { parseDuration, parsePositiveInt } from "./input.ts";
import { validateEjabberdctlConfig, type EjabberdctlConfig } from "./servers/ejabberdctl.ts";
import { PACING_FILE_KEYS } from "./jobs/job-defaults.ts";

export type FromMode = "domain" | "component" | "auto";
export type ServerKindSetting = "auto" | "prosody" | "ejabberd" | "generic";

export interface AdminAccountConfig {
  jid: string;
  password: Secret;
  /** The c2s listener the account logs in to (default: the component listener's host, port 5222). */
  server: HostPort;
}

/** Default c2s port for the admin account when its server gives none. */
export const C2S_PORT = 5222;

export interface NodeConfig {
  name: string;
  server: HostPort;
  component: string;
  secret: Secret;
  /** Where clients are sent to reach this node (the transfer target when draining to it). */
  public?: HostPort;
  kind: ServerKindSetting;
  /** c2s admin account, for servers that will not treat a component as admin. */
  admin?: AdminAccountConfig;
  /** Prosody: mod_admin_shell's socket (see-other-host, close, client addresses for reset). */
  adminSocket?: string;
  /** ejabberd: how to run ejabberdctl against this node (see-other-host, close, client addresses for reset). */
  ejabberdctl?: EjabberdctlConfig;
  /** Share of users whose home this node is (`redirect --ring`), default 1. */
  weight?: number;
  /** Set on the members of an ejabberd cluster: they share one link and one session table. */
  cluster?: ClusterConfig;
  /** A cluster member's Erlang node name, as the node map reports it. */
  erlangNode?: string;
}

/** Where a cluster's node map (which member holds each session) comes from. */
export type NodeMapSource =
  | { via: "ejabberdctl"; path: string; node: string; configDir?: string }
  | { via: "http_api"; url: string; token?: Secret };

/** An ejabberd cluster: one component link for every member; its members are also listed in `nodes`. */
export interface ClusterConfig {
  name: string;
  nodeMap?: NodeMapSource;
  members: string[];
}

export interface Config {
  domain: string;
  from: FromMode;
  nodes: NodeConfig[];
  clusters: ClusterConfig[];
  iqTimeoutMs: number;
  /** Most entries one session listing may have (`max_listing`); more is refused as a protocol error. */
  maxListing: number;
  journal: string;
  api: { url?: string; listen: string; token?: Secret };
  /** Raw pacing defaults from the file; jobs validate them with their own flags. */
  pacing: Record<string, unknown>;
  /** Things to tell the operator (e.g. a secret file others can read); one line each. */
  warnings: string[];
}

export interface ConfigSources {
  file?: string;
  env: NodeJS.ProcessEnv;
  flags?: { from?: string; kind?: string };
  /** Refuse (instead of warning about) secret files that group or others may read. */
  strict?: boolean;
}

type Raw = Record<string, unknown>;

const FROM_MODES: readonly FromMode[] = ["domain", "component", "auto"];
const KINDS: readonly ServerKindSetting[] = ["auto", "prosody", "ejabberd", "generic"];

/** Flags win over environment, environment over the file. Every error names the field it is about. */
export function loadConfig(sources: ConfigSources): Config {
  const { env } = sources;
  secretFiles = { strict: sources.strict ?? false, warnings: [] };
  const file = sources.file ? readConfigFile(sources.file) : {};
  knownKeys(file, ["domain", "from", "nodes", "clusters", "iq_timeout", "max_listing", "journal", "api", "pacing"], "");
  if (file.pacing !== undefined) knownKeys(mapping(file.pacing, "pacing"), PACING_FILE_KEYS, "pacing.");
  if (file.api !== undefined) knownKeys(mapping(file.api, "api"), ["listen", "token_file"], "api.");
  const fileNodes = readNodeList(file);

  const domainSource = env.CXFR_DOMAIN !== undefined ? "CXFR_DOMAIN" : "domain";
  const domainValue = env.CXFR_DOMAIN ?? file.domain;
  const fromSource = sources.flags?.from !== undefined ? "--from" : env.CXFR_FROM !== undefined ? "CXFR_FROM" : "from";
  const fromValue = sources.flags?.from ?? env.CXFR_FROM ?? file.from ?? "auto";

  const pending = fileNodes.map((raw, i) => readNode(raw, `nodes[${i}]`));
  applyEnvNode(pending, env, fileNodes.length > 0);
  const clusters = readClusters(file.clusters);
  const nodes = [...pending.map(withAdminServer), ...clusters.flatMap((c) => c.nodes)];
  if (sources.flags?.kind !== undefined) for (const node of nodes) node.kind = oneOf(sources.flags.kind, KINDS, "--kind");
  if (nodes.length === 0) throw new InputError("CXFR_SERVER", "no node configured: set CXFR_SERVER, CXFR_COMPONENT and CXFR_COMPONENT_SECRET, or pass --config FILE");
  uniqueNames(nodes);

  const api = (file.api ?? {}) as Raw;
  const token = env.CXFR_API_TOKEN !== undefined ? new Secret(env.CXFR_API_TOKEN) : api.token_file !== undefined ? readSecretFile(String(api.token_file), "api.token_file") : undefined;
  return {
    domain: requireDomain(domainValue, domainSource),
    from: oneOf(fromValue, FROM_MODES, fromSource),
    nodes,
    clusters: clusters.map((c) => c.cluster),
    iqTimeoutMs: file.iq_timeout !== undefined ? positiveDuration(file.iq_timeout, "iq_timeout") : 15_000,
    maxListing: file.max_listing !== undefined ? parsePositiveInt(file.max_listing as string, "max_listing", { min: 1 }) : DEFAULT_MAX_LISTING,
    journal: String(env.CXFR_JOURNAL ?? file.journal ?? "./cxfr.db"),
    api: {
      ...(env.CXFR_API !== undefined ? { url: env.CXFR_API } : {}),
      listen: String(api.listen ?? "127.0.0.1:5380"),
      ...(token ? { token } : {}),
    },
    pacing: (file.pacing ?? {}) as Raw,
    warnings: secretFiles.warnings,
  };
}

/** Default for `max_listing`: far above any one node's sessions, low enough to stop a runaway reply. */
export const DEFAULT_MAX_LISTING = 100_000;

/** A duration that must not be zero (an IQ timeout of 0 would fail every request at once). */
function positiveDuration(value: unknown, field: string): number {
  const ms = parseDuration(value as string, field);
  if (ms === 0) throw new InputError(field, "must be longer than 0 (e.g. 15s)");
  return ms;
}

/** The node a command acts on: --node NAME, or the only configured node. */
export function selectNode(config: Config, name: string | undefined): NodeConfig {
  if (name === undefined) {
    if (config.nodes.length === 1) return config.nodes[0] as NodeConfig;
    throw new InputError("--node", `several nodes are configured (${config.nodes.map((n) => n.name).join(", ")}): say which one with --node`);
  }
  const node = config.nodes.find((n) => n.name === name);
  if (!node) throw new InputError("--node", `no node named "${name}" (configured: ${config.nodes.map((n) => n.name).join(", ")})`);
  return node;
}

function readConfigFile(path: string): Raw {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new InputError("--config", `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = parseYaml(text);
  } catch (err) {
    const line = (err as { linePos?: Array<{ line: number }> }).linePos?.[0]?.line;
    throw new InputError("--config", `${path} is not valid YAML${line ? ` (line ${line})` : ""}`);
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== "object" || Array.isArray(parsed)) throw new InputError("--config", `${path} must hold a YAML mapping`);
  return parsed as Raw;
}

function readNodeList(file: Raw): Raw[] {
  if (file.nodes === undefined) return [];
  if (!Array.isArray(file.nodes)) throw new InputError("nodes", "must be a list");
  return file.nodes.map((n, i) => {
    if (typeof n !== "object" || n === null || Array.isArray(n)) throw new InputError(`nodes[${i}]`, "must be a mapping");
    return n as Raw;
  });
}

/** A node as read, before the admin account's server defaults to the (possibly env-overridden) node host. */
type PendingAdmin = Omit<AdminAccountConfig, "server"> & { server?: HostPort };
type PendingNode = Omit<NodeConfig, "admin"> & { admin?: PendingAdmin };

function withAdminServer(node: PendingNode): NodeConfig {
  const { admin, ...rest } = node;
  if (!admin) return rest;
  return { ...rest, admin: { ...admin, server: admin.server ?? { host: node.server.host, port: C2S_PORT } } };
}

function readNode(raw: Raw, at: string): PendingNode {
  knownKeys(raw, ["name", "server", "component", "secret", "secret_file", "public", "kind", "admin", "admin_socket", "ejabberdctl", "weight"], `${at}.`);
  const name = raw.name === undefined ? undefined : String(raw.name);
  if (name !== undefined && !/^[A-Za-z0-9._-]{1,64}$/.test(name)) throw new InputError(`${at}.name`, "use 1-64 letters, digits, '.', '_' or '-'");
  const secret = raw.secret !== undefined ? new Secret(String(raw.secret)) : raw.secret_file !== undefined ? readSecretFile(String(raw.secret_file), `${at}.secret_file`) : undefined;
  if (!secret) throw new InputError(`${at}.secret_file`, "missing: the component secret is required");
  return {
    name: name ?? `node${at.replace(/\D/g, "")}`,
    server: parseHostPort(requireString(raw.server, `${at}.server`), `${at}.server`),
    component: requireDomain(raw.component, `${at}.component`),
    secret,
    ...(raw.public !== undefined ? { public: parseHostPort(requireString(raw.public, `${at}.public`), `${at}.public`) } : {}),
    kind: oneOf(raw.kind ?? "auto", KINDS, `${at}.kind`),
    ...(raw.admin !== undefined ? { admin: readAdmin(raw.admin, `${at}.admin`) } : {}),
    ...(raw.admin_socket !== undefined ? { adminSocket: absolutePath(raw.admin_socket, `${at}.admin_socket`) } : {}),
    ...(raw.ejabberdctl !== undefined ? { ejabberdctl: readEjabberdctl(raw.ejabberdctl, `${at}.ejabberdctl`) } : {}),
    ...(raw.weight !== undefined ? { weight: readWeight(raw.weight, `${at}.weight`) } : {}),
  };
}

function absolutePath(value: unknown, field: string): string {
  const text = requireString(value, field);
  if (!text.startsWith("/") || /[\0\r\n]/.test(text)) throw new InputError(field, `"${text}" must be an absolute path`);
  return text;
}

function readEjabberdctl(raw: unknown, at: string): EjabberdctlConfig {
  const ctl = mapping(raw, at);
  knownKeys(ctl, ["path", "node", "config_dir"], `${at}.`);
  return validateEjabberdctlConfig({
    path: ctl.path !== undefined ? absolutePath(ctl.path, `${at}.path`) : "/usr/sbin/ejabberdctl",
    node: requireString(ctl.node, `${at}.node`),
    configDir: ctl.config_dir !== undefined ? absolutePath(ctl.config_dir, `${at}.config_dir`) : "/etc/ejabberd",
  }, at);
}

function readWeight(value: unknown, field: string): number {
  const weight = typeof value === "number" ? value : typeof value === "string" && /^\d+(\.\d+)?$/.test(value) ? Number(value) : NaN;
  if (!(weight > 0 && Number.isFinite(weight))) throw new InputError(field, `must be a positive number (got ${JSON.stringify(value)})`);
  return weight;
}

/**
 * `clusters:` (DESIGN §3): each cluster is one link (server, component, secret of any member) and a
 * node map; each member becomes a node of its own for --node, --to, status and jobs.
 */
const ERLANG_NODE = /^[A-Za-z0-9_.-]+@[A-Za-z0-9_.-]+$/;

function readClusters(value: unknown): Array<{ cluster: ClusterConfig; nodes: NodeConfig[] }> {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new InputError("clusters", "must be a list");
  return value.map((raw, i) => {
    const at = `clusters[${i}]`;
    const c = mapping(raw, at);
    knownKeys(c, ["name", "server", "component", "secret", "secret_file", "kind", "admin", "node_map", "members"], `${at}.`);
    const { node_map: _map, members: _members, ...linkKeys } = c;
    const link = readNode({ ...linkKeys, name: c.name ?? `cluster${i}` }, at);
    if (!Array.isArray(c.members) || c.members.length === 0) throw new InputError(`${at}.members`, "list each member: { name, erlang_node, public }");
    const cluster: ClusterConfig = { name: link.name, members: [], ...(c.node_map !== undefined ? { nodeMap: readNodeMap(c.node_map, `${at}.node_map`) } : {}) };
    const nodes = c.members.map((m, k) => {
      const mat = `${at}.members[${k}]`;
      const member = mapping(m, mat);
      knownKeys(member, ["name", "erlang_node", "public", "weight", "ejabberdctl"], `${mat}.`);
      const name = requireString(member.name, `${mat}.name`);
      if (!/^[A-Za-z0-9._-]{1,64}$/.test(name)) throw new InputError(`${mat}.name`, "use 1-64 letters, digits, '.', '_' or '-'");
      const erlangNode = requireString(member.erlang_node, `${mat}.erlang_node`);
      if (!ERLANG_NODE.test(erlangNode)) throw new InputError(`${mat}.erlang_node`, `"${erlangNode}" is not an Erlang node name (name@host)`);
      cluster.members.push(name);
      const node: NodeConfig = {
        ...withAdminServer(link),
        name,
        erlangNode,
        cluster,
        ...(member.public !== undefined ? { public: parseHostPort(requireString(member.public, `${mat}.public`), `${mat}.public`) } : {}),
        ...(member.weight !== undefined ? { weight: readWeight(member.weight, `${mat}.weight`) } : {}),
        // the member's own ejabberdctl (on its host): see-other-host, close and client addresses for reset
        ...(member.ejabberdctl !== undefined ? { ejabberdctl: readEjabberdctl(member.ejabberdctl, `${mat}.ejabberdctl`) } : {}),
      };
      return node;
    });
    return { cluster, nodes };
  });
}

function readNodeMap(value: unknown, at: string): NodeMapSource {
  const raw = mapping(value, at);
  knownKeys(raw, ["ejabberdctl", "http_api"], `${at}.`);
  if ((raw.ejabberdctl === undefined) === (raw.http_api === undefined)) throw new InputError(at, "give exactly one of ejabberdctl: { path, node, config_dir } or http_api: { url, token_file }");
  if (raw.ejabberdctl !== undefined) {
    const ctl = mapping(raw.ejabberdctl, `${at}.ejabberdctl`);
    knownKeys(ctl, ["path", "node", "config_dir"], `${at}.ejabberdctl.`);
    const node = requireString(ctl.node, `${at}.ejabberdctl.node`);
    if (!ERLANG_NODE.test(node)) throw new InputError(`${at}.ejabberdctl.node`, `"${node}" is not an Erlang node name (name@host)`);
    return {
      via: "ejabberdctl",
      path: String(ctl.path ?? "/usr/sbin/ejabberdctl"),
      node,
      ...(ctl.config_dir !== undefined ? { configDir: requireString(ctl.config_dir, `${at}.ejabberdctl.config_dir`) } : {}),
    };
  }
  const api = mapping(raw.http_api, `${at}.http_api`);
  knownKeys(api, ["url", "token_file"], `${at}.http_api.`);
  const url = requireString(api.url, `${at}.http_api.url`);
  if (!/^https?:\/\/[^\s]+$/.test(url)) throw new InputError(`${at}.http_api.url`, `"${url}" is not an http(s) URL`);
  // no token_file: the server lets this host in by address (api_permissions who: ip)
  const token = api.token_file !== undefined ? readSecretFile(requireString(api.token_file, `${at}.http_api.token_file`), `${at}.http_api.token_file`) : undefined;
  return { via: "http_api", url: url.replace(/\/+$/, ""), ...(token ? { token } : {}) };
}

function readAdmin(raw: unknown, at: string): PendingAdmin {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new InputError(at, "must be a mapping with jid and password_file");
  const admin = raw as Raw;
  knownKeys(admin, ["jid", "password", "password_file", "server"], `${at}.`);
  const jid = requireAccountJid(admin.jid, `${at}.jid`);
  const password = admin.password !== undefined ? new Secret(String(admin.password)) : readSecretFile(requireString(admin.password_file, `${at}.password_file`), `${at}.password_file`);
  const server = admin.server !== undefined ? c2sAddress(requireString(admin.server, `${at}.server`), `${at}.server`) : undefined;
  return { jid, password, ...(server ? { server } : {}) };
}

/** An account JID (local@domain); a resource is refused, cxfr picks its own. */
function requireAccountJid(value: unknown, field: string): string {
  const text = requireString(value, field);
  const jid = parseJid(text, field);
  if (jid.local === undefined || jid.resource !== undefined) throw new InputError(field, `"${text}" must be an account JID (user@domain), without a resource`);
  return text;
}

function c2sAddress(text: string, field: string): HostPort {
  const address = parseHostPort(text, field);
  return { host: address.host, port: address.port ?? C2S_PORT };
}

/** CXFR_* variables describe one node: they override the node named CXFR_NODE (or the first one), or create it. */
function applyEnvNode(nodes: PendingNode[], env: NodeJS.ProcessEnv, hasFileNodes: boolean): void {
  const touched = ["CXFR_SERVER", "CXFR_COMPONENT", "CXFR_COMPONENT_SECRET", "CXFR_COMPONENT_SECRET_FILE", "CXFR_PUBLIC", "CXFR_KIND", "CXFR_ADMIN_JID", "CXFR_ADMIN_SERVER"].some((k) => env[k] !== undefined);
  if (!touched) return;
  const name = env.CXFR_NODE ?? (hasFileNodes ? nodes[0]?.name : "default") ?? "default";
  let node = nodes.find((n) => n.name === name);
  if (!node) {
    const secret = envSecret(env, "CXFR_COMPONENT_SECRET");
    if (!secret) throw new InputError("CXFR_COMPONENT_SECRET", "missing: set CXFR_COMPONENT_SECRET or CXFR_COMPONENT_SECRET_FILE");
    node = {
      name,
      server: parseHostPort(requireString(env.CXFR_SERVER, "CXFR_SERVER"), "CXFR_SERVER"),
      component: requireDomain(env.CXFR_COMPONENT, "CXFR_COMPONENT"),
      secret,
      kind: "auto",
    };
    nodes.push(node);
  } else {
    if (env.CXFR_SERVER !== undefined) node.server = parseHostPort(env.CXFR_SERVER, "CXFR_SERVER");
    if (env.CXFR_COMPONENT !== undefined) node.component = requireDomain(env.CXFR_COMPONENT, "CXFR_COMPONENT");
    const secret = envSecret(env, "CXFR_COMPONENT_SECRET");
    if (secret) node.secret = secret;
  }
  if (env.CXFR_PUBLIC !== undefined) node.public = parseHostPort(env.CXFR_PUBLIC, "CXFR_PUBLIC");
  if (env.CXFR_KIND !== undefined) node.kind = oneOf(env.CXFR_KIND, KINDS, "CXFR_KIND");
  if (env.CXFR_ADMIN_JID !== undefined) {
    const jid = requireAccountJid(env.CXFR_ADMIN_JID, "CXFR_ADMIN_JID");
    const password = envSecret(env, "CXFR_ADMIN_PASSWORD");
    if (!password) throw new InputError("CXFR_ADMIN_PASSWORD", "missing: CXFR_ADMIN_JID needs CXFR_ADMIN_PASSWORD or CXFR_ADMIN_PASSWORD_FILE");
    node.admin = { jid, password, ...(node.admin?.server ? { server: node.admin.server } : {}) };
  }
  if (env.CXFR_ADMIN_SERVER !== undefined) {
    const server = c2sAddress(env.CXFR_ADMIN_SERVER, "CXFR_ADMIN_SERVER");
    if (!node.admin) throw new InputError("CXFR_ADMIN_SERVER", "set CXFR_ADMIN_JID (and CXFR_ADMIN_PASSWORD) too: there is no admin account to log in with");
    node.admin.server = server;
  }
}

function envSecret(env: NodeJS.ProcessEnv, name: string): Secret | undefined {
  if (env[name] !== undefined) return new Secret(env[name] as string);
  const file = env[`${name}_FILE`];
  return file !== undefined ? readSecretFile(file, `${name}_FILE`) : undefined;
}

/** How the current loadConfig() treats secret files others may read (set at its start; loading is synchronous). */
let secretFiles: { strict: boolean; warnings: string[] } = { strict: false, warnings: [] };

/** A secret file that group or others may read leaks the secret to every account on the machine. */
function checkSecretFileMode(path: string, field: string): void {
  let mode: number;
  try {
    mode = statSync(path).mode;
  } catch {
    return; // the read below reports it
  }
  if ((mode & 0o077) === 0) return;
  const problem = `${path} is readable by ${mode & 0o007 ? "others" : "its group"} (mode ${(mode & 0o777).toString(8).padStart(3, "0")}); chmod 600 it`;
  if (secretFiles.strict) throw new InputError(field, `${problem} (refused under --strict)`);
  secretFiles.warnings.push(`${field}: ${problem}`);
}

function readSecretFile(path: string, field: string): Secret {
  checkSecretFileMode(path, field);
  try {
    const value = readFileSync(path, "utf8").replace(/\r?\n$/, "");
    if (value === "") throw new InputError(field, `${path} is empty`);
    return new Secret(value);
  } catch (err) {
    if (err instanceof InputError) throw err;
    throw new InputError(field, `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? "error"}`);
  }
}

/** A misspelt key would otherwise be ignored without a word (a `rat: 5` would drain at the default rate). */
function knownKeys(raw: Raw, allowed: readonly string[], prefix: string): void {
  for (const key of Object.keys(raw)) {
    if (!allowed.includes(key)) throw new InputError(`${prefix}${key}`, `unknown setting (known here: ${allowed.join(", ")})`);
  }
}

function mapping(value: unknown, field: string): Raw {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new InputError(field, "must be a mapping");
  return value as Raw;
}

function requireString(value: unknown, field: string): string {
  if (value === undefined || value === null || value === "") throw new InputError(field, "missing");
  if (typeof value !== "string" && typeof value !== "number") throw new InputError(field, "must be a string");
  return String(value);
}

function requireDomain(value: unknown, field: string): string {
  const text = requireString(value, field);
  const jid = parseJid(text, field);
  if (jid.local !== undefined || jid.resource !== undefined) throw new InputError(field, `"${text}" must be a bare domain, not a JID`);
  return jid.domain;
}

function oneOf<T extends string>(value: unknown, allowed: readonly T[], field: string): T {
  if (typeof value === "string" && (allowed as readonly string[]).includes(value)) return value as T;
  throw new InputError(field, `must be one of ${allowed.join(", ")} (got "${String(value)}")`);
}

function uniqueNames(nodes: NodeConfig[]): void {
  const seen = new Set<string>();
  for (const [i, node] of nodes.entries()) {
    if (seen.has(node.name)) throw new InputError(`nodes[${i}].name`, `duplicate node name "${node.name}"`);
    seen.add(node.name);
  }
}
