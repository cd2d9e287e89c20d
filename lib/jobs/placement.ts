// Planners for redirect and rebalance: pure functions from where sessions are (a placement) to which
// session goes where (a plan). The engine (TransferJob) then moves the planned sessions, paced.
import { InputError } from "../errors.ts";
import type { LiveSession } from "../xmpp/admin.ts";
import { unitHash } from "./home.ts";

/** Live sessions per node name; every node in scope has an entry, empty or not. */
export type Placement = Map<string, LiveSession[]>;

export interface Move {
  from: string;
  to: string;
}

/** Full JID → where it is and where it goes. */
export type Plan = Map<string, Move>;

/** Every session whose home (when it has one) is not the node it is on goes home. */
export function planRedirect(placement: Placement, homeOf: (bare: string) => string | undefined): Plan {
  const plan: Plan = new Map();
  for (const [node, sessions] of placement) {
    for (const s of sessions) {
      const home = homeOf(s.bare);
      if (home !== undefined && home !== node && placement.has(home)) plan.set(s.jid, { from: node, to: home });
    }
  }
  return plan;
}

/** Sessions in a stable order: by a hash of the account (salted), so an account's sessions stay together. */
function stableOrder(sessions: LiveSession[], salt: string): LiveSession[] {
  return sessions
    .map((s) => ({ s, rank: unitHash(`${salt}\u0000${s.bare}`) }))
    .sort((a, b) => a.rank - b.rank || a.s.jid.localeCompare(b.s.jid))
    .map((x) => x.s);
}

export type Amount = { count: number } | { fraction: number };

/**
 * `rebalance --to NODE --count N | --fraction F`: the N (or ⌈F × all⌉) sessions that rank first by a
 * stable hash salted with NODE should be on NODE; those that are not go there. A second run right after
 * finds them all there and plans nothing.
 */
export function planRebalanceTo(placement: Placement, to: string, amount: Amount): Plan {
  const all = [...placement].flatMap(([node, sessions]) => sessions.map((s) => ({ node, s })));
  const nodeOf = new Map(all.map(({ node, s }) => [s.jid, node]));
  const wanted = "count" in amount ? amount.count : Math.ceil(amount.fraction * all.length);
  const chosen = stableOrder(all.map((x) => x.s), `rebalance:${to}`).slice(0, wanted);
  const plan: Plan = new Map();
  for (const s of chosen) {
    const from = nodeOf.get(s.jid) as string;
    if (from !== to) plan.set(s.jid, { from, to });
  }
  return plan;
}

/** `--tolerance`: how far a node's count may be from the mean, in sessions or in percent of the mean. */
export type Tolerance = { sessions: number } | { percent: number };

export const DEFAULT_TOLERANCE: Tolerance = { percent: 10 };

export function formatTolerance(t: Tolerance): string {
  return "percent" in t ? `${t.percent}%` : String(t.sessions);
}

export function parseTolerance(input: string, field = "--tolerance"): Tolerance {
  const match = /^(\d+(?:\.\d+)?)(%?)$/.exec(input.trim());
  if (!match) throw new InputError(field, `${JSON.stringify(input)} is not a tolerance ≥ 0 (a number of sessions, e.g. 2, or a percentage of the mean, e.g. 10%)`);
  const value = Number(match[1]);
  return match[2] === "%" ? { percent: value } : { sessions: value };
}

export interface EvenPlan {
  plan: Plan;
  mean: number;
  /** The tolerance in sessions. */
  allowed: number;
  /** Count each node should end with. */
  goal: Map<string, number>;
}

/**
 * `rebalance --even`, EMQX-style: when some node is further from the mean than the tolerance, nodes
 * above their share (donors) give sessions — a stable hash-chosen subset — to nodes below theirs. Each
 * node's share is ⌊mean⌋ or ⌈mean⌉; the extra sessions of an uneven total stay with the fullest nodes.
 */
export function planEven(placement: Placement, tolerance: Tolerance): EvenPlan {
  const nodes = [...placement.keys()];
  const counts = new Map(nodes.map((n) => [n, placement.get(n)?.length ?? 0]));
  const total = [...counts.values()].reduce((a, b) => a + b, 0);
  const mean = nodes.length > 0 ? total / nodes.length : 0;
  const allowed = "sessions" in tolerance ? tolerance.sessions : (tolerance.percent / 100) * mean;
  const goal = new Map(nodes.map((n) => [n, Math.floor(mean)]));
  const byCount = [...nodes].sort((a, b) => (counts.get(b) ?? 0) - (counts.get(a) ?? 0) || a.localeCompare(b));
  for (let extra = total - Math.floor(mean) * nodes.length, i = 0; extra > 0; extra--, i++) {
    const node = byCount[i] as string;
    goal.set(node, (goal.get(node) ?? 0) + 1);
  }
  const plan: Plan = new Map();
  const withinTolerance = nodes.every((n) => Math.abs((counts.get(n) ?? 0) - mean) <= allowed);
  if (withinTolerance) return { plan, mean, allowed, goal };

  const takers = nodes.filter((n) => (counts.get(n) ?? 0) < (goal.get(n) ?? 0)).map((n) => ({ node: n, room: (goal.get(n) ?? 0) - (counts.get(n) ?? 0) }));
  for (const donor of nodes) {
    const surplus = (counts.get(donor) ?? 0) - (goal.get(donor) ?? 0);
    if (surplus <= 0) continue;
    for (const s of stableOrder(placement.get(donor) ?? [], "even").slice(0, surplus)) {
      const taker = takers.find((t) => t.room > 0);
      if (!taker) break;
      taker.room--;
      plan.set(s.jid, { from: donor, to: taker.node });
    }
  }
  return { plan, mean, allowed, goal };
}
