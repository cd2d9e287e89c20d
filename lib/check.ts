import type { Element } from "@xmpp/xml";
import type { Config, NodeConfig } from "./config.ts";
import { ExitCode } from "./errors.ts";
import { Link } from "./link/link.ts";
import { AdminAccount, isAdminAccountSession } from "./link/admin-account.ts";
import { tcpReachable } from "./link/tcp.ts";
import { formatHostPort } from "./xmpp/address.ts";
import { AdminNode } from "./xmpp/admin.ts";
import { dialects, neededCommands, type Dialect } from "./servers/dialects.ts";
import { identifyServer, ServerAdmin } from "./servers/server-admin.ts";
import { probeFromDomain, type FromDomainVerdict } from "./link/from-probe.ts";
import { availableMethods, probeChannels } from "./methods/channels.ts";
import type { ChannelReport, MethodName } from "./methods/method.ts";

export type CheckStatus = "ok" | "fail" | "warn" | "skip";

export interface CheckItem {
  id: string;
  status: CheckStatus;
  detail: string;
  /** Exact server configuration to add when the check fails. */
  fix?: string;
}

export interface CheckReport {
  node: string;
  items: CheckItem[];
  kind?: string;
  fromDomain: FromDomainVerdict;
  methods: string[];
  /** Server-host channels (admin socket, ejabberdctl, socket destroy) as probed on this host. */
  channels: ChannelReport[];
  /** The default --method chain this server and this host allow. */
  chain: MethodName[];
  exitCode: number;
}

/** Everything `cxfr check` verifies, in order; stops early when a later step cannot run. */
export async function runCheck(config: Config, node: NodeConfig): Promise<CheckReport> {
  const report: CheckReport = { node: node.name, items: [], fromDomain: "unknown", methods: [], channels: [], chain: [], exitCode: ExitCode.connect };
  const add = (item: CheckItem) => report.items.push(item);

  const reachable = await tcpReachable(node.server, 3000);
  add({ id: "tcp", status: reachable === true ? "ok" : "fail", detail: reachable === true ? `${formatHostPort(node.server)} accepts connections` : `${formatHostPort(node.server)}: ${reachable}` });
  if (reachable !== true) return report;

  const iqTimeoutMs = Math.min(config.iqTimeoutMs, 5000);
  const link = new Link({ server: node.server, component: node.component, secret: node.secret, iqTimeoutMs });
  const account = node.admin ? new AdminAccount({ ...node.admin, iqTimeoutMs }) : undefined;
  try {
    try {
      await link.start();
      add({ id: "handshake", status: "ok", detail: `component ${node.component} accepted` });
    } catch (err) {
      add({ id: "handshake", status: "fail", detail: (err as Error).message });
      return report;
    }
    if (account) {
      try {
        await account.start();
        add({ id: "admin-account", status: "ok", detail: `logged in as ${account.jid} at ${account.server}` });
      } catch (err) {
        add({ id: "admin-account", status: "fail", detail: (err as Error).message });
        return report;
      }
    }
    // admin commands run as the admin account when there is one, else as the component
    const request = account ? (iq: Element) => account.request(iq) : (iq: Element) => link.request(iq);
    const adminJid = account ? account.jid : node.component;

    const identity = await identifyServer(request, config.domain);
    const kind = node.kind === "auto" ? identity.kind : node.kind;
    const dialect: Dialect = dialects[kind];
    report.kind = kind;
    const software = identity.name ? `${identity.name} ${identity.version ?? ""}`.trim() : "version not disclosed";
    add({ id: "server", status: "ok", detail: `${kind} (${software})${node.kind !== "auto" ? ", forced by config" : ""}` });

    const admin = new ServerAdmin(request, config.domain, dialect, { maxListing: config.maxListing });
    const commands = await admin.listCommands().catch(() => [] as string[]);
    const isAdmin = commands.includes(AdminNode.endUserSession);
    add(isAdmin
      ? { id: "admin", status: "ok", detail: `${commands.length} admin commands visible to ${adminJid}` }
      : { id: "admin", status: "fail", detail: `${adminJid} has no admin rights on ${config.domain}`, fix: dialect.adminSnippet(adminJid, account ? "account" : "component") });

    for (const needed of neededCommands) {
      const present = commands.includes(needed.node);
      const name = needed.node.split("#")[1] ?? needed.node;
      add({ id: `command:${name}`, status: present ? "ok" : needed.required ? "fail" : "warn", detail: `${name} (${needed.purpose}) ${present ? "available" : "not available"}` });
    }

    let listing = false;
    if (isAdmin) {
      try {
        const sessions = (await admin.listSessions()).filter((s) => !(account && isAdminAccountSession(s, account.jid)));
        listing = true;
        add({ id: "sessions", status: "ok", detail: `${sessions.length} live sessions listed` });
      } catch (err) {
        add({ id: "sessions", status: "fail", detail: `cannot list sessions: ${(err as Error).message}` });
      }
    }

    report.fromDomain = await probeFromDomain(link, config.domain);
    const linkBack = link.state === "online";
    add(report.fromDomain === "allowed"
      ? { id: "from-domain", status: "ok", detail: `stanzas from ${config.domain} are accepted` }
      : {
          id: "from-domain",
          status: config.from === "domain" ? "fail" : "warn",
          detail: report.fromDomain === "forbidden"
            ? `the server refuses stanzas from ${config.domain} (invalid-from); transfers will come from ${node.component}; link ${linkBack ? "back online" : "NOT back online"}`
            : `could not tell whether stanzas from ${config.domain} are accepted`,
          fix: dialect.fromDomainSnippet(node.component),
        });

    report.methods = [
      ...(report.fromDomain === "allowed" ? ["cxfr (from domain)"] : []),
      "cxfr (from component)",
      ...(isAdmin ? ["kick"] : []),
    ];
    add({ id: "methods", status: "ok", detail: `usable: ${report.methods.join(", ")}` });

    report.channels = await probeChannels(node, kind);
    for (const channel of report.channels) {
      add({
        id: `channel:${channel.channel}`,
        status: channel.usable ? "ok" : "warn",
        detail: `${channel.usable ? "usable" : channel.found ? "found, not usable" : "not found"}${channel.why ? `: ${channel.why}` : ""}${channel.usable ? "" : `; needs ${channel.needs ?? "?"}`}`,
      });
    }
    report.chain = availableMethods(report.channels, { isAdmin });
    add({ id: "method-chain", status: "ok", detail: `default --method ${report.chain.join(",")}` });

    const transfersPossible = isAdmin && listing && linkBack && (config.from !== "domain" || report.fromDomain === "allowed");
    report.exitCode = transfersPossible ? ExitCode.ok : ExitCode.connect;
    return report;
  } finally {
    await Promise.all([link.stop(), account?.stop()]);
  }
}
