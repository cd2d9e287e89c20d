// `--rate auto` on configured target nodes: watches the targets' listings for the users a job moved, so the
// controller learns how long a moved user takes to be back (packet → listed on a target) and how many are
// still on their way. One round of listings serves every awaited user; rounds come at most every
// MIN_ROUND_MS, and never take more than a fifth of the time (a big target's listing is slow).
import type { LiveSession } from "../xmpp/admin.ts";
import { canonicalJid } from "../xmpp/jid.ts";
import { nap, type Clock } from "./clock.ts";
import { LISTING_SHARE } from "./listing-cost.ts";
import { readListings } from "./seen-elsewhere.ts";

const MIN_ROUND_MS = 500;

export interface Awaited {
  /** the session's full JID on the source node */
  jid: string;
  bare: string;
}

export interface AppearanceWatchOptions {
  /** Reads each target node's sessions; a failing one counts as showing nothing this round. */
  listings: Array<() => Promise<LiveSession[]>>;
  clock: Clock;
  /** A user seen back on a target, `afterMs` after its method. */
  onBack(user: Awaited, afterMs: number): void;
  /** A user not seen back within `giveUpMs` (default 60 s): no longer awaited. */
  onGiveUp(user: Awaited): void;
  giveUpMs?: number;
}

export interface AppearanceWatch {
  /** The method for this session was applied now: watch for its user on the targets. */
  expect(user: Awaited): void;
  /** Resolves once the sessions already on the targets are known (the baseline); expect() before that is kept. */
  readonly ready: Promise<void>;
  stop(): void;
}

/**
 * A user is back when a session of its account shows on a target that was not there when the watch started: the
 * same full JID (a client that logs in again with its resource) or a new resource. Another device of the same
 * account, online on a target all along, does not count.
 */
export function watchAppearances(o: AppearanceWatchOptions): AppearanceWatch {
  const giveUpMs = o.giveUpMs ?? 60_000;
  const awaited = new Map<string, { user: Awaited; since: number }>();
  let before = new Set<string>();
  let stopped = false;
  const stop = new AbortController();

  const listAll = () => readListings(o.listings);

  const ready = listAll().then((sessions) => {
    before = new Set(sessions.map((s) => canonicalJid(s.jid)));
  });

  const round = async (): Promise<number> => {
    const began = o.clock.now();
    const sessions = await listAll();
    const now = o.clock.now();
    const fresh = new Map<string, number>();
    for (const s of sessions) {
      const jid = canonicalJid(s.jid);
      if (before.has(jid)) continue;
      const bare = canonicalJid(s.bare);
      fresh.set(bare, (fresh.get(bare) ?? 0) + 1);
    }
    for (const [key, { user, since }] of awaited) {
      const bare = canonicalJid(user.bare);
      const count = fresh.get(bare) ?? 0;
      if (count > 0) {
        // one new session of the account stands for one awaited session of it
        fresh.set(bare, count - 1);
        awaited.delete(key);
        o.onBack(user, Math.max(0, now - since));
      } else if (now - since > giveUpMs) {
        awaited.delete(key);
        o.onGiveUp(user);
      }
    }
    return now - began;
  };

  const loop = async (): Promise<void> => {
    await ready;
    let lastMs = 0;
    while (!stopped) {
      await nap(o.clock, Math.max(MIN_ROUND_MS, LISTING_SHARE * lastMs), stop.signal);
      if (stopped) break;
      if (awaited.size > 0) lastMs = await round();
    }
  };
  void loop();

  return {
    ready,
    expect(user) {
      if (!stopped) awaited.set(canonicalJid(user.jid), { user, since: o.clock.now() });
    },
    stop() {
      stopped = true;
      stop.abort();
    },
  };
}
