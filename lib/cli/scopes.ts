import type { Config, NodeConfig } from "../config.ts";
import { InputError } from "../errors.ts";
import { clusterLocator, nodeMapSnippet, standaloneLocator, type Locator } from "../cluster/locate.ts";
import { nodeMapReader, type NodeMapReader } from "../cluster/node-map.ts";
import { runningNodes } from "../cluster/running-nodes.ts";
import { openNode, type NodeSession } from "./connect.ts";

/** One component link and the configured nodes it reaches: a standalone node, or every member of a cluster. */
export interface LinkScope {
  nodes: NodeConfig[];
  session: NodeSession;
  locate: Locator;
  /** Running Erlang nodes ejabberd reported over XMPP (undefined: not an ejabberd that tells). */
  running?: string[];
}

/**
 * The node map of a cluster member; a member of a cluster without one is refused before anything is
 * sent, since every member lists every session of the cluster.
 */
export function requireNodeMap(config: Config, node: NodeConfig): NodeMapReader | undefined {
  const cluster = node.cluster;
  if (!cluster) return undefined;
  if (!cluster.nodeMap) {
    const index = config.clusters.indexOf(cluster);
    throw new InputError(`clusters[${index}].node_map`, `missing: ${node.name} is a member of ejabberd cluster ${cluster.name}, whose members all list every session of the cluster, so cxfr cannot tell ${node.name}'s sessions apart and sends nothing. Add ${nodeMapSnippet(node.erlangNode)}`);
  }
  return nodeMapReader(cluster.nodeMap, config.iqTimeoutMs);
}

/** Groups nodes by link: one group per standalone node, one per cluster (in config order). */
export function groupByLink(config: Config, nodes: NodeConfig[]): NodeConfig[][] {
  const groups: NodeConfig[][] = [];
  const seen = new Set<unknown>();
  for (const node of nodes) {
    if (!node.cluster) {
      groups.push([node]);
      continue;
    }
    if (seen.has(node.cluster)) continue;
    seen.add(node.cluster);
    groups.push(config.nodes.filter((n) => n.cluster === node.cluster));
  }
  return groups;
}

/**
 * Opens one link per group. `scoped`: the caller acts per node, so a cluster needs its node map, and a
 * node configured as standalone that ejabberd reports as one of several running nodes is refused.
 */
export async function openScope(config: Config, group: NodeConfig[], scoped: boolean): Promise<LinkScope> {
  const session = await openNode(config, group[0] as NodeConfig);
  try {
    return await linkScope(config, group, session, scoped);
  } catch (err) {
    await session.close();
    throw err;
  }
}

/** The scope of a group over a link that is already open (the daemon keeps its links); checks as openScope does. */
export async function linkScope(config: Config, group: NodeConfig[], session: NodeSession, scoped: boolean): Promise<LinkScope> {
  const first = group[0] as NodeConfig;
  const reader = scoped ? requireNodeMap(config, first) : first.cluster?.nodeMap ? nodeMapReader(first.cluster.nodeMap, config.iqTimeoutMs) : undefined;
  const running = await runningNodes((iq) => session.link.request(iq), config.domain).catch(() => undefined);
  if (scoped && !first.cluster && running && running.length > 1) {
    throw new InputError(`nodes[${config.nodes.indexOf(first)}]`, `${first.name} is one of ${running.length} running members of an ejabberd cluster (${running.join(", ")}), which all list every session; declare it under clusters: with its members and a node_map (see README, Clusters)`);
  }
  const list = async () => (await session.admin.listSessions()).filter((s) => !session.isOwnSession(s));
  const locate = first.cluster && reader ? clusterLocator(group, list, reader) : standaloneLocator(first, list);
  return { nodes: group, session, locate, ...(running ? { running } : {}) };
}

/** Opens every group's link; closes what it opened when one fails. */
export async function openScopes(config: Config, nodes: NodeConfig[], scoped: boolean): Promise<LinkScope[]> {
  const scopes: LinkScope[] = [];
  try {
    for (const group of groupByLink(config, nodes)) scopes.push(await openScope(config, group, scoped));
    return scopes;
  } catch (err) {
    await Promise.all(scopes.map((s) => s.session.close()));
    throw err;
  }
}
