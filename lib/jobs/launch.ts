import type { Config, NodeConfig } from "../config.ts";
import { InputError } from "../errors.ts";
import { probeFromDomain } from "../link/from-probe.ts";
import { tcpReachable } from "../link/tcp.ts";
import { formatHostPort } from "../xmpp/address.ts";
import { bareJid, formatJid, parseFullJid } from "../xmpp/jid.ts";
// NodeSession and JobSettings are shared with the CLI; they belong one layer down once lib/cli/ is split
import type { NodeSession } from "../cli/connect.ts";
import { readJobSettings, type JobSettings } from "../cli/job-options.ts";
import { fieldName, FALLBACK_DEFAULT, readFrom, type FieldStyle, type JobSpec } from "./job-schema.ts";
import type { JobJournal, SessionSnapshot } from "./journal-port.ts";
import type { JobSummary } from "./outcomes.ts";
import { TransferJob, type JobEvent } from "./runner.ts";
import type { Target } from "./targets.ts";

/**
 * What both the CLI and the daemon do to run one job on an open node: read the spec with the shared
 * schema, check it against the node, build the engine and run it. Output is the caller's business.
 */
export interface PreparedJob {
  spec: JobSpec;
  node: NodeConfig;
  settings: JobSettings;
  /** `transfer`: the canonical full JIDs to move. */
  wanted?: Set<string>;
}

/** Validates a spec against the config; every error names the field in the caller's style (flag or body). */
export function prepareJob(config: Config, node: NodeConfig, spec: JobSpec, style: FieldStyle): PreparedJob {
  const settings = readJobSettings(spec, config, { fallback: FALLBACK_DEFAULT[spec.kind] }, style);
  readFrom(spec.from, style);
  const self = node.public && settings.targets.find((t) => formatHostPort(t.address) === formatHostPort(node.public as Target["address"]));
  if (self) throw new InputError(fieldName("to", style), `${self.label} is node ${node.name} itself`);
  const wanted = spec.kind === "transfer" ? new Set((spec.jids ?? []).map((j) => formatJid(parseFullJid(j, style === "body" ? "jids" : "JID")))) : undefined;
  return { spec, node, settings, ...(wanted ? { wanted } : {}) };
}

/** Sending users to a node that does not answer would cut them off: refuse before touching anyone. */
export async function assertTargetsReachable(job: PreparedJob, style: FieldStyle): Promise<void> {
  if (job.spec.targetCheck === false) return;
  const results = await Promise.all(job.settings.targets.map((t) => tcpReachable(t.address, 3000, 5222)));
  results.forEach((result, i) => {
    const target = job.settings.targets[i] as Target;
    if (result !== true) throw new InputError(fieldName("to", style), `${formatHostPort(target.address)} is not reachable from here (${result}); pass --no-target-check if only clients can reach it`);
  });
}

/** `transfer` moves live sessions only: each named JID must be online on the node. */
export async function assertSessionsOnline(job: PreparedJob, session: NodeSession, style: FieldStyle): Promise<void> {
  if (!job.wanted) return;
  const online = new Set((await session.admin.listSessions()).map((s) => s.jid));
  const missing = [...job.wanted].filter((j) => !online.has(j));
  if (missing.length > 0) throw new InputError(style === "body" ? "jids" : "JID", `${missing.join(", ")} ${missing.length === 1 ? "is" : "are"} not online on node ${job.node.name}`);
}

export interface RunOptions {
  id: string;
  journal: JobJournal;
  signal: AbortSignal;
  onEvent: (event: JobEvent) => void;
  resume?: SessionSnapshot[];
}

/** Runs the engine to its summary. Events and the summary carry the journal's job id. */
export async function runPreparedJob(config: Config, session: NodeSession, job: PreparedJob, run: RunOptions): Promise<JobSummary> {
  const { spec, settings } = job;
  const from = await resolveFrom(config, spec.from, session);
  const own = job.node.admin ? bareJid(job.node.admin.jid) : undefined;
  const wanted = job.wanted;
  const engine = new TransferJob({
    kind: spec.kind,
    node: job.node.name,
    link: session.link,
    admin: session.admin,
    ready: session.ready,
    domain: config.domain,
    ...(spec.domain !== undefined ? { packetDomain: spec.domain } : {}),
    from,
    targets: settings.targets,
    selects: (s) => s.bare !== own && !settings.excluded(s) && (wanted === undefined || wanted.has(s.jid)),
    pacing: settings.pacing,
    waitMs: settings.waitMs,
    graceMs: settings.graceMs,
    ...(settings.deadlineMs !== undefined ? { deadlineMs: settings.deadlineMs } : {}),
    fallback: settings.fallback,
    sendPackets: settings.sendPackets,
    follow: spec.kind === "drain" && spec.follow !== false,
    ...(spec.announce !== undefined ? { announce: spec.announce } : {}),
    dryRun: Boolean(spec.dryRun),
    signal: run.signal,
    id: run.id,
    journal: run.journal,
    ...(run.resume ? { resume: run.resume } : {}),
    // until the engine takes `id`, its events name its own: the journal's id is the one users see
    onEvent: (event) => run.onEvent({ ...event, job: run.id }),
  });
  return { ...(await engine.run()), job: run.id };
}

async function resolveFrom(config: Config, flag: string | undefined, session: NodeSession): Promise<"domain" | "component"> {
  const mode = flag ?? config.from;
  if (mode === "domain" || mode === "component") return mode;
  return (await probeFromDomain(session.link, config.domain)) === "allowed" ? "domain" : "component";
}
