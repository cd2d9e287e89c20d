// ejabberd's own command-line tool, run with execFile and an argument array (never a shell). Debian's
// ejabberdctl is a sh script, but it passes its arguments on quoted ("$@") to the Erlang control node.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import xml from "@xmpp/xml";
import { ConnectError, InputError } from "../errors.ts";
import { formatHostPort, isIPv4, isIPv6, type HostPort } from "../xmpp/address.ts";
import { parseFullJid } from "../xmpp/jid.ts";
import { parseYaml } from "../yaml.ts";
import { runExecFile, type ExecFileRunner, type ExecResult } from "./exec.ts";


export interface EjabberdctlConfig {
  path: string;
  /** Erlang node name, e.g. ejabberd@host. */
  node: string;
  configDir: string;
}

/** One row of `connected_users_info`: user, conn, ip, port, priority, node, uptime, status, resource, statustext. */
export interface ConnectedUser {
  jid: string;
  ip: string;
  port: number;
  node: string;
}

const NS_STREAM = "http://etherx.jabber.org/streams";
const NS_STREAMS = "urn:ietf:params:xml:ns:xmpp-streams";
const NODE_NAME = /^[A-Za-z0-9_.-]{1,255}@[A-Za-z0-9_.-]{1,255}$/;
const SAFE_PATH = /^\/[^\0\n\r]*$/;

/** Checks the three settings; every error names the field. */
export function validateEjabberdctlConfig(config: EjabberdctlConfig, at: string): EjabberdctlConfig {
  if (!SAFE_PATH.test(config.path)) throw new InputError(`${at}.path`, "must be an absolute path");
  if (!NODE_NAME.test(config.node)) throw new InputError(`${at}.node`, `"${config.node}" is not an Erlang node name (name@host)`);
  if (!SAFE_PATH.test(config.configDir)) throw new InputError(`${at}.config_dir`, "must be an absolute path");
  return config;
}

/**
 * The text ejabberd 23.01 can carry in <see-other-host/>, or why not. p1_xmpp 1.6.1 `rfc6120:dec_host_port/1`
 * rejects every `name:port` (it re-binds a variable), so send_stanza_c2s refuses `127.0.0.1:5222`. It does decode
 * `[ADDRESS]:PORT` for IPv4 as well as IPv6 addresses, and re-encodes an IPv4 one as `127.0.0.1:5222` on the wire;
 * a bare host name decodes too (the client then uses port 5222). A host name with another port cannot be sent.
 */
export function ejabberdSeeOtherHost(target: HostPort): { text: string } | { why: string } {
  const isAddress = isIPv4(target.host) || isIPv6(target.host);
  if (isAddress) return { text: `[${target.host}]:${target.port ?? 5222}` };
  if (target.port === undefined || target.port === 5222) return { text: target.host };
  return { why: `ejabberd 23.01 cannot send a host name with a port (${formatHostPort(target)}): use an IP address or port 5222` };
}

/** A <stream:error/> ejabberd's send_stanza_c2s accepts (it needs the stream prefix declared on the element). */
export function streamErrorXml(condition: string, content?: string): string {
  return xml("stream:error", { "xmlns:stream": NS_STREAM }, xml(condition, { xmlns: NS_STREAMS }, ...(content !== undefined ? [content] : []))).toString();
}

/** The ports of the ejabberd_c2s listeners in config_dir/ejabberd.yml; empty when they cannot be read. */
export function c2sPortsFromConfig(configDir: string, read: (path: string) => string = (path) => readFileSync(path, "utf8")): number[] {
  try {
    const doc = parseYaml(read(join(configDir, "ejabberd.yml"))) as { listen?: unknown } | null;
    const listeners = Array.isArray(doc?.listen) ? (doc.listen as Array<Record<string, unknown>>) : [];
    return listeners
      .filter((l) => l?.module === "ejabberd_c2s")
      .map((l) => Number(l.port))
      .filter((port) => Number.isInteger(port) && port > 0 && port < 65536);
  } catch {
    return [];
  }
}

export function parseConnectedUsersInfo(stdout: string): ConnectedUser[] {
  const users: ConnectedUser[] = [];
  for (const line of stdout.split("\n")) {
    const [jid, , ip, port, , node] = line.split("\t");
    if (!jid || !ip || !port || !/^\d+$/.test(port)) continue;
    users.push({ jid, ip: ip.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, "$1"), port: Number(port), node: node ?? "" });
  }
  return users;
}

export class Ejabberdctl {
  constructor(
    readonly config: EjabberdctlConfig,
    private readonly exec: ExecFileRunner = runExecFile,
    private readonly timeoutMs = 30_000,
  ) {}

  /** The argument vector for one command; values are separate elements, never joined into a command line. */
  argv(command: string, args: string[] = []): string[] {
    return ["--config-dir", this.config.configDir, "--node", this.config.node, command, ...args];
  }

  async run(command: string, args: string[] = []): Promise<ExecResult> {
    return this.exec(this.config.path, this.argv(command, args), this.timeoutMs);
  }

  async connectedUsersInfo(): Promise<ConnectedUser[]> {
    const result = await this.run("connected_users_info");
    if (result.code !== 0) throw new ConnectError(`ejabberdctl connected_users_info: ${firstLine(result)}`);
    return parseConnectedUsersInfo(result.stdout);
  }

  /** Writes `element` to one session's own socket (it does not route). Resolves with the failure text, or undefined. */
  async sendStanzaC2s(fullJid: string, element: string): Promise<string | undefined> {
    const jid = parseFullJid(fullJid, "session");
    const result = await this.run("send_stanza_c2s", [jid.local, jid.domain, jid.resource, element]);
    return result.code === 0 ? undefined : firstLine(result);
  }
}

function firstLine(result: ExecResult): string {
  return (result.stdout.trim() || result.stderr.trim() || `exit code ${result.code}`).split("\n")[0] as string;
}
