import xml from "@xmpp/xml";
import type { Element } from "@xmpp/xml";
import { AdminField, AdminNode, NS_DISCO_ITEMS, ONLINE_USERS_DISCO_NODE, parseDiscoOnlineUsers, parseProsodyOnlineUsers, parseUserStats, type LiveSession } from "../xmpp/admin.ts";
import { runCommand, NS_COMMANDS, type IqRequester } from "../xmpp/commands.ts";
import { StanzaError } from "../errors.ts";
import { dialects, type Dialect, type ServerKind } from "./dialects.ts";

const NS_VERSION = "jabber:iq:version";

export interface ServerIdentity {
  kind: ServerKind;
  name?: string;
  version?: string;
}

/** XEP-0133 operations on one server domain, shaped by the server's dialect. */
export class ServerAdmin {
  constructor(
    private readonly request: IqRequester,
    readonly domain: string,
    readonly dialect: Dialect,
  ) {}

  /** Every live session on the server. `details` adds addresses where the listing lacks them (one IQ per account). */
  async listSessions(options: { details?: boolean } = {}): Promise<LiveSession[]> {
    const sessions = await this.listPlain();
    return options.details && this.dialect.addressesFromStats ? this.addAddresses(sessions) : sessions;
  }

  private listPlain(): Promise<LiveSession[]> {
    switch (this.dialect.sessionListing) {
      case "online-users-details":
        return this.listByDetails();
      case "disco-online-users":
        return this.listByDisco();
      case "online-users-then-stats":
        return this.listByDisco().catch(() => this.listByStats());
    }
  }

  private async addAddresses(sessions: LiveSession[]): Promise<LiveSession[]> {
    const accounts = [...new Set(sessions.map((s) => s.bare))];
    const addressOf = new Map<string, string>();
    for (let i = 0; i < accounts.length; i += 32) {
      await Promise.all(accounts.slice(i, i + 32).map(async (bare) => {
        const stats = await this.userStats(bare).catch(() => undefined);
        stats?.resources.forEach((resource, n) => {
          const ip = stats.ips[n];
          if (ip) addressOf.set(`${bare}/${resource}`, stripPort(ip));
        });
      }));
    }
    return sessions.map((s) => {
      const ip = addressOf.get(s.jid);
      return ip ? { ...s, ip } : s;
    });
  }

  private async userStats(bare: string): Promise<{ resources: string[]; ips: string[] } | undefined> {
    const stats = await runCommand(this.request, { to: this.domain, node: AdminNode.userStats, fields: { [AdminField.accountJid]: bare } });
    return stats.form ? parseUserStats(stats.form) : undefined;
  }

  /** Whether one session has left: user-stats of its account no longer lists the resource; undefined when the server will not say. */
  async isGone(session: { bare: string; resource: string }): Promise<boolean | undefined> {
    const stats = await this.userStats(session.bare).catch(() => undefined);
    return stats ? !stats.resources.includes(session.resource) : undefined;
  }

  async endSession(fullJid: string): Promise<void> {
    await this.endSessions([fullJid]);
  }

  /** Whether one end-user-session command can end several sessions (Prosody's jid-multi `accountjids`). */
  get endsSessionsInBatches(): boolean {
    return this.dialect.endSessionField.endsWith("s");
  }

  /** Ends these sessions: one command where the server takes a list, else one per session. */
  async endSessions(fullJids: string[]): Promise<void> {
    const field = this.dialect.endSessionField;
    if (this.endsSessionsInBatches) {
      await runCommand(this.request, { to: this.domain, node: AdminNode.endUserSession, fields: { [field]: fullJids } });
      return;
    }
    await Promise.all(fullJids.map((jid) => runCommand(this.request, { to: this.domain, node: AdminNode.endUserSession, fields: { [field]: jid } })));
  }

  async announce(body: string, subject?: string): Promise<void> {
    const fields: Record<string, string> = { [this.dialect.announceBodyField]: body };
    if (subject !== undefined) fields[AdminField.subject] = subject;
    await runCommand(this.request, { to: this.domain, node: AdminNode.announce, fields });
  }

  /** Command nodes this entity may run here (empty when it is not an admin). */
  async listCommands(): Promise<string[]> {
    const result = await this.request(xml("iq", { type: "get", to: this.domain }, xml("query", { xmlns: NS_DISCO_ITEMS, node: NS_COMMANDS })));
    return itemsOf(result).map((item) => String(item.attrs.node));
  }

  private async listByDetails(): Promise<LiveSession[]> {
    const response = await runCommand(this.request, { to: this.domain, node: AdminNode.onlineUsersList, fields: { [AdminField.maxItems]: "all", [AdminField.details]: true } });
    return response.form ? parseProsodyOnlineUsers(response.form) : [];
  }

  private async listByDisco(): Promise<LiveSession[]> {
    const result = await this.request(xml("iq", { type: "get", to: this.domain }, xml("query", { xmlns: NS_DISCO_ITEMS, node: ONLINE_USERS_DISCO_NODE })));
    const query = result.getChild("query", NS_DISCO_ITEMS);
    return query ? parseDiscoOnlineUsers(query) : [];
  }

  private async listByStats(): Promise<LiveSession[]> {
    const list = await runCommand(this.request, { to: this.domain, node: AdminNode.onlineUsersList, fields: { [AdminField.maxItems]: "all" } });
    const bares = list.form?.fields.find((f) => f.var === AdminField.onlineUserJids)?.values ?? [];
    const sessions: LiveSession[] = [];
    for (const bare of bares) {
      const stats = await this.userStats(bare);
      stats?.resources.forEach((resource, i) => {
        const ip = stats.ips[i];
        sessions.push({ jid: `${bare}/${resource}`, bare, resource, ...(ip ? { ip: stripPort(ip) } : {}) });
      });
    }
    return sessions;
  }
}

/** Which server this is: XEP-0092 software version first, then the shape of its command list. */
export async function identifyServer(request: IqRequester, domain: string): Promise<ServerIdentity> {
  try {
    const result = await request(xml("iq", { type: "get", to: domain }, xml("query", { xmlns: NS_VERSION })));
    const query = result.getChild("query", NS_VERSION);
    const name = query?.getChildText("name") ?? undefined;
    const version = query?.getChildText("version") ?? undefined;
    const kind = kindFromName(name);
    return { kind, ...(name ? { name } : {}), ...(version ? { version } : {}) };
  } catch (err) {
    if (!(err instanceof StanzaError)) throw err;
  }
  const nodes = await new ServerAdmin(request, domain, dialects.generic).listCommands().catch(() => []);
  if (nodes.some((n) => n.startsWith("http://prosody.im/protocol/"))) return { kind: "prosody" };
  if (nodes.some((n) => n.startsWith("running nodes/"))) return { kind: "ejabberd" };
  return { kind: "generic" };
}

function kindFromName(name: string | undefined): ServerKind {
  const lower = (name ?? "").toLowerCase();
  if (lower.includes("prosody")) return "prosody";
  if (lower.includes("ejabberd")) return "ejabberd";
  return "generic";
}

/** ejabberd reports "ip:port" (and "[v6]:port" or bare v6 with port); people want the address. */
function stripPort(address: string): string {
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(address);
  if (bracketed) return bracketed[1] as string;
  const v4 = /^(\d+\.\d+\.\d+\.\d+):\d+$/.exec(address);
  return v4 ? (v4[1] as string) : address;
}

function itemsOf(result: Element): Element[] {
  return result.getChild("query", NS_DISCO_ITEMS)?.getChildren("item") ?? [];
}
