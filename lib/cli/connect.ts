import type { Element } from "@xmpp/xml";
import type { Config, NodeConfig } from "../config.ts";
import { Link } from "../link/link.ts";
import { dialects } from "../servers/dialects.ts";
import { identifyServer, ServerAdmin } from "../servers/server-admin.ts";

export interface NodeSession {
  node: NodeConfig;
  link: Link;
  admin: ServerAdmin;
  close(): Promise<void>;
}

/** Opens the component link to one node and picks its dialect (configured, or detected). */
export async function openNode(config: Config, node: NodeConfig): Promise<NodeSession> {
  const link = new Link({ server: node.server, component: node.component, secret: node.secret, iqTimeoutMs: config.iqTimeoutMs });
  await link.start();
  const request = (iq: Element) => link.request(iq);
  try {
    const kind = node.kind === "auto" ? (await identifyServer(request, config.domain)).kind : node.kind;
    return { node, link, admin: new ServerAdmin(request, config.domain, dialects[kind]), close: () => link.stop() };
  } catch (err) {
    await link.stop();
    throw err;
  }
}
