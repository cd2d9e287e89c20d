import { parseJid, type Jid } from "../xmpp/jid.ts";

const key = (j: Jid): string => `${j.local === undefined ? "" : `${j.local.toLowerCase()}@`}${j.domain.toLowerCase()}`;

/**
 * Decides who may move this session: the user's own server (its bare domain JID) and the `trusted`
 * entries, a bare entry matching any resource of it, a full entry only itself. Entries are checked
 * here, so a typo fails at start-up rather than refusing every transfer.
 */
export function senderPolicy(trusted: readonly string[]): (from: string, ownDomain: string) => boolean {
  const entries = trusted.map((t, i) => parseJid(t, `trusted[${i}]`));
  return (from, ownDomain) => {
    // RFC 6120 §8.1.2.1: a stanza without 'from' comes from the user's own server.
    if (from === "") return true;
    let sender: Jid;
    try {
      sender = parseJid(from, "from");
    } catch {
      return false;
    }
    if (sender.local === undefined && sender.resource === undefined && sender.domain.toLowerCase() === ownDomain.toLowerCase()) {
      return true;
    }
    return entries.some(
      (e) => key(e) === key(sender) && (e.resource === undefined || e.resource === sender.resource),
    );
  };
}
