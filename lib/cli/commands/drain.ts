import { readJobSettings, type JobFlags } from "../job-options.ts";
import type { CommandContext } from "../program.ts";
import { runJobCommand } from "../run-job.ts";

/** Empties a node: every session on it (minus exclusions) is sent to a target, then kicked if it stays. */
export async function drainCommand(ctx: CommandContext, flags: JobFlags): Promise<number> {
  const config = ctx.config();
  const node = ctx.selectNode(config, undefined);
  const settings = readJobSettings(flags, config, { fallback: "kick" });
  return runJobCommand(ctx.out, config, node, { kind: "drain", flags, settings, selects: () => true, follow: flags.follow !== false, scoped: true });
}
