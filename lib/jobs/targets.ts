import { createHash } from "node:crypto";
import { InputError } from "../errors.ts";
import { formatHostPort, parseHostPort, type HostPort } from "../xmpp/address.ts";

export interface Target {
  /** What the operator wrote, e.g. "b" (a configured node) or "10.0.0.12:5222". */
  label: string;
  address: HostPort;
  weight: number;
}

/**
 * Reads `--to` values: a configured node name (its public address), or HOST[:PORT], each optionally `=WEIGHT`.
 * `publicOf` returns a node's public address, or undefined when no node of that name exists.
 */
export function parseTargets(values: string[], publicOf: (name: string) => HostPort | undefined, field = "--to"): Target[] {
  if (values.length === 0) throw new InputError(field, "at least one target is required");
  const targets = values.map((value) => {
    const eq = value.lastIndexOf("=");
    const spec = eq >= 0 ? value.slice(0, eq) : value;
    const weight = eq >= 0 ? Number(value.slice(eq + 1)) : 1;
    if (!Number.isFinite(weight) || weight <= 0 || (eq >= 0 && !/^\d+(\.\d+)?$/.test(value.slice(eq + 1)))) {
      throw new InputError(field, `"${value}": the weight after '=' must be a positive number`);
    }
    const address = publicOf(spec) ?? parseHostPort(spec, field);
    return { label: spec, address, weight };
  });
  const seen = new Set<string>();
  for (const t of targets) {
    const key = formatHostPort(t.address);
    if (seen.has(key)) throw new InputError(field, `target ${key} given twice`);
    seen.add(key);
  }
  return targets;
}

/** Weighted rendezvous hashing: the same account always lands on the same target while the target set is unchanged. */
export function chooseTarget(bareJid: string, targets: readonly Target[]): Target {
  let best: Target | undefined;
  let bestScore = -Infinity;
  for (const target of targets) {
    const digest = createHash("sha256").update(`${bareJid}\u0000${formatHostPort(target.address)}`).digest();
    const unit = (digest.readUIntBE(0, 6) + 1) / (2 ** 48 + 1); // in (0, 1)
    const score = -target.weight / Math.log(unit);
    if (score > bestScore) {
      bestScore = score;
      best = target;
    }
  }
  if (!best) throw new InputError("--to", "no target to choose from");
  return best;
}
