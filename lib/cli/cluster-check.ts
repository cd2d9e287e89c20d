import type { CheckItem } from "../check.ts";
import type { Config, NodeConfig } from "../config.ts";
import { CxfrError, ExitCode } from "../errors.ts";
import { nodeMapSnippet } from "../cluster/locate.ts";
import { openScope } from "./scopes.ts";

/** `cxfr check`'s "cluster" line: the deployment shape found over XMPP (running nodes) and, for a member, its node map. */
export async function clusterShapeItem(config: Config, node: NodeConfig): Promise<{ item: CheckItem; exitCode: number }> {
  const group = node.cluster ? config.nodes.filter((n) => n.cluster === node.cluster) : [node];
  let scope;
  try {
    scope = await openScope(config, group, false);
  } catch (err) {
    if (!(err instanceof CxfrError)) throw err;
    return { item: { id: "cluster", status: "skip", detail: `not checked: ${err.message.split("\n", 1)[0] as string}` }, exitCode: ExitCode.ok };
  }
  try {
    const running = scope.running ?? [];
    if (!node.cluster) {
      if (running.length > 1) {
        return {
          item: { id: "cluster", status: "warn", detail: `configured as a standalone node, but ejabberd reports ${running.length} running cluster nodes (${running.join(", ")}): node-scoped jobs are refused`, fix: `cxfr config: move it under clusters: with members (name, erlang_node, public) and ${nodeMapSnippet(running[0])}` },
          exitCode: ExitCode.ok,
        };
      }
      return { item: { id: "cluster", status: "ok", detail: running.length === 1 ? `standalone ejabberd node ${running[0] as string}` : "standalone node (no cluster reported)" }, exitCode: ExitCode.ok };
    }
    const member = `member ${node.name} of cluster ${node.cluster.name}: ${running.length} running nodes (${node.erlangNode as string} ${running.includes(node.erlangNode as string) ? "among them" : "NOT among them"})`;
    if (!node.cluster.nodeMap) {
      return { item: { id: "cluster", status: "warn", detail: `${member}; no node map: node-scoped jobs are refused`, fix: `cxfr config, clusters[${config.clusters.indexOf(node.cluster)}]: ${nodeMapSnippet(node.erlangNode)}` }, exitCode: ExitCode.ok };
    }
    try {
      const located = await scope.locate();
      const here = located.filter((l) => l.node === node.name).length;
      return { item: { id: "cluster", status: "ok", detail: `${member}; node map: ${here} sessions on ${node.name}, ${located.length} in the cluster` }, exitCode: ExitCode.ok };
    } catch (err) {
      if (!(err instanceof CxfrError)) throw err;
      return { item: { id: "cluster", status: "fail", detail: `${member}; node map unreadable: ${err.message.split("\n", 1)[0] as string}` }, exitCode: ExitCode.connect };
    }
  } finally {
    await scope.session.close();
  }
}
