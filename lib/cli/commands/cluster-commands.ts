import type { Command } from "commander";
import { DEFAULT_TOLERANCE, formatTolerance } from "../../jobs/placement.ts";
import type { CommandContext } from "../program.ts";

type Wrap = <A extends unknown[]>(load: () => Promise<(ctx: CommandContext, ...args: A) => Promise<number>>) => (...args: A) => Promise<void>;
type JobCommand = (command: Command, fallback: string, withTo?: boolean) => Command;

/**
 * `status`, `redirect` and `rebalance`: commands over every configured node (standalone or cluster member). Their
 * code is imported when they run, so start-up stays light (README "Performance").
 */
export function clusterCommands(program: Command, jobCommand: JobCommand, wrap: Wrap): void {
  program
    .command("status")
    .description("per node: link, server, sessions on that node, cluster membership; then the total")
    .action(wrap(async () => (await import("./status.ts")).statusCommand));

  jobCommand(program.command("redirect").description("send every user who is not on their home node there"), "none", false)
    .option("--map <file>", "CSV lines jid,node (a bare JID or *@domain)")
    .option("--ring", "home = weighted rendezvous hash of the bare JID over the configured nodes")
    .action(wrap(async () => (await import("./cluster-jobs.ts")).redirectCommand));

  jobCommand(program.command("rebalance").description("move a stable subset of sessions to a node, or even out the nodes"), "none", false)
    .option("--to <node>", "configured node that receives (with --count or --fraction)")
    .option("--count <n>", "the node should hold this many hash-chosen sessions")
    .option("--fraction <f>", "(0,1]: the node should hold this share of all sessions, hash-chosen")
    .option("--even", "move sessions from nodes above the mean to nodes below it")
    .option("--tolerance <n|p%>", `with --even: sessions (e.g. 2) or percent of the mean (e.g. 10%) a node may be off (default ${formatTolerance(DEFAULT_TOLERANCE)})`)
    .action(wrap(async () => (await import("./cluster-jobs.ts")).rebalanceCommand));
}
