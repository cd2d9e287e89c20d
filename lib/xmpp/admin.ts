import type { Element } from "@xmpp/xml";
import { ProtocolError } from "../errors.ts";
import type { DataForm } from "./forms.ts";

/** XEP-0133 Service Administration: command nodes, FORM_TYPE and the field names both servers use. */
const ADMIN = "http://jabber.org/protocol/admin";

export const AdminNode = {
  onlineUsersList: `${ADMIN}#get-online-users-list`,
  endUserSession: `${ADMIN}#end-user-session`,
  userStats: `${ADMIN}#user-stats`,
  announce: `${ADMIN}#announce`,
  addUser: `${ADMIN}#add-user`,
} as const;

export const AdminField = {
  onlineUserJids: "onlineuserjids",
  maxItems: "max_items",
  details: "details",
  /** Prosody's end-user-session: jid-multi. */
  accountJids: "accountjids",
  /** ejabberd's end-user-session and both servers' user-stats: jid-single. */
  accountJid: "accountjid",
  onlineResources: "onlineresources",
  ipAddresses: "ipaddresses",
  subject: "subject",
  /** Prosody's announce body field. */
  announcement: "announcement",
  /** ejabberd's announce body field. */
  body: "body",
} as const;

export const NS_DISCO_ITEMS = "http://jabber.org/protocol/disco#items";
/** ejabberd's disco#items node listing every session as a full JID. */
export const ONLINE_USERS_DISCO_NODE = "online users";

export interface LiveSession {
  jid: string;
  bare: string;
  resource: string;
  ip?: string;
  show?: string;
  priority?: number;
}

/**
 * One Prosody detail line without its " - " prefix: `<resource>: <show>(<priority>|-), IP: [<ip>]`.
 * The greedy resource group makes the split fall on the last ": " before the show token, so resources may
 * themselves contain ": ".
 */
const PROSODY_DETAIL = /^(.+): ([^\s()]+)\((-?\d+|-)\), IP: \[([^\]]*)\]$/;
const DETAIL_PREFIX = " - ";
/** Presence words Prosody prints; anything else in the show position is user text and is not kept. */
const PROSODY_SHOWS = new Set(["available", "unavailable", "away", "chat", "dnd", "xa"]);

function prosodySession(bare: string, detail: string): LiveSession | undefined {
  const match = PROSODY_DETAIL.exec(detail);
  if (!match) {
    // Unknown layout: keep the session visible with what can be read safely.
    const lastSeparator = detail.lastIndexOf(": ");
    const resource = lastSeparator > 0 ? detail.slice(0, lastSeparator) : "";
    return resource ? { jid: `${bare}/${resource}`, bare, resource } : undefined;
  }
  const [, resource = "", show = "", priority = "-", ip = ""] = match;
  const session: LiveSession = { jid: `${bare}/${resource}`, bare, resource };
  // Prosody prints "unknown" when the session has no address.
  if (ip !== "" && ip !== "unknown") session.ip = ip;
  if (PROSODY_SHOWS.has(show)) session.show = show;
  if (priority !== "-") session.priority = Number(priority);
  return session;
}

/** The values of a field the reply must carry: a reply without it is broken, not empty (issue 6 defect 2). */
export function requiredFieldValues(form: DataForm | undefined, name: string, what: string): string[] {
  const field = form?.fields.find((f) => f.var === name);
  if (!field) throw new ProtocolError(`${what}: the reply has no ${form ? `field "${name}"` : "data form"}`);
  return field.values;
}

/**
 * Prosody's get-online-users-list with details=1: a bare JID line, then one " - res: show(prio), IP: [ip]" line
 * per session. `unavailable(-)` is a session that sent no presence (priority stays undefined).
 * These are claims, not facts: Prosody copies each user's own <show> text into the lines, so a user can forge
 * lines (and sessions of other accounts). ServerAdmin confirms them with user-stats before anyone acts on them.
 */
export function parseProsodyOnlineUsers(form: DataForm | undefined): LiveSession[] {
  const sessions: LiveSession[] = [];
  let bare: string | undefined;
  const read = (line: string) => {
    if (!line.startsWith(DETAIL_PREFIX)) {
      bare = line.trim() || undefined;
      return;
    }
    const session = bare && prosodySession(bare, line.slice(DETAIL_PREFIX.length));
    if (session) sessions.push(session);
  };
  // Prosody sends one line per value; a value is split only when it holds several (10,000 sessions: 20,000 values)
  for (const value of requiredFieldValues(form, AdminField.onlineUserJids, "get-online-users-list")) {
    if (value.includes("\n")) value.split(/\r?\n/).forEach(read);
    else read(value);
  }
  return sessions;
}

/** ejabberd's disco#items node "online users" (the `<query/>` or the `<iq/>` around it): one full JID per item. */
export function parseDiscoOnlineUsers(query: Element): LiveSession[] {
  const items = query.name === "iq" ? (query.getChild("query", NS_DISCO_ITEMS)?.getChildren("item") ?? []) : query.getChildren("item");
  const sessions: LiveSession[] = [];
  for (const item of items) {
    const jid: unknown = item.attrs.jid;
    if (typeof jid !== "string") continue;
    const slash = jid.indexOf("/");
    // Bare items (the "all users" node) name accounts, not sessions.
    if (slash <= 0 || slash === jid.length - 1) continue;
    sessions.push({ jid, bare: jid.slice(0, slash), resource: jid.slice(slash + 1) });
  }
  return sessions;
}

/**
 * user-stats: resource names and addresses, one per session in the same order. Addresses are as the server
 * wrote them: Prosody gives the IP, ejabberd `ip:port`.
 */
export function parseUserStats(form: DataForm | undefined): UserStats {
  return {
    resources: requiredFieldValues(form, AdminField.onlineResources, "user-stats"),
    ips: form?.fields.find((f) => f.var === AdminField.ipAddresses)?.values ?? [],
  };
}

export interface UserStats {
  resources: string[];
  ips: string[];
}
