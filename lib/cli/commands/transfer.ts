import type { JobFlags } from "../job-options.ts";
import type { CommandContext } from "../program.ts";
import { runJobCommand } from "../run-job.ts";

/** Sends the transfer packet to the given sessions (each must be online) and reports what became of each. */
export async function transferCommand(ctx: CommandContext, jids: string[], flags: JobFlags): Promise<number> {
  return runJobCommand(ctx, { ...flags, kind: "transfer", jids, to: flags.to ?? [], ...(ctx.nodeName !== undefined ? { node: ctx.nodeName } : {}) });
}
