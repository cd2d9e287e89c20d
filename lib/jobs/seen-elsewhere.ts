import type { SessionRef } from "../methods/method.ts";
import type { LiveSession } from "../xmpp/admin.ts";
import { canonicalJid, sameJid } from "../xmpp/jid.ts";

/** Every target node's sessions in one list; a listing that fails counts as showing nothing. */
export async function readListings(listings: Array<() => Promise<LiveSession[]>>): Promise<LiveSession[]> {
  return (await Promise.all(listings.map((list) => list().catch(() => [] as LiveSession[])))).flat();
}

/** How long one round of target listings answers every session asking (many sessions are reset at once). */
const LISTING_TTL_MS = 500;

/**
 * Whether a reset client is back on one of the target nodes: its full JID is listed there, or a resource of its
 * account that was not listed there when this session was first asked about (another device of the same account,
 * online there all along, does not count). `listings` reads each target node's sessions; a failing one counts as
 * showing nothing.
 */
export function seenElsewhere(listings: Array<() => Promise<LiveSession[]>>, now: () => number = Date.now): (session: SessionRef) => Promise<boolean> {
  let round: { at: number; sessions: Promise<LiveSession[]> } | undefined;
  const listed = (): Promise<LiveSession[]> => {
    if (!round || now() - round.at >= LISTING_TTL_MS) {
      const sessions = readListings(listings);
      round = { at: now(), sessions };
    }
    return round.sessions;
  };
  /** Per session asked about: the full JIDs of its account on the targets at the first ask. */
  const before = new Map<string, Set<string>>();
  return async (session) => {
    const key = canonicalJid(session.jid);
    const mine = (await listed()).filter((s) => sameJid(s.bare, session.bare)).map((s) => canonicalJid(s.jid));
    if (mine.includes(key)) return true;
    const known = before.get(key);
    if (!known) {
      before.set(key, new Set(mine));
      return false;
    }
    return mine.some((jid) => !known.has(jid));
  };
}
