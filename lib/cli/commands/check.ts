import { runCheck, type CheckReport, type CheckStatus } from "../../check.ts";
import { clusterShapeItem } from "../cluster-check.ts";
import type { CommandContext } from "../program.ts";

const MARK: Record<CheckStatus, string> = { ok: "ok", fail: "FAIL", warn: "warn", skip: "skip" };

/** Checks the node named by --node, or every configured node; exit 0 only if transfers can work on all of them. */
export async function checkCommand(ctx: CommandContext): Promise<number> {
  const config = ctx.config();
  const nodes = ctx.nodesToShow(config);
  let exitCode = 0;
  for (const node of nodes) {
    const report = await runCheck(config, node);
    if (report.items.some((i) => i.id === "handshake" && i.status === "ok")) {
      const shape = await clusterShapeItem(config, node);
      report.items.push(shape.item);
      report.exitCode = Math.max(report.exitCode, shape.exitCode);
    }
    if (ctx.out.options.json) printJson(ctx, report);
    else printTable(ctx, report, nodes.length > 1);
    exitCode = Math.max(exitCode, report.exitCode);
  }
  return exitCode;
}

function printJson(ctx: CommandContext, report: CheckReport): void {
  for (const item of report.items) ctx.out.event({ node: report.node, check: item.id, status: item.status, detail: item.detail, ...(item.fix ? { fix: item.fix } : {}) });
  ctx.out.event({ node: report.node, kind: report.kind ?? null, from_domain: report.fromDomain, methods: report.methods, channels: report.channels, chain: report.chain, ok: report.exitCode === 0, exit_code: report.exitCode });
}

function printTable(ctx: CommandContext, report: CheckReport, heading: boolean): void {
  if (heading) ctx.out.line(`node ${report.node}`);
  ctx.out.table(["CHECK", "STATUS", "DETAIL"], report.items.map((item) => [item.id, MARK[item.status], item.detail]));
  for (const item of report.items.filter((i) => i.fix && i.status !== "ok")) ctx.out.line(`\nto fix ${item.id}, add to the server config:\n  ${item.fix}`);
  ctx.out.line(report.exitCode === 0 ? `\ntransfers can work on node ${report.node}\n` : `\ntransfers cannot work on node ${report.node} yet\n`);
}
