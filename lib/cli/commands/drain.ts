import type { JobFlags } from "../job-options.ts";
import type { CommandContext } from "../program.ts";
import { runJobCommand } from "../run-job.ts";

/** Empties a node: every session on it (minus exclusions) is sent to a target, then kicked if it stays. */
export async function drainCommand(ctx: CommandContext, flags: JobFlags): Promise<number> {
  return runJobCommand(ctx, { ...flags, kind: "drain", to: flags.to ?? [], ...(ctx.nodeName !== undefined ? { node: ctx.nodeName } : {}) });
}
