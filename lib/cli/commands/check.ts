import { runCheck, type CheckStatus } from "../../check.ts";
import type { CommandContext } from "../program.ts";

const MARK: Record<CheckStatus, string> = { ok: "ok", fail: "FAIL", warn: "warn", skip: "skip" };

export async function checkCommand(ctx: CommandContext): Promise<number> {
  const config = ctx.config();
  const node = ctx.selectNode(config, undefined);
  const report = await runCheck(config, node);
  if (ctx.out.options.json) {
    for (const item of report.items) ctx.out.event({ node: report.node, check: item.id, status: item.status, detail: item.detail, ...(item.fix ? { fix: item.fix } : {}) });
    ctx.out.event({ node: report.node, kind: report.kind ?? null, from_domain: report.fromDomain, methods: report.methods, ok: report.exitCode === 0, exit_code: report.exitCode });
    return report.exitCode;
  }
  ctx.out.table(["CHECK", "STATUS", "DETAIL"], report.items.map((item) => [item.id, MARK[item.status], item.detail]));
  const fixes = report.items.filter((item) => item.fix && item.status !== "ok");
  for (const item of fixes) ctx.out.line(`\nto fix ${item.id}, add to the server config:\n  ${item.fix}`);
  ctx.out.line(report.exitCode === 0 ? "\ntransfers can work on this node" : "\ntransfers cannot work on this node yet");
  return report.exitCode;
}
