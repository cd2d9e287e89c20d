import xml from "@xmpp/xml";
import type { Element } from "@xmpp/xml";
import { AdminNode, parseDiscoOnlineUsers, parseProsodyOnlineUsers, parseUserStats, type LiveSession } from "../xmpp/admin.ts";
import { runCommand, NS_COMMANDS, type IqRequester } from "../xmpp/commands.ts";
import { StanzaError } from "../errors.ts";
import { dialects, type Dialect, type ServerKind } from "./dialects.ts";

const NS_DISCO_ITEMS = "http://jabber.org/protocol/disco#items";
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

  async listSessions(): Promise<LiveSession[]> {
    switch (this.dialect.sessionListing) {
      case "online-users-details":
        return this.listByDetails();
      case "disco-online-users":
        return this.listByDisco();
      case "online-users-then-stats":
        return this.listByDisco().catch(() => this.listByStats());
    }
  }

  async endSession(fullJid: string): Promise<void> {
    const field = this.dialect.endSessionField;
    await runCommand(this.request, { to: this.domain, node: AdminNode.endUserSession, fields: { [field]: field.endsWith("s") ? [fullJid] : fullJid } });
  }

  async announce(body: string, subject?: string): Promise<void> {
    const fields: Record<string, string> = { [this.dialect.announceBodyField]: body };
    if (subject !== undefined) fields.subject = subject;
    await runCommand(this.request, { to: this.domain, node: AdminNode.announce, fields });
  }

  /** Command nodes this entity may run here (empty when it is not an admin). */
  async listCommands(): Promise<string[]> {
    const result = await this.request(xml("iq", { type: "get", to: this.domain }, xml("query", { xmlns: NS_DISCO_ITEMS, node: NS_COMMANDS })));
    return itemsOf(result).map((item) => String(item.attrs.node));
  }

  private async listByDetails(): Promise<LiveSession[]> {
    const response = await runCommand(this.request, { to: this.domain, node: AdminNode.onlineUsersList, fields: { max_items: "all", details: true } });
    return response.form ? parseProsodyOnlineUsers(response.form) : [];
  }

  private async listByDisco(): Promise<LiveSession[]> {
    const result = await this.request(xml("iq", { type: "get", to: this.domain }, xml("query", { xmlns: NS_DISCO_ITEMS, node: "online users" })));
    const query = result.getChild("query", NS_DISCO_ITEMS);
    return query ? parseDiscoOnlineUsers(query) : [];
  }

  private async listByStats(): Promise<LiveSession[]> {
    const list = await runCommand(this.request, { to: this.domain, node: AdminNode.onlineUsersList, fields: { max_items: "all" } });
    const bares = list.form?.fields.find((f) => f.var === "onlineuserjids")?.values ?? [];
    const sessions: LiveSession[] = [];
    for (const bare of bares) {
      const stats = await runCommand(this.request, { to: this.domain, node: AdminNode.userStats, fields: { accountjid: bare } });
      if (!stats.form) continue;
      const { resources, ips } = parseUserStats(stats.form);
      resources.forEach((resource, i) => {
        const ip = ips[i];
        sessions.push({ jid: `${bare}/${resource}`, bare, resource, ...(ip ? { ip } : {}) });
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

function itemsOf(result: Element): Element[] {
  return result.getChild("query", NS_DISCO_ITEMS)?.getChildren("item") ?? [];
}
