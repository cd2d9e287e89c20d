import type { Element } from "@xmpp/xml";
import type { Config, NodeConfig } from "../config.ts";
import { ConnectError, LinkFailedError } from "../errors.ts";
import { AdminAccount, isAdminAccountSession } from "../link/admin-account.ts";
import { Link } from "../link/link.ts";
import { dialects } from "../servers/dialects.ts";
import { identifyServer, ServerAdmin } from "../servers/server-admin.ts";

export interface NodeSession {
  node: NodeConfig;
  /** The component link: transfer packets go through it. */
  link: Link;
  /** The c2s admin account, when the node has one: admin commands go through it. */
  account?: AdminAccount;
  admin: ServerAdmin;
  /** Whether a listed session is one of cxfr's own admin account sessions (never shown, never moved). */
  isOwnSession(session: { bare: string; resource: string }): boolean;
  /**
   * Resolves when every connection the node needs is online; rejects at once with LinkFailedError when one failed
   * for good (secret rotated, login refused, conflict), with InterruptedError when `signal` aborts.
   */
  ready(timeoutMs: number, signal?: AbortSignal): Promise<void>;
  close(): Promise<void>;
}

/** Opens the component link (and the admin account, if configured) to one node and picks its dialect (configured, or detected). */
export async function openNode(config: Config, node: NodeConfig): Promise<NodeSession> {
  const link = new Link({ server: node.server, component: node.component, secret: node.secret, iqTimeoutMs: config.iqTimeoutMs });
  await link.start().catch((err: unknown) => {
    // the server takes one connection per component domain: a running `cxfr serve` has it
    if ((err instanceof ConnectError && err.code === "conflict") || (err instanceof LinkFailedError && err.condition === "conflict")) throw new ConnectError(`${err.message}; if cxfr serve runs, go through it with --api URL (or CXFR_API)`, "conflict");
    throw err;
  });
  const account = node.admin ? new AdminAccount({ ...node.admin, iqTimeoutMs: config.iqTimeoutMs }) : undefined;
  const close = async () => {
    await Promise.all([link.stop(), account?.stop()]);
  };
  try {
    await account?.start();
    const request = account ? (iq: Element) => account.request(iq) : (iq: Element) => link.request(iq);
    const kind = node.kind === "auto" ? (await identifyServer(request, config.domain)).kind : node.kind;
    const admin = new ServerAdmin(request, config.domain, dialects[kind], { maxListing: config.maxListing });
    link.fromDomainFix = dialects[kind].fromDomainSnippet(node.component);
    const isOwnSession = (s: { bare: string; resource: string }) => (node.admin ? isAdminAccountSession(s, node.admin.jid) : false);
    const ready = async (timeoutMs: number, signal?: AbortSignal) => {
      await Promise.all([link.waitOnline(timeoutMs, signal), account?.waitOnline(timeoutMs, signal)]);
    };
    return { node, link, ...(account ? { account } : {}), admin, isOwnSession, ready, close };
  } catch (err) {
    await close();
    throw err;
  }
}
