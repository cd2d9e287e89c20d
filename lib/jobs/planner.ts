// What redirect and rebalance plan, read from a job spec (CLI flags or an HTTP body) with every error
// naming the field in the caller's style. The plans themselves are the pure functions of placement.ts.
import type { NodeConfig } from "../config.ts";
import { InputError } from "../errors.ts";
import { parsePositiveInt } from "../input.ts";
import { homeOf } from "./home.ts";
import { parseHomeMap, type HomeLookup } from "./home-map.ts";
import { fieldName, type FieldStyle, type PlannedKind } from "./job-defaults.ts";
import type { JobSpec } from "./job-schema.ts";
import { DEFAULT_TOLERANCE, parseTolerance, planEven, planRebalanceTo, planRedirect, type Amount, type Placement, type Plan } from "./placement.ts";

export interface Planner {
  kind: PlannedKind;
  /** Which session goes where, from one look at every node. */
  plan(placement: Placement): Plan;
  /** Optional note about the plan (counts, mean, tolerance, goal), shown before the moves. */
  describe?(placement: Placement): Record<string, unknown>;
}

/**
 * Checks a redirect or rebalance spec against the configured nodes and returns its planner. `mapLabel`
 * names the map in errors (the CLI's file path; "map" for a body).
 */
export function readPlanner(spec: JobSpec, nodes: NodeConfig[], style: FieldStyle, mapLabel = "map"): Planner {
  const field = (key: string) => fieldName(key, style);
  if (spec.node !== undefined) throw new InputError(field("node"), `${spec.kind} acts on every configured node; leave ${field("node")} out`);
  if (spec.kind === "redirect") {
    for (const key of ["count", "fraction", "even", "tolerance"] as const) if (spec[key] !== undefined) throw new InputError(field(key), "is for rebalance, not redirect");
    if (spec.to !== undefined) throw new InputError(field("to"), "redirect sends each user to their home node; leave out the targets");
    if ((spec.map === undefined) === !spec.ring) throw new InputError(field("map"), style === "flag" ? "give exactly one of --map FILE or --ring" : "give exactly one of map (CSV text) or ring: true");
    const home: HomeLookup = spec.ring ? ringHome(nodes) : parseHomeMap(spec.map as string, nodes.map((n) => n.name), mapLabel, field("map"));
    return { kind: "redirect", plan: (placement) => planRedirect(placement, home) };
  }
  if (spec.kind !== "rebalance") throw new InputError(field("kind"), `${spec.kind} is not a planned job`);
  for (const key of ["map", "ring"] as const) if (spec[key] !== undefined) throw new InputError(field(key), "is for redirect, not rebalance");
  if (spec.even) {
    if (spec.to !== undefined || spec.count !== undefined || spec.fraction !== undefined) throw new InputError(field("even"), `takes no ${field("to")}, ${field("count")} or ${field("fraction")}`);
    const allowed = spec.tolerance !== undefined ? parseTolerance(String(spec.tolerance), field("tolerance")) : DEFAULT_TOLERANCE;
    return {
      kind: "rebalance",
      plan: (placement) => planEven(placement, allowed).plan,
      describe: (placement) => {
        const even = planEven(placement, allowed);
        return { counts: Object.fromEntries([...placement].map(([n, s]) => [n, s.length])), mean: round(even.mean), tolerance: round(even.allowed), goal: Object.fromEntries(even.goal) };
      },
    };
  }
  if (spec.tolerance !== undefined) throw new InputError(field("tolerance"), `only with ${field("even")}`);
  const to = spec.to;
  if (to === undefined || to.length !== 1) throw new InputError(field("to"), `give one node: ${field("to")} NODE with ${field("count")} N or ${field("fraction")} F, or use ${field("even")}`);
  const target = to[0] as string;
  if (!nodes.some((n) => n.name === target)) throw new InputError(field("to"), `no node named "${target}" (configured: ${nodes.map((n) => n.name).join(", ")})`);
  if ((spec.count === undefined) === (spec.fraction === undefined)) throw new InputError(field("count"), `give exactly one of ${field("count")} N or ${field("fraction")} F`);
  const amount: Amount = spec.count !== undefined ? { count: parsePositiveInt(spec.count, field("count"), { min: 1 }) } : { fraction: parseOpenFraction(spec.fraction as string | number, field("fraction")) };
  return { kind: "rebalance", plan: (placement) => planRebalanceTo(placement, target, amount) };
}

function ringHome(nodes: NodeConfig[]): HomeLookup {
  const weighted = nodes.map((n) => ({ name: n.name, weight: n.weight ?? 1 }));
  return (bare) => homeOf(bare, weighted);
}

/** A fraction in (0, 1]. */
function parseOpenFraction(input: string | number, field: string): number {
  const value = typeof input === "number" ? input : /^\d+(\.\d+)?$/.test(input) ? Number(input) : NaN;
  if (!(value > 0 && value <= 1)) throw new InputError(field, `${JSON.stringify(input)} is not a fraction in (0, 1] (e.g. 0.25)`);
  return value;
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
