// The kernel's socket destroy (SOCK_DESTROY through sock_diag, as `ss -K` does): aborts the server's end of one
// client's TCP connection with no stream close, so an XEP-0198 session stays resumable. Needs CAP_NET_ADMIN (root
// has it) in the server's network namespace, and a kernel built with CONFIG_INET_DIAG_DESTROY.
import { readFile } from "node:fs/promises";
import { InputError } from "../errors.ts";
import { isIPv4, isIPv6 } from "../xmpp/address.ts";
import { runExecFile, type ExecFileRunner } from "../servers/exec.ts";
import type { ClientAddress } from "../servers/session-control.ts";

/** Bit 12 of the capability sets (linux/capability.h). */
const CAP_NET_ADMIN = 12n;
export const SOCKET_DESTROY_NEEDS = "root or CAP_NET_ADMIN on the server host (same network namespace), and `ss` (iproute2)";

export interface SocketDestroyOptions {
  ssPath?: string;
  exec?: ExecFileRunner;
  /** Reads this process's /proc status (injected in specs). */
  readStatus?: () => Promise<string>;
}

export type Permission = { ok: true } | { ok: false; why: string };

/** Whether CAP_NET_ADMIN is in the effective set of a /proc/PID/status text. */
export function hasNetAdmin(status: string): boolean {
  const match = /^CapEff:\s*([0-9a-f]+)$/im.exec(status);
  return match !== null && ((BigInt(`0x${match[1]}`) >> CAP_NET_ADMIN) & 1n) === 1n;
}

/**
 * The `ss` filter for established TCP sockets whose remote end is the client's ip:port (the server's side of that
 * connection), narrowed to the server's local port when it is known.
 */
export function ssFilter(client: ClientAddress, serverPort?: number): string[] {
  const { ip, port } = checkedAddress(client);
  if (serverPort !== undefined) checkedAddress({ ip, port: serverPort });
  return ["state", "established", "dst", isIPv6(ip) ? `[${ip}]` : ip, "dport", "=", `:${port}`, ...(serverPort !== undefined ? ["sport", "=", `:${serverPort}`] : [])];
}

/** The exact `ss` arguments that destroy those sockets. */
export function ssKillArgs(client: ClientAddress, serverPort?: number): string[] {
  return ["-K", "-t", "-n", "-H", ...ssFilter(client, serverPort)];
}

/** The exact `ss` arguments that only list them. */
export function ssListArgs(client: ClientAddress, serverPort?: number): string[] {
  return ["-t", "-n", "-H", ...ssFilter(client, serverPort)];
}

function checkedAddress(client: ClientAddress): ClientAddress {
  if (typeof client.ip !== "string" || !(isIPv4(client.ip) || isIPv6(client.ip))) throw new InputError("ip", `${JSON.stringify(client.ip)} is not an IP address`);
  if (!Number.isInteger(client.port) || client.port < 1 || client.port > 65535) throw new InputError("port", `${String(client.port)} is not a port number 1-65535`);
  return client;
}

export class SocketDestroyer {
  private readonly ssPath: string;
  private readonly exec: ExecFileRunner;
  private readonly readStatus: () => Promise<string>;
  private checked: Promise<Permission> | undefined;

  constructor(options: SocketDestroyOptions = {}) {
    this.ssPath = options.ssPath ?? "ss";
    this.exec = options.exec ?? runExecFile;
    this.readStatus = options.readStatus ?? (() => readFile("/proc/self/status", "utf8"));
  }

  /** Whether destroy() can work here: `ss` runs and this process holds CAP_NET_ADMIN. Checked once. */
  permission(): Promise<Permission> {
    this.checked ??= this.check();
    return this.checked;
  }

  private async check(): Promise<Permission> {
    const status = await this.readStatus().catch(() => "");
    if (!hasNetAdmin(status)) return { ok: false, why: "this process lacks CAP_NET_ADMIN (run as root or grant the capability)" };
    const version = await this.exec(this.ssPath, ["-V"], 5000).catch((err: Error) => ({ code: -1, stdout: "", stderr: err.message }));
    if (version.code !== 0) return { ok: false, why: `${this.ssPath} does not run: ${version.stderr.trim() || `exit code ${version.code}`}` };
    return { ok: true };
  }

  /**
   * Destroys the server's socket to this client; resolves with how many sockets the kernel destroyed. Several
   * established connections can have the client's address and port as their remote end (the same client port
   * reaching two servers on this host, or this host's own outgoing connection): only those whose local port is
   * one of `serverPorts` count, or without them, those whose local port is listening here. Still more than one,
   * it destroys nothing.
   */
  async destroy(client: ClientAddress, serverPorts?: number[]): Promise<{ destroyed: number; error?: string }> {
    const listed = await this.exec(this.ssPath, ssListArgs(client), 5000);
    let ports = localPorts(listed.stdout);
    if (serverPorts?.length) ports = ports.filter((port) => serverPorts.includes(port));
    else if (ports.length > 1) {
      const listening = new Set(localPorts((await this.exec(this.ssPath, ["-t", "-n", "-H", "state", "listening"], 5000)).stdout));
      ports = ports.filter((port) => listening.has(port));
    }
    if (ports.length === 0) return { destroyed: 0 };
    if (ports.length > 1) return { destroyed: 0, error: `${ports.length} connections match ${client.ip} port ${client.port}; not choosing one` };
    const result = await this.exec(this.ssPath, ssKillArgs(client, ports[0]), 5000);
    const error = result.code !== 0 || /SOCK_DESTROY/.test(result.stderr) ? (result.stderr.trim() || `exit code ${result.code}`) : undefined;
    return { destroyed: lines(result.stdout).length, ...(error ? { error } : {}) };
  }
}

function lines(text: string): string[] {
  return text.split("\n").filter((line) => line.trim() !== "");
}

/** Local ports of `ss -H` lines filtered by state (columns: Recv-Q, Send-Q, local address:port, peer …). */
function localPorts(text: string): number[] {
  return lines(text).map((line) => Number(/:(\d+)$/.exec(line.trim().split(/\s+/)[2] ?? "")?.[1])).filter((port) => Number.isInteger(port) && port > 0);
}
