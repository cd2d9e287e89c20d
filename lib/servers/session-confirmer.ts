import type { LiveSession, UserStats } from "../xmpp/admin.ts";
import { canonicalJid, parseFullJid } from "../xmpp/jid.ts";

/** user-stats IQs in flight at once while confirming a listing. */
export const STATS_PIPELINE = 48;

interface Confirmed {
  /** The account's claimed lines as listed when it was confirmed: any change asks the server again. */
  fingerprint: string;
  sessions: LiveSession[];
}

/**
 * Turns a listing that carries user-controlled text (Prosody's details lines) into sessions the server confirms.
 * It is handed accounts of the node's own domain (prosody-listing.ts picks them); each account's sessions are then
 * exactly the resources user-stats reports (addresses from user-stats too), with show/priority kept from the listing
 * where one unambiguous line names the resource. An account whose claimed lines are unchanged since the last
 * confirmation is not asked again, so repeated scans cost one IQ per account that changed.
 */
export class SessionConfirmer {
  private confirmed = new Map<string, Confirmed>();

  constructor(
    private readonly userStats: (bare: string) => Promise<UserStats>,
    private readonly pipeline = STATS_PIPELINE,
  ) {}

  /** Confirms these accounts (canonical bare JIDs of our domain, each with the lines claimed for it, maybe none). */
  async confirmAccounts(accounts: ReadonlyMap<string, LiveSession[]>): Promise<LiveSession[]> {
    const next = new Map<string, Confirmed>();
    const unconfirmed: Array<[string, LiveSession[], string]> = [];
    for (const [bare, claimed] of accounts) {
      const fingerprint = JSON.stringify(claimed.map((c) => [c.resource, c.show, c.priority, c.ip]));
      const known = this.confirmed.get(bare);
      if (known?.fingerprint === fingerprint) next.set(bare, known);
      else unconfirmed.push([bare, claimed, fingerprint]);
    }
    await forEachPipelined(unconfirmed, this.pipeline, async ([bare, claimed, fingerprint]) => {
      next.set(bare, { fingerprint, sessions: sessionsOf(bare, claimed, await this.userStats(bare)) });
    });
    this.confirmed = next;
    return [...accounts.keys()].flatMap((bare) => next.get(bare)?.sessions ?? []);
  }
}

/** The session in canonical form when it is a valid full JID of `domain` (canonical), else undefined. */
export function ownSession(session: LiveSession, domain: string): LiveSession | undefined {
  let jid;
  try {
    jid = parseFullJid(session.jid, "session");
  } catch {
    return undefined;
  }
  if (canonicalJid(jid.domain) !== domain) return undefined;
  const bare = canonicalJid({ local: jid.local, domain: jid.domain });
  return { ...session, jid: `${bare}/${jid.resource}`, bare, resource: jid.resource };
}

function sessionsOf(bare: string, claimed: LiveSession[], stats: UserStats): LiveSession[] {
  const sessions: LiveSession[] = [];
  const seen = new Set<string>();
  stats.resources.forEach((resource, i) => {
    const session = ownSession({ jid: `${bare}/${resource}`, bare, resource }, canonicalJid(bare.slice(bare.indexOf("@") + 1)));
    if (!session || seen.has(session.jid)) return;
    seen.add(session.jid);
    const lines = claimed.filter((c) => c.resource === resource);
    const line = lines.length === 1 ? lines[0] : undefined;
    const ip = stats.ips[i];
    sessions.push({
      ...session,
      ...(ip ? { ip: stripPort(ip) } : {}),
      ...(line?.show !== undefined && { show: line.show }),
      ...(line?.priority !== undefined && { priority: line.priority }),
    });
  });
  return sessions;
}

/** Runs `task` over `items` with at most `limit` running at once; rejects with the first failure. */
export async function forEachPipelined<T>(items: readonly T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await task(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** ejabberd reports "ip:port" (and "[v6]:port" or bare v6 with port); people want the address. */
export function stripPort(address: string): string {
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(address);
  if (bracketed) return bracketed[1] as string;
  const v4 = /^(\d+\.\d+\.\d+\.\d+):\d+$/.exec(address);
  return v4 ? (v4[1] as string) : address;
}
