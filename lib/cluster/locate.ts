import type { NodeConfig } from "../config.ts";
import type { LiveSession } from "../xmpp/admin.ts";
import type { NodeMapReader } from "./node-map.ts";

export interface Located {
  session: LiveSession;
  /** Configured node name holding the session; for a cluster member missing from the config, its Erlang node name. */
  node: string;
  /** false for an Erlang node the config does not name as a member. */
  configured: boolean;
}

/** Where each session of one link is: a standalone node holds all it lists; a cluster asks its node map. */
export type Locator = () => Promise<Located[]>;

export function standaloneLocator(node: NodeConfig, list: () => Promise<LiveSession[]>): Locator {
  return async () => (await list()).map((session) => ({ session, node: node.name, configured: true }));
}

/**
 * A cluster's sessions with the member holding each, from the cluster-wide listing and the node map.
 * A session listed but not (yet) in the map, or the other way round, logged in or out between the two
 * reads: it is left out until the next scan.
 */
export function clusterLocator(members: NodeConfig[], list: () => Promise<LiveSession[]>, nodeMap: NodeMapReader): Locator {
  const memberOf = new Map(members.map((m) => [m.erlangNode, m.name]));
  return async () => {
    const [sessions, map] = await Promise.all([list(), nodeMap.read()]);
    const located: Located[] = [];
    for (const session of sessions) {
      const erlangNode = map.get(session.jid);
      if (erlangNode === undefined) continue;
      const name = memberOf.get(erlangNode);
      located.push({ session, node: name ?? erlangNode, configured: name !== undefined });
    }
    return located;
  };
}

/** Config text to add when a cluster has no node map (one line, for an error message). */
export function nodeMapSnippet(erlangNode: string | undefined): string {
  return `node_map: { ejabberdctl: { path: /usr/sbin/ejabberdctl, node: ${erlangNode ?? "ejabberd@HOST"}, config_dir: /etc/ejabberd } } (or http_api: { url: http://HOST:5281/api, token_file: FILE })`;
}
