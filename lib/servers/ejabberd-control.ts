import { readFile } from "node:fs/promises";
import { parse as parseYaml } from "yaml";
import type { HostPort } from "../xmpp/address.ts";
import { ejabberdSeeOtherHost, streamErrorXml, type ConnectedUser, type Ejabberdctl } from "./ejabberdctl.ts";
import type { ClientAddress, ControlResult, SessionControl } from "./session-control.ts";

/** How long one `connected_users_info` table answers address lookups (each call starts an Erlang VM, ~0.5-1 s). */
const TABLE_TTL_MS = 2000;

/** Sessions on ejabberd 23.01 through ejabberdctl: stream errors via send_stanza_c2s, addresses via connected_users_info. */
export class EjabberdControl implements SessionControl {
  readonly channel = "ejabberdctl";
  private table: { at: number; users: Promise<ConnectedUser[]> } | undefined;

  private c2sPort: Promise<number | undefined> | undefined;

  constructor(private readonly ctl: Ejabberdctl) {}

  seeOtherHostProblem(target: HostPort): string | undefined {
    const form = ejabberdSeeOtherHost(target);
    return "why" in form ? form.why : undefined;
  }

  seeOtherHost(jid: string, target: HostPort): Promise<ControlResult> {
    const form = ejabberdSeeOtherHost(target);
    if ("why" in form) return Promise.resolve({ done: false, why: form.why });
    return this.send(jid, streamErrorXml("see-other-host", form.text));
  }

  shutdown(jid: string): Promise<ControlResult> {
    return this.send(jid, streamErrorXml("system-shutdown"));
  }

  /** From a shared connected_users_info table; a session missing from a table older than this call is looked up afresh. */
  async clientAddress(jid: string): Promise<ClientAddress | undefined> {
    const asked = Date.now();
    let user = (await this.usersTable(asked - TABLE_TTL_MS)).find((u) => u.jid === jid);
    if (!user && (this.table?.at ?? 0) < asked) user = (await this.usersTable(asked)).find((u) => u.jid === jid);
    if (!user) return undefined;
    const serverPort = await (this.c2sPort ??= c2sPortOf(`${this.ctl.config.configDir}/ejabberd.yml`));
    return { ip: user.ip, port: user.port, ...(serverPort !== undefined ? { serverPort } : {}) };
  }

  /** The table, fetched again unless the current one was fetched at or after `notBefore`. */
  private usersTable(notBefore: number): Promise<ConnectedUser[]> {
    if (!this.table || this.table.at < notBefore) {
      const table = { at: Date.now(), users: this.ctl.connectedUsersInfo() };
      table.users.catch(() => this.table === table && (this.table = undefined));
      this.table = table;
    }
    return this.table.users;
  }

  async stop(): Promise<void> {
    this.table = undefined;
  }

  private async send(jid: string, element: string): Promise<ControlResult> {
    const failure = await this.ctl.sendStanzaC2s(jid, element);
    return failure === undefined ? { done: true } : { done: false, why: `ejabberdctl send_stanza_c2s: ${failure}` };
  }
}

/**
 * The one ejabberd_c2s listener port in ejabberd.yml, or undefined when there are none or several: it narrows a socket
 * destroy to the server's end of the client's connection (this host may talk to the same client port elsewhere).
 */
export async function c2sPortOf(path: string): Promise<number | undefined> {
  try {
    const config = parseYaml(await readFile(path, "utf8")) as { listen?: Array<{ port?: unknown; module?: unknown }> } | null;
    const ports = (config?.listen ?? []).filter((l) => l.module === "ejabberd_c2s").map((l) => Number(l.port)).filter((p) => Number.isInteger(p) && p > 0);
    return ports.length === 1 ? ports[0] : undefined;
  } catch {
    return undefined;
  }
}
