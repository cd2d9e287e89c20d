import { createHash } from "node:crypto";

export interface WeightedNode {
  name: string;
  /** > 0; a node of weight 2 is home to about twice as many users as one of weight 1. */
  weight: number;
}

/** A number in (0, 1) from the SHA-256 of `key`: the same in every process and on every machine. */
export function unitHash(key: string): number {
  const digest = createHash("sha256").update(key).digest();
  return (digest.readUIntBE(0, 6) + 1) / (2 ** 48 + 1);
}

/**
 * The home node of an account: weighted rendezvous (highest random weight) hashing of the bare JID over
 * the node names. Removing a node re-homes only the accounts whose home it was; adding one takes
 * accounts only onto the new node.
 */
export function homeOf(bareJid: string, nodes: readonly WeightedNode[]): string {
  let best: string | undefined;
  let bestScore = -Infinity;
  for (const node of nodes) {
    const score = -node.weight / Math.log(unitHash(`${bareJid}\u0000${node.name}`));
    if (score > bestScore) {
      bestScore = score;
      best = node.name;
    }
  }
  if (best === undefined) throw new Error("homeOf: no nodes");
  return best;
}
