import type { NodeConfig } from "../config.ts";
import { formatHostPort } from "../xmpp/address.ts";

/** What a job holds: the node's component listener, so two configs that name one server differently still exclude each other. */
export function nodeRef(node: NodeConfig): { name: string; key: string } {
  return { name: node.name, key: formatHostPort(node.server) };
}
