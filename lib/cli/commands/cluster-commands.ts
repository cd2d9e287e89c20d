import { readFileSync } from "node:fs";
import type { Command } from "commander";
import type { Config, NodeConfig } from "../../config.ts";
import { InputError } from "../../errors.ts";
import { parsePositiveInt } from "../../input.ts";
import { homeOf } from "../../jobs/home.ts";
import { parseHomeMap, type HomeLookup } from "../../jobs/home-map.ts";
import { DEFAULT_TOLERANCE, formatTolerance, parseTolerance, planEven, planRebalanceTo, planRedirect, type Amount } from "../../jobs/placement.ts";
import type { JobFlags } from "../job-options.ts";
import type { CommandContext } from "../program.ts";
import { runPlannedJobs } from "../run-planned.ts";
import { statusCommand } from "./status.ts";

type Wrap = <A extends unknown[]>(fn: (ctx: CommandContext, ...args: A) => Promise<number>) => (...args: A) => Promise<void>;
type JobCommand = (command: Command, fallback: string, withTo?: boolean) => Command;

/** `status`, `redirect` and `rebalance`: commands over every configured node (standalone or cluster member). */
export function clusterCommands(program: Command, jobCommand: JobCommand, wrap: Wrap): void {
  program
    .command("status")
    .description("per node: link, server, sessions on that node, cluster membership; then the total")
    .action(wrap(statusCommand));

  jobCommand(program.command("redirect").description("send every user who is not on their home node there"), "none", false)
    .option("--map <file>", "CSV lines jid,node (a bare JID or *@domain)")
    .option("--ring", "home = weighted rendezvous hash of the bare JID over the configured nodes")
    .action(wrap(redirectCommand));

  jobCommand(program.command("rebalance").description("move a stable subset of sessions to a node, or even out the nodes"), "none", false)
    .option("--to <node>", "configured node that receives (with --count or --fraction)")
    .option("--count <n>", "the node should hold this many hash-chosen sessions")
    .option("--fraction <f>", "(0,1]: the node should hold this share of all sessions, hash-chosen")
    .option("--even", "move sessions from nodes above the mean to nodes below it")
    .option("--tolerance <n|p%>", `with --even: sessions (e.g. 2) or percent of the mean (e.g. 10%) a node may be off (default ${formatTolerance(DEFAULT_TOLERANCE)})`)
    .action(wrap(rebalanceCommand));
}

interface RedirectFlags extends JobFlags {
  map?: string;
  ring?: boolean;
}

export async function redirectCommand(ctx: CommandContext, flags: RedirectFlags): Promise<number> {
  const config = ctx.config();
  if ((flags.map === undefined) === !flags.ring) throw new InputError("--map", "give exactly one of --map FILE or --ring");
  const nodes = jobNodes(config);
  const home: HomeLookup = flags.ring ? ringHome(nodes) : parseHomeMap(readMapFile(flags.map as string), nodes.map((n) => n.name), flags.map as string);
  const { map: _map, ring: _ring, ...jobFlags } = flags;
  return runPlannedJobs(ctx.out, config, {
    kind: "redirect",
    flags: jobFlags,
    nodes,
    plan: (placement) => planRedirect(placement, home),
  });
}

interface RebalanceFlags extends Omit<JobFlags, "to"> {
  to?: string;
  count?: string;
  fraction?: string;
  even?: boolean;
  tolerance?: string;
}

export async function rebalanceCommand(ctx: CommandContext, flags: RebalanceFlags): Promise<number> {
  const config = ctx.config();
  const { count, fraction, even, tolerance, to, ...jobFlags } = flags;
  const nodes = jobNodes(config);
  if (even) {
    if (to !== undefined || count !== undefined || fraction !== undefined) throw new InputError("--even", "--even takes no --to, --count or --fraction");
    const allowed = tolerance !== undefined ? parseTolerance(tolerance) : DEFAULT_TOLERANCE;
    return runPlannedJobs(ctx.out, config, {
      kind: "rebalance",
      flags: jobFlags,
      nodes,
      plan: (placement) => planEven(placement, allowed).plan,
      describe: (placement) => {
        const even = planEven(placement, allowed);
        return { counts: Object.fromEntries([...placement].map(([n, s]) => [n, s.length])), mean: round(even.mean), tolerance: round(even.allowed), goal: Object.fromEntries(even.goal) };
      },
    });
  }
  if (tolerance !== undefined) throw new InputError("--tolerance", "only with --even");
  const target = to;
  if (target === undefined) throw new InputError("--to", "give one node: --to NODE with --count N or --fraction F, or use --even");
  if (!nodes.some((n) => n.name === target)) throw new InputError("--to", `no node named "${target}" (configured: ${nodes.map((n) => n.name).join(", ")})`);
  if ((count === undefined) === (fraction === undefined)) throw new InputError("--count", "give exactly one of --count N or --fraction F");
  const amount: Amount = count !== undefined ? { count: parsePositiveInt(count, "--count", { min: 1 }) } : { fraction: parseOpenFraction(fraction as string) };
  return runPlannedJobs(ctx.out, config, { kind: "rebalance", flags: jobFlags, nodes, plan: (placement) => planRebalanceTo(placement, target, amount) });
}

/** Every configured node; redirect and rebalance act on all of them. */
function jobNodes(config: Config): NodeConfig[] {
  return config.nodes;
}

function ringHome(nodes: NodeConfig[]): HomeLookup {
  const weighted = nodes.map((n) => ({ name: n.name, weight: n.weight ?? 1 }));
  return (bare) => homeOf(bare, weighted);
}

function readMapFile(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    throw new InputError("--map", `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? "error"}`);
  }
}

/** A fraction in (0, 1]. */
function parseOpenFraction(input: string): number {
  const value = /^\d+(\.\d+)?$/.test(input) ? Number(input) : NaN;
  if (!(value > 0 && value <= 1)) throw new InputError("--fraction", `${JSON.stringify(input)} is not a fraction in (0, 1] (e.g. 0.25)`);
  return value;
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
