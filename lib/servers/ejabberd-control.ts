import type { HostPort } from "../xmpp/address.ts";
import { c2sPortsFromConfig, ejabberdSeeOtherHost, streamErrorXml, type ConnectedUser, type Ejabberdctl } from "./ejabberdctl.ts";
import type { ClientAddress, ControlResult, SessionControl } from "./session-control.ts";

/** How long one `connected_users_info` table answers address lookups (each call starts an Erlang VM, ~0.5-1 s). */
const TABLE_TTL_MS = 2000;

/** Sessions on ejabberd 23.01 through ejabberdctl: stream errors via send_stanza_c2s, addresses via connected_users_info. */
export class EjabberdControl implements SessionControl {
  readonly channel = "ejabberdctl";
  private table: { at: number; users: Promise<ConnectedUser[]> } | undefined;
  /** This node's c2s listener ports (from its ejabberd.yml): the server end of each client connection. */
  private readonly c2sPorts: number[];

  constructor(
    private readonly ctl: Ejabberdctl,
    c2sPorts?: number[],
  ) {
    this.c2sPorts = c2sPorts ?? c2sPortsFromConfig(ctl.config.configDir);
  }

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
    return user ? { ip: user.ip, port: user.port, ...(this.c2sPorts.length ? { serverPorts: this.c2sPorts } : {}) } : undefined;
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
