import { ExitCode } from "../../errors.ts";
import type { LiveSession } from "../../xmpp/admin.ts";
import { bareJid, canonicalJid, parseJid } from "../../xmpp/jid.ts";
import type { NodeConfig } from "../../config.ts";
import { callApi, type ApiEndpoint } from "../api-client.ts";
import { openNode } from "../connect.ts";
import { groupByLink, requireNodeMap } from "../scopes.ts";
import type { CommandContext } from "../program.ts";

/** Live sessions of the node named by --node, or of every configured node. */
export async function sessionsCommand(ctx: CommandContext, options: { user?: string }): Promise<number> {
  const filter = options.user !== undefined ? sessionFilter(options.user) : () => true;
  const api = ctx.api();
  if (api) return printSessions(ctx, await sessionsViaApi(api, ctx.nodeName, filter), undefined);
  const config = ctx.config();
  const nodes = ctx.nodesToShow(config);
  const rows: Array<{ node: string; session: LiveSession }> = [];
  const shown = new Set(nodes.map((n) => n.name));
  const everyNode = nodes.length === config.nodes.length;
  for (const group of groupByLink(config, nodes)) {
    const first = group[0] as NodeConfig;
    // a cluster is listed once; its node map says which member holds each session (--node needs one)
    const nodeMap = first.cluster && (!everyNode || first.cluster.nodeMap) ? requireNodeMap(config, first) : undefined;
    const opened = await openNode(config, first);
    try {
      const sessions = await opened.admin.listSessions({ details: true });
      const memberOf = new Map(group.map((m) => [m.erlangNode, m.name]));
      const where = nodeMap ? await nodeMap.read() : undefined;
      for (const session of sessions) {
        if (opened.isOwnSession(session) || !filter(session)) continue;
        const erlangNode = where?.get(session.jid);
        const node = !first.cluster ? first.name : where ? (erlangNode === undefined ? undefined : (memberOf.get(erlangNode) ?? erlangNode)) : `${first.cluster.name} (cluster)`;
        if (node !== undefined && (everyNode || shown.has(node))) rows.push({ node, session });
      }
    } finally {
      await opened.close();
    }
  }
  return printSessions(ctx, rows, nodes.map((n) => n.name));
}

/** The daemon's view (`GET /v1/sessions`): it holds the component connections. */
async function sessionsViaApi(api: ApiEndpoint, node: string | undefined, filter: (s: LiveSession) => boolean): Promise<Array<{ node: string; session: LiveSession }>> {
  const response = await callApi(api, "GET", `v1/sessions${node !== undefined ? `?node=${encodeURIComponent(node)}` : ""}`);
  const { sessions } = (await response.json()) as { sessions: Array<{ node: string; jid: string; ip: string | null; show: string | null; priority: number | null }> };
  return sessions
    .map((s) => {
      const jid = parseJid(s.jid, "jid");
      const session: LiveSession = { jid: s.jid, bare: bareJid(jid), resource: jid.resource ?? "", ...(s.ip !== null ? { ip: s.ip } : {}), ...(s.show !== null ? { show: s.show } : {}), ...(s.priority !== null ? { priority: s.priority } : {}) };
      return { node: s.node, session };
    })
    .filter((r) => filter(r.session));
}

function printSessions(ctx: CommandContext, rows: Array<{ node: string; session: LiveSession }>, nodeNames: string[] | undefined): number {
  // code-unit order: stable across locales, and localeCompare costs more than the listing at 10,000 sessions
  const order = (x: string, y: string) => (x < y ? -1 : x > y ? 1 : 0);
  rows.sort((a, b) => order(a.node, b.node) || order(a.session.jid, b.session.jid));
  const names = nodeNames ?? [...new Set(rows.map((r) => r.node))];
  if (ctx.out.machine) {
    for (const { node, session: s } of rows) ctx.out.event({ node, jid: s.jid, ip: s.ip ?? null, show: s.show ?? null, priority: s.priority ?? null });
    return ExitCode.ok;
  }
  const several = names.length > 1;
  const columns = [...(several ? ["NODE"] : []), "JID", "IP", "PRESENCE"];
  ctx.out.table(columns, rows.map(({ node, session: s }) => [...(several ? [node] : []), s.jid, s.ip ?? "-", presence(s)]));
  ctx.out.line(`${rows.length} session${rows.length === 1 ? "" : "s"} on ${names.join(", ") || "the daemon's nodes"}`);
  return ExitCode.ok;
}

function sessionFilter(input: string): (s: LiveSession) => boolean {
  const jid = parseJid(input, "--user");
  if (jid.resource !== undefined) {
    const full = canonicalJid(jid);
    return (s) => canonicalJid(s.jid) === full;
  }
  const bare = canonicalJid(bareJid(jid));
  return (s) => canonicalJid(s.bare) === bare;
}

function presence(s: LiveSession): string {
  if (!s.show) return "-";
  return s.priority === undefined ? s.show : `${s.show}(${s.priority})`;
}
