import type { NodeConfig } from "../config.ts";
import { formatHostPort } from "../xmpp/address.ts";

/**
 * What a job holds: the node's component listener, so two configs that name one server differently still exclude
 * each other. Members of a cluster share one listener: each is held on its own (listener and Erlang node).
 */
export function nodeRef(node: NodeConfig): { name: string; key: string } {
  const listener = formatHostPort(node.server);
  return { name: node.name, key: node.cluster ? `${listener}#${node.erlangNode ?? node.name}` : listener };
}

/** The holds of a job over several nodes, each once. */
export function holdRefs(nodes: NodeConfig[]): Array<{ name: string; key: string }> {
  const refs = new Map(nodes.map((n) => [nodeRef(n).key, nodeRef(n)]));
  return [...refs.values()];
}
