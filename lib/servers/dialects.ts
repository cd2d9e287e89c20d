import { AdminField, AdminNode } from "../xmpp/admin.ts";

export type ServerKind = "prosody" | "ejabberd" | "generic";

/** What runs cxfr's admin commands: the component itself, or a c2s admin account. */
export type AdminEntity = "component" | "account";

/** How a server lists live sessions with their resources. */
export type SessionListing =
  | "online-users-details" // XEP-0133 get-online-users-list with Prosody's `details` field
  | "disco-online-users" // disco#items node 'online users' (ejabberd): full JIDs
  | "online-users-then-stats"; // XEP-0133 bare list, then user-stats per account

/** Everything that differs between servers, as data. Field names come from the servers' forms (see shared/research). */
export interface Dialect {
  kind: ServerKind;
  sessionListing: SessionListing;
  /** The listing lacks addresses: fetch them with user-stats when the caller wants details. */
  addressesFromStats: boolean;
  /**
   * The server completes a command whose first execute already carries the filled form (one round trip, not two).
   * Probed on Prosody's mod_admin_adhoc and ejabberd's mod_configure; an unknown server gets both stages.
   */
  formOnExecute: boolean;
  endSessionField: string;
  announceBodyField: string;
  /** Server text for how to make `jid` (the component, or the c2s admin account) an admin. */
  adminSnippet: (jid: string, entity?: AdminEntity) => string;
  /** Server text for allowing stanzas from the users' domain. */
  fromDomainSnippet: (component: string) => string;
}

export const dialects: Record<ServerKind, Dialect> = {
  prosody: {
    kind: "prosody",
    sessionListing: "online-users-details",
    addressesFromStats: false,
    formOnExecute: true,
    endSessionField: AdminField.accountJids,
    announceBodyField: AdminField.announcement,
    adminSnippet: (jid) => `prosody.cfg.lua, global section: admins = { "${jid}" }  (plus modules "adhoc", "admin_adhoc", "announce")`,
    fromDomainSnippet: (c) => `prosody.cfg.lua: Component "${c}" ... validate_from_addresses = false`,
  },
  ejabberd: {
    kind: "ejabberd",
    sessionListing: "disco-online-users",
    addressesFromStats: true,
    formOnExecute: true,
    endSessionField: AdminField.accountJid,
    announceBodyField: AdminField.body,
    adminSnippet: (jid, entity = "component") => `ejabberd.yml: acl: { admin: { ${entity === "account" ? "user" : "server"}: [${jid}] } } and access_rules: { configure: { allow: admin }, announce: { allow: admin } }  (modules mod_adhoc, mod_configure, mod_announce)`,
    fromDomainSnippet: () => `ejabberd.yml: on the ejabberd_service listener: check_from: false`,
  },
  generic: {
    kind: "generic",
    sessionListing: "online-users-then-stats",
    addressesFromStats: false,
    formOnExecute: false,
    endSessionField: AdminField.accountJids,
    announceBodyField: AdminField.announcement,
    adminSnippet: (jid) => `grant ${jid} the server's admin rights for XEP-0133 commands`,
    fromDomainSnippet: (c) => `allow component ${c} to send stanzas from the users' domain`,
  },
};

/** Admin commands cxfr uses, and what for. */
export const neededCommands = [
  { node: AdminNode.endUserSession, purpose: "end sessions (fallback kick)", required: true },
  { node: AdminNode.onlineUsersList, purpose: "list online users", required: false },
  { node: AdminNode.userStats, purpose: "per-user resources", required: false },
  { node: AdminNode.announce, purpose: "announce before a drain", required: false },
] as const;
