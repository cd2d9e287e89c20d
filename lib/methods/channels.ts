// Which server-host channels a node has (admin socket, ejabberdctl, socket destroy), what `cxfr check` says about
// each, the method chain they allow, and the method modules built on them.
import { existsSync, statSync } from "node:fs";
import type { NodeConfig } from "../config.ts";
import { EjabberdControl } from "../servers/ejabberd-control.ts";
import { Ejabberdctl } from "../servers/ejabberdctl.ts";
import { ProsodyControl } from "../servers/prosody-control.ts";
import { ProsodyShell } from "../servers/prosody-shell.ts";
import type { SessionControl } from "../servers/session-control.ts";
import type { ServerKind } from "../servers/dialects.ts";
import { CloseMethod } from "./close.ts";
import { KickMethod, type SessionEnder } from "./kick.ts";
import { METHOD_NAMES, type ChannelReport, type Method, type MethodName } from "./method.ts";
import { ResetMethod } from "./reset.ts";
import { SeeOtherHostMethod } from "./see-other-host.ts";
import { SOCKET_DESTROY_NEEDS, SocketDestroyer } from "./socket-destroy.ts";

const DEBIAN_PROSODY_SOCKET = "/var/lib/prosody/prosody.sock";
const DEBIAN_EJABBERDCTL = "/usr/sbin/ejabberdctl";
const ADMIN_SOCKET_NEEDS = "mod_admin_shell in Prosody's modules_enabled; read/write on data_path/prosody.sock (root or the prosody user); node config admin_socket";
const EJABBERDCTL_NEEDS = "root or the ejabberd user on the server host; node config ejabberdctl {path, node, config_dir} (mod_admin_extra loaded)";

/** The admin channel for this node's server kind, or undefined when none is configured. */
export function sessionControlFor(node: NodeConfig, kind: ServerKind): SessionControl | undefined {
  if (kind !== "ejabberd" && node.adminSocket) return new ProsodyControl(node.adminSocket);
  if (kind !== "prosody" && node.ejabberdctl) return new EjabberdControl(new Ejabberdctl(node.ejabberdctl));
  return undefined;
}

export async function probeAdminSocket(path: string | undefined): Promise<ChannelReport> {
  const report = { channel: "admin-socket", needs: ADMIN_SOCKET_NEEDS };
  if (!path) {
    const hint = existsSync(DEBIAN_PROSODY_SOCKET) ? ` (${DEBIAN_PROSODY_SOCKET} exists: set admin_socket to it)` : "";
    return { ...report, found: false, usable: false, why: `admin_socket is not configured for this node${hint}` };
  }
  let isSocket: boolean;
  try {
    isSocket = statSync(path).isSocket();
  } catch (err) {
    return { ...report, found: false, usable: false, why: `${path}: ${(err as NodeJS.ErrnoException).code ?? "cannot stat"} (is mod_admin_shell enabled and Prosody running?)` };
  }
  if (!isSocket) return { ...report, found: false, usable: false, why: `${path} is not a unix socket` };
  try {
    const shell = await ProsodyShell.connect(path, { timeoutMs: 3000 });
    try {
      const result = await shell.run(">return prosody.version");
      return result.ok ? { ...report, found: true, usable: true, why: `Prosody ${result.text.replace(/^Result: /, "")}` } : { ...report, found: true, usable: false, why: result.text };
    } finally {
      await shell.close();
    }
  } catch (err) {
    return { ...report, found: true, usable: false, why: (err as Error).message };
  }
}

export async function probeEjabberdctl(node: NodeConfig): Promise<ChannelReport> {
  const report = { channel: "ejabberdctl", needs: EJABBERDCTL_NEEDS };
  if (!node.ejabberdctl) {
    const hint = existsSync(DEBIAN_EJABBERDCTL) ? ` (${DEBIAN_EJABBERDCTL} exists)` : "";
    return { ...report, found: false, usable: false, why: `ejabberdctl is not configured for this node${hint}` };
  }
  if (!existsSync(node.ejabberdctl.path)) return { ...report, found: false, usable: false, why: `${node.ejabberdctl.path} not found` };
  try {
    const result = await new Ejabberdctl(node.ejabberdctl, undefined, 20_000).run("status");
    const first = (result.stdout.trim() || result.stderr.trim()).split("\n")[0] ?? "";
    return result.code === 0 ? { ...report, found: true, usable: true, why: first } : { ...report, found: true, usable: false, why: first || `exit code ${result.code}` };
  } catch (err) {
    return { ...report, found: true, usable: false, why: (err as Error).message };
  }
}

export async function probeSocketDestroy(destroyer = new SocketDestroyer()): Promise<ChannelReport> {
  const permission = await destroyer.permission();
  return { channel: "socket-destroy", found: true, usable: permission.ok, needs: SOCKET_DESTROY_NEEDS, ...(permission.ok ? {} : { why: permission.why }) };
}

/** Every channel this server kind can use, probed on this host. */
export async function probeChannels(node: NodeConfig, kind: ServerKind, destroyer?: SocketDestroyer): Promise<ChannelReport[]> {
  const admin = kind === "ejabberd" ? [] : [await probeAdminSocket(node.adminSocket)];
  const ctl = kind === "prosody" ? [] : [await probeEjabberdctl(node)];
  return [...admin, ...ctl, await probeSocketDestroy(destroyer)];
}

/**
 * The default method chain these channels allow, best first: cxfr always; see-other-host and close with a usable
 * admin channel; reset also needs socket destroy; kick needs admin rights (end-user-session).
 */
export function availableMethods(channels: ChannelReport[], options: { isAdmin: boolean }): MethodName[] {
  const usable = (name: string) => channels.some((c) => c.channel === name && c.usable);
  const control = usable("admin-socket") || usable("ejabberdctl");
  const allowed: Record<MethodName, boolean> = {
    cxfr: true,
    "see-other-host": control,
    reset: control && usable("socket-destroy"),
    close: control,
    kick: options.isAdmin,
  };
  return METHOD_NAMES.filter((name) => allowed[name]);
}

/** The method modules other than cxfr (which the job engine provides), each usable alone. */
export function buildMethods(control: SessionControl | undefined, admin: SessionEnder | undefined, destroyer = new SocketDestroyer()): Record<Exclude<MethodName, "cxfr">, Method> {
  return {
    "see-other-host": new SeeOtherHostMethod(control),
    reset: new ResetMethod(destroyer, control),
    close: new CloseMethod(control),
    kick: new KickMethod(admin),
  };
}
