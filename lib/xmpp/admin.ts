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

/** The values of a field the reply must carry: a reply without it is broken, not empty (issue 6 defect 2). */
export function requiredFieldValues(form: DataForm | undefined, name: string, what: string): string[] {
  const field = form?.fields.find((f) => f.var === name);
  if (!field) throw new ProtocolError(`${what}: the reply has no ${form ? `field "${name}"` : "data form"}`);
  return field.values;
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
