import { readFileSync } from "node:fs";
import { InputError } from "../../errors.ts";
import type { JobFlags } from "../job-options.ts";
import type { CommandContext } from "../program.ts";
import { runJobCommand } from "../run-job.ts";

// The commands only turn flags into a job spec; planning and checks are lib/jobs/planner.ts, the same for the HTTP API.

interface RedirectFlags extends JobFlags {
  map?: string;
  ring?: boolean;
}

export async function redirectCommand(ctx: CommandContext, flags: RedirectFlags): Promise<number> {
  const { map, ...rest } = flags;
  // the map's text goes into the spec: the journal keeps it, so a resumed job (or the daemon) plans with the same map
  return runJobCommand(ctx, { ...rest, kind: "redirect", ...nodeOf(ctx), ...(map !== undefined ? { map: readMapFile(map) } : {}) }, map);
}

interface RebalanceFlags extends Omit<JobFlags, "to"> {
  to?: string;
  count?: string;
  fraction?: string;
  even?: boolean;
  tolerance?: string;
}

export async function rebalanceCommand(ctx: CommandContext, flags: RebalanceFlags): Promise<number> {
  const { to, ...rest } = flags;
  return runJobCommand(ctx, { ...rest, kind: "rebalance", ...nodeOf(ctx), ...(to !== undefined ? { to: [to] } : {}) });
}

/** --node given anyway: the planner refuses it (these jobs act on every configured node). */
function nodeOf(ctx: CommandContext): { node?: string } {
  return ctx.nodeName !== undefined ? { node: ctx.nodeName } : {};
}

function readMapFile(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    throw new InputError("--map", `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? "error"}`);
  }
}
