import type { Config, NodeConfig } from "../config.ts";
import { ExitCode, InputError } from "../errors.ts";
import { tcpReachable } from "../link/tcp.ts";
import { formatHostPort } from "../xmpp/address.ts";
import type { Target } from "../jobs/targets.ts";
import { probeFromDomain } from "../link/from-probe.ts";
import type { JobSummary } from "../jobs/outcomes.ts";
import { TransferJob, type TransferJobOptions } from "../jobs/runner.ts";
import { bareJid, sameJid } from "../xmpp/jid.ts";
import { openNode, type NodeSession } from "./connect.ts";
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
}

/** Opens the node, runs one transfer job with output and signal handling, and returns the exit code. */
export async function runJobCommand(out: Output, config: Config, node: NodeConfig, request: JobRequest): Promise<number> {
  const self = node.public && request.settings.targets.find((t) => formatHostPort(t.address) === formatHostPort(node.public as Target["address"]));
  if (self) throw new InputError("--to", `${self.label} is node ${node.name} itself`);
  if (request.flags.targetCheck !== false) await assertTargetsReachable(request.settings.targets);
  const session = await openNode(config, node);
  const controller = new AbortController();
  const onSignal = () => controller.abort();
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  const progress = !out.options.json && out.options.tty && !out.options.quiet ? createProgress() : undefined;
  try {
    await request.validate?.(session);
    const from = await resolveFrom(config, request.flags.from, session);
    // The runner learns of it through the link; the operator should see the fix whatever the runner does with it.
    if (from === "domain") session.link.on("from-domain-refused", (err: Error) => out.error(err));
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
      targets: request.settings.targets,
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
        else if (event.event === "planned") out.line(`${String(event.jid)} -> ${String(event.target)}`);
        else progress?.update(event);
      },
    });
    const summary = await job.run();
    progress?.stop();
    if (!out.options.json) printSummary(out, summary, Boolean(request.flags.dryRun));
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
async function assertTargetsReachable(targets: Target[]): Promise<void> {
  const results = await Promise.all(targets.map((t) => tcpReachable(t.address, 3000, 5222)));
  results.forEach((result, i) => {
    const target = targets[i] as Target;
    if (result !== true) throw new InputError("--to", `${formatHostPort(target.address)} is not reachable from here (${result}); pass --no-target-check if only clients can reach it`);
  });
}

async function resolveFrom(config: Config, flag: string | undefined, session: NodeSession): Promise<"domain" | "component"> {
  const mode = flag ?? config.from;
  if (mode === "domain" || mode === "component") return mode;
  return (await probeFromDomain(session.link, config.domain)) === "allowed" ? "domain" : "component";
}

function printSummary(out: Output, s: JobSummary, dryRun: boolean): void {
  if (dryRun) {
    out.line(`dry run: ${s.targeted} sessions would be transferred; nothing was sent`);
    return;
  }
  out.result(`${s.kind} ${s.job}: targeted ${s.targeted}, moved ${s.moved}, kicked ${s.kicked}, failed ${s.failed}, skipped ${s.skipped}, remaining ${s.remaining} in ${(s.elapsed_ms / 1000).toFixed(1)} s`);
}
