import type { Config, NodeConfig } from "../config.ts";
import { CxfrError, ExitCode, InputError } from "../errors.ts";
import { restartedSince } from "../servers/uptime.ts";
import { tcpReachable } from "../link/tcp.ts";
import { formatHostPort } from "../xmpp/address.ts";
import type { Target } from "../jobs/targets.ts";
import { probeFromDomain } from "../link/from-probe.ts";
import type { JobSummary } from "../jobs/outcomes.ts";
import { TransferJob, type TransferJobOptions } from "../jobs/runner.ts";
import { bareJid, sameJid } from "../xmpp/jid.ts";
import type { NodeSession } from "./connect.ts";
import { openScope, requireNodeMap } from "./scopes.ts";
import type { JobFlags, JobSettings } from "./job-options.ts";
import type { Output } from "./output.ts";
import { createProgress } from "./progress.ts";

export interface JobRequest {
  kind: TransferJobOptions["kind"];
  flags: JobFlags;
  settings: JobSettings;
  /** Which listed sessions the job takes on, besides exclusions. */
  selects: TransferJobOptions["selects"];
  follow: boolean;
  /** Checked against the first listing before anything is sent (e.g. `transfer` needs its JIDs online). */
  validate?: (session: NodeSession) => Promise<void>;
  /** Node-scoped (drain): on a cluster member, only the sessions the node map puts on it; refused without a node map. */
  scoped?: boolean;
}

/** Opens the node, runs one transfer job with output and signal handling, and returns the exit code. */
export async function runJobCommand(out: Output, config: Config, node: NodeConfig, request: JobRequest): Promise<number> {
  const self = node.public && request.settings.targets.find((t) => formatHostPort(t.address) === formatHostPort(node.public as Target["address"]));
  if (self) throw new InputError("--to", `${self.label} is node ${node.name} itself`);
  if (request.scoped) requireNodeMap(config, node);
  if (request.flags.targetCheck !== false) await assertTargetsReachable(request.settings.targets);
  const scope = await openScope(config, node.cluster ? config.nodes.filter((n) => n.cluster === node.cluster) : [node], Boolean(request.scoped));
  const session = scope.session;
  const source = request.scoped && node.cluster ? async () => (await scope.locate()).filter((l) => l.node === node.name).map((l) => l.session) : undefined;
  const controller = new AbortController();
  const onSignal = () => controller.abort();
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  const progress = !out.options.json && out.options.tty && !out.options.quiet ? createProgress() : undefined;
  try {
    await request.validate?.(session);
    const mode = request.flags.from ?? config.from;
    const from = await resolveFrom(mode, config.domain, session);
    const own = node.admin ? bareJid(node.admin.jid) : undefined;
    const job = new TransferJob({
      kind: request.kind,
      node: node.name,
      link: session.link,
      admin: session.admin,
      // the signal ends a wait for a link that is down (Ctrl-C while the server is unreachable)
      ready: (timeoutMs) => session.ready(timeoutMs, controller.signal),
      domain: config.domain,
      ...(request.flags.domain !== undefined ? { packetDomain: request.flags.domain } : {}),
      from,
      fromFallback: mode === "auto",
      restartedSince: (wallMs) => restartedSince((iq) => session.link.request(iq), config.domain, wallMs),
      targets: request.settings.targets,
      // On a cluster member the account's sessions are cluster-wide: only the node map tells that one left this member.
      ...(source ? { source } : { isGone: (s: { bare: string; resource: string }) => session.admin.isGone(s) }),
      selects: (s) => !(own !== undefined && sameJid(s.bare, own)) && !request.settings.excluded(s) && request.selects(s),
      pacing: request.settings.pacing,
      waitMs: request.settings.waitMs,
      graceMs: request.settings.graceMs,
      ...(request.settings.deadlineMs !== undefined ? { deadlineMs: request.settings.deadlineMs } : {}),
      fallback: request.settings.fallback,
      sendPackets: request.settings.sendPackets,
      follow: request.follow,
      ...(request.flags.announce !== undefined ? { announce: request.flags.announce } : {}),
      dryRun: Boolean(request.flags.dryRun),
      signal: controller.signal,
      onEvent: (event) => {
        if (out.options.json) out.event(event);
        else if (event.event === "planned") out.line(`${event.jid} -> ${event.target}`);
        else progress?.update(event);
      },
    });
    const summary = await job.run();
    progress?.stop();
    if (!out.options.json) printSummary(out, summary, Boolean(request.flags.dryRun));
    if (summary.error) {
      out.error(new CxfrError(summary.error.message, ExitCode.connect, summary.error.code));
      return summary.error.code === "journal_failed" ? ExitCode.usage : ExitCode.connect;
    }
    if (controller.signal.aborted) return ExitCode.interrupted;
    if (request.flags.dryRun) return ExitCode.ok;
    return summary.failed === 0 && summary.remaining === 0 ? ExitCode.ok : ExitCode.incomplete;
  } finally {
    progress?.stop();
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await session.close();
  }
}

/** Sending users to a node that does not answer would cut them off: refuse before touching anyone. */
export async function assertTargetsReachable(targets: Target[]): Promise<void> {
  const results = await Promise.all(targets.map((t) => tcpReachable(t.address, 3000, 5222)));
  results.forEach((result, i) => {
    const target = targets[i] as Target;
    if (result !== true) throw new InputError("--to", `${formatHostPort(target.address)} is not reachable from here (${result}); pass --no-target-check if only clients can reach it`);
  });
}

export async function resolveFrom(mode: string, domain: string, session: NodeSession): Promise<"domain" | "component"> {
  if (mode === "domain" || mode === "component") return mode;
  return (await probeFromDomain(session.link, domain)) === "allowed" ? "domain" : "component";
}

export function printSummary(out: Output, s: JobSummary, dryRun: boolean): void {
  if (dryRun) {
    out.line(`dry run: ${s.targeted} sessions would be transferred; nothing was sent`);
    return;
  }
  const methods = Object.entries(s.by_method).map(([method, n]) => `${method} ${n}`).join(", ");
  out.result(`${s.kind} ${s.job}: targeted ${s.targeted}, moved ${s.moved}, kicked ${s.kicked}, failed ${s.failed}, skipped ${s.skipped}, remaining ${s.remaining} in ${(s.elapsed_ms / 1000).toFixed(1)} s${methods ? ` (by method: ${methods})` : ""}`);
}
