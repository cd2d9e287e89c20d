import type { Config, NodeConfig } from "../../config.ts";
import { CxfrError, ExitCode, InputError } from "../../errors.ts";
import { identifyServer } from "../../servers/server-admin.ts";
import type { CommandContext } from "../program.ts";
import { groupByLink, openScope, type LinkScope } from "../scopes.ts";

export interface NodeStatus {
  node: string;
  link: "up" | "down";
  kind: string | null;
  version: string | null;
  /** Sessions on this node; null when the link is down, or a cluster has no node map to tell. */
  sessions: number | null;
  /** The configured cluster, or null for a standalone node. */
  cluster: string | null;
  /** Members ejabberd reports running (over XMPP), when it tells. */
  running: string[] | null;
  /** A cluster member: whether it is among the running nodes. */
  member_running?: boolean;
  /** Sessions of the whole cluster, when per-member counts cannot be told. */
  cluster_sessions?: number;
  note?: string;
}

/** A group's link scope for the status view, and what to do with it afterwards (close it, or keep the daemon's). */
export type StatusScope = (group: NodeConfig[]) => Promise<{ scope: LinkScope; release(): Promise<void> }>;

/** Per node: link, server, sessions (per member from the node map on a cluster), cluster membership; then a total. */
export async function statusCommand(ctx: CommandContext): Promise<number> {
  const config = ctx.config();
  const nodes = ctx.nodesToShow(config);
  const { rows, total } = await statusView(config, nodes, async (group) => {
    const scope = await openScope(config, group, false);
    return { scope, release: () => scope.session.close() };
  });
  const up = total.up;
  if (ctx.out.machine) {
    for (const r of rows) ctx.out.event({ ...r });
    ctx.out.event({ ...total });
  } else {
    ctx.out.table(
      ["NODE", "LINK", "SERVER", "SESSIONS", "CLUSTER"],
      rows.map((r) => [r.node, r.link, r.kind ? `${r.kind}${r.version ? ` ${r.version}` : ""}` : "-", r.sessions === null ? (r.cluster_sessions !== undefined ? `? (cluster ${r.cluster_sessions})` : "-") : String(r.sessions), clusterText(r)]),
    );
    for (const r of rows.filter((x) => x.note)) ctx.out.line(`note: ${r.node}: ${r.note as string}`);
    ctx.out.line(`total: ${total.total} session${total.total === 1 ? "" : "s"} on ${rows.length} node${rows.length === 1 ? "" : "s"}, ${up} up`);
  }
  return up === rows.length ? ExitCode.ok : ExitCode.connect;
}

/** The rows of `cxfr status` (and GET /v1/status) and the total line. */
export async function statusView(config: Config, nodes: NodeConfig[], scopeOf: StatusScope): Promise<{ rows: NodeStatus[]; total: { total: number; nodes: number; up: number } }> {
  const rows: NodeStatus[] = [];
  for (const group of groupByLink(config, nodes)) rows.push(...(await groupStatus(config, group, scopeOf)).filter((r) => nodes.some((n) => n.name === r.node)));
  const up = rows.filter((r) => r.link === "up").length;
  const counted = new Set<string>();
  let total = 0;
  for (const r of rows) {
    if (r.sessions !== null) total += r.sessions;
    else if (r.cluster_sessions !== undefined && r.cluster && !counted.has(r.cluster)) {
      counted.add(r.cluster);
      total += r.cluster_sessions;
    }
  }
  return { rows, total: { total, nodes: rows.length, up } };
}

function clusterText(r: NodeStatus): string {
  if (r.cluster) return `${r.cluster}${r.member_running === undefined ? "" : r.member_running ? " (running)" : " (not running)"}`;
  if (r.running && r.running.length > 1) return `undeclared cluster of ${r.running.length}`;
  return "-";
}

async function groupStatus(config: Config, group: NodeConfig[], scopeOf: StatusScope): Promise<NodeStatus[]> {
  const base = (node: NodeConfig): NodeStatus => ({ node: node.name, link: "down", kind: null, version: null, sessions: null, cluster: node.cluster?.name ?? null, running: null });
  let scope: LinkScope;
  let release: () => Promise<void>;
  try {
    ({ scope, release } = await scopeOf(group));
  } catch (err) {
    if (err instanceof InputError || !(err instanceof CxfrError)) throw err;
    return group.map((n) => ({ ...base(n), note: err.message.split("\n", 1)[0] as string }));
  }
  try {
    const identity = await identifyServer((iq) => scope.session.link.request(iq), config.domain).catch(() => undefined);
    const up = (n: NodeConfig): NodeStatus => ({
      ...base(n),
      link: "up",
      kind: identity?.kind ?? scope.session.admin.dialect.kind,
      version: identity?.version ?? null,
      running: scope.running ?? null,
      ...(n.cluster && scope.running ? { member_running: scope.running.includes(n.erlangNode as string) } : {}),
    });
    const first = group[0] as NodeConfig;
    if (first.cluster && !first.cluster.nodeMap) {
      const all = (await scope.session.admin.listSessions()).filter((s) => !scope.session.isOwnSession(s)).length;
      return group.map((n, i) => ({ ...up(n), cluster_sessions: all, ...(i === 0 ? { note: `cluster ${first.cluster?.name ?? ""} has no node_map: per-member counts unknown` } : {}) }));
    }
    const located = await scope.locate();
    const rows = group.map((n) => ({ ...up(n), sessions: located.filter((l) => l.node === n.name).length }));
    const strays = located.filter((l) => !l.configured);
    if (strays.length > 0 && rows[0]) rows[0].note = `${strays.length} sessions on cluster nodes not in the config (${[...new Set(strays.map((l) => l.node))].join(", ")})`;
    if (!first.cluster && scope.running && scope.running.length > 1 && rows[0]) rows[0].note = `ejabberd reports ${scope.running.length} running cluster nodes; the count is the whole cluster's: declare it under clusters:`;
    return rows;
  } finally {
    await release();
  }
}
