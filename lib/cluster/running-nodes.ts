import xml from "@xmpp/xml";
import type { Element } from "@xmpp/xml";
import { StanzaError } from "../errors.ts";
import { NS_DISCO_ITEMS } from "../xmpp/admin.ts";
import type { IqRequester } from "../xmpp/commands.ts";

/** ejabberd's admin disco node listing the cluster's running Erlang nodes (mod_configure). */
export const RUNNING_NODES_DISCO_NODE = "running nodes";

/** Erlang node names from the items of disco#items node 'running nodes' (`<item node='running nodes/NAME' …/>`). */
export function parseRunningNodes(query: Element): string[] {
  const prefix = `${RUNNING_NODES_DISCO_NODE}/`;
  return query
    .getChildren("item")
    .map((item) => String(item.attrs.node ?? ""))
    .filter((node) => node.startsWith(prefix) && !node.slice(prefix.length).includes("/"))
    .map((node) => node.slice(prefix.length));
}

/**
 * The running members of the server's cluster, as ejabberd reports them over XMPP; undefined when the
 * server has no such node (Prosody, or an ejabberd that will not tell this entity).
 */
export async function runningNodes(request: IqRequester, domain: string): Promise<string[] | undefined> {
  try {
    const result = await request(xml("iq", { type: "get", to: domain }, xml("query", { xmlns: NS_DISCO_ITEMS, node: RUNNING_NODES_DISCO_NODE })));
    const query = result.getChild("query", NS_DISCO_ITEMS);
    const nodes = query ? parseRunningNodes(query) : [];
    return nodes.length > 0 ? nodes : undefined;
  } catch (err) {
    if (err instanceof StanzaError) return undefined;
    throw err;
  }
}
