import type { Config, NodeConfig } from "../config.ts";
import { InputError } from "../errors.ts";
import { probeFromDomain } from "../link/from-probe.ts";
import { tcpReachable } from "../link/tcp.ts";
import { formatHostPort } from "../xmpp/address.ts";
import { availableMethods, buildMethods, probeChannels, sessionControlFor } from "../methods/channels.ts";
import type { Method, MethodName, SessionRef } from "../methods/method.ts";
import { restartedSince } from "../servers/uptime.ts";
import type { LiveSession } from "../xmpp/admin.ts";
import { bareJid, canonicalJid, parseFullJid, sameJid } from "../xmpp/jid.ts";
// NodeSession and JobSettings are shared with the CLI; they belong one layer down once lib/cli/ is split
import type { NodeSession } from "../cli/connect.ts";
import { readJobSettings, type JobSettings } from "../cli/job-options.ts";
import { fieldName, FALLBACK_DEFAULT, readFrom, type FieldStyle } from "./job-defaults.ts";
import type { JobSpec } from "./job-schema.ts";
import type { JobJournal, SessionSnapshot } from "./journal-port.ts";
import type { JobSummary } from "./outcomes.ts";
import { startAutoPacing } from "./auto-pacing.ts";
import { watchAppearances } from "./appearance-watch.ts";
import { TransferJob, type JobEvent } from "./runner.ts";
import { seenElsewhere } from "./seen-elsewhere.ts";
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
  const wanted = spec.kind === "transfer" ? new Set((spec.jids ?? []).map((j) => canonicalJid(parseFullJid(j, style === "body" ? "jids" : "JID")))) : undefined;
  return { spec, node, settings, ...(wanted ? { wanted } : {}) };
}

/** Sending users to a node that does not answer would cut them off: refuse before touching anyone. */
export async function assertTargetsReachable(job: PreparedJob, style: FieldStyle): Promise<void> {
  if (job.spec.targetCheck === false) return;
  await assertReachable(job.settings.targets, fieldName("to", style));
}

/** Each target accepts TCP connections, or an InputError naming `field`. */
export async function assertReachable(targets: Target[], field = "--to"): Promise<void> {
  const results = await Promise.all(targets.map((t) => tcpReachable(t.address, 3000, 5222)));
  results.forEach((result, i) => {
    const target = targets[i] as Target;
    if (result !== true) throw new InputError(field, `${formatHostPort(target.address)} is not reachable from here (${result}); pass --no-target-check if only clients can reach it`);
  });
}

/** `transfer` moves live sessions only: each named JID must be online on the node. */
export async function assertSessionsOnline(job: PreparedJob, session: NodeSession, style: FieldStyle): Promise<void> {
  if (!job.wanted) return;
  const online = new Set((await session.admin.listSessions()).map((s) => canonicalJid(s.jid)));
  const missing = [...job.wanted].filter((j) => !online.has(j));
  if (missing.length > 0) throw new InputError(style === "body" ? "jids" : "JID", `${missing.join(", ")} ${missing.length === 1 ? "is" : "are"} not online on node ${job.node.name}`);
}

export interface RunOptions {
  id: string;
  journal: JobJournal;
  signal: AbortSignal;
  onEvent: (event: JobEvent) => void;
  resume?: SessionSnapshot[];
  /** The sessions the job is scoped to (a cluster member's, from the node map); default: the node's listing. */
  source?: () => Promise<LiveSession[]>;
  /** An open session to another configured node (the CLI opens one, the daemon has one), or undefined. */
  targetSession?: (node: NodeConfig) => Promise<NodeSession | undefined>;
}

/** Runs the engine to its summary. Events and the summary carry the journal's job id. */
export async function runPreparedJob(config: Config, session: NodeSession, job: PreparedJob, run: RunOptions): Promise<JobSummary> {
  const { spec, settings } = job;
  const mode = spec.from ?? config.from;
  const from = await resolveFrom(mode, config.domain, session);
  const own = job.node.admin ? bareJid(job.node.admin.jid) : undefined;
  const wanted = job.wanted;
  const chain = await methodChain(job, session);
  const elsewhere = chain.names.includes("reset") ? seenOnTargetNodes(config, job, run.targetSession) : undefined;
  const engine = new TransferJob({
    id: run.id,
    kind: spec.kind,
    node: job.node.name,
    link: session.link,
    admin: session.admin,
    // the signal ends a wait for a link that is down (Ctrl-C while the server is unreachable)
    ready: (timeoutMs) => session.ready(timeoutMs, run.signal),
    domain: config.domain,
    ...(spec.domain !== undefined ? { packetDomain: spec.domain } : {}),
    from,
    fromFallback: mode === "auto",
    restartedSince: (wallMs) => restartedSince((iq) => session.link.request(iq), config.domain, wallMs),
    // on a cluster member the account's sessions are cluster-wide: only the node map tells that one left this member;
    // where the listing is one cheap request, quick listings see departures (runner.ts, pauseBeforeScan)
    ...(run.source ? { source: run.source } : session.admin.listsInOneRequest ? {} : { isGone: (s: { bare: string; resource: string }) => session.admin.isGone(s) }),
    targets: settings.targets,
    selects: (s) => !(own !== undefined && sameJid(s.bare, own)) && !settings.excluded(s) && (wanted === undefined || wanted.has(canonicalJid(s.jid))),
    pacing: settings.pacing,
    ...(settings.autoRate ? { autoPacing: autoPacingFor(settings, config.domain, targetNodeListings(config, job, run.targetSession)) } : {}),
    waitMs: settings.waitMs,
    graceMs: settings.graceMs,
    ...(settings.deadlineMs !== undefined ? { deadlineMs: settings.deadlineMs } : {}),
    fallback: settings.fallback,
    methods: chain.names,
    methodModules: chain.modules,
    ...(elsewhere ? { seenElsewhere: elsewhere } : {}),
    follow: spec.kind === "drain" && spec.follow !== false,
    ...(spec.announce !== undefined ? { announce: spec.announce } : {}),
    dryRun: Boolean(spec.dryRun),
    signal: run.signal,
    journal: run.journal,
    ...(run.resume ? { resume: run.resume } : {}),
    onEvent: run.onEvent,
  });
  try {
    return await engine.run();
  } finally {
    await chain.close();
  }
}

/**
 * `--rate auto`: login probes against each target's public address (its `--to` address) feed the controller; when
 * the targets are configured nodes, so does how long moved users take to be listed there (appearance-watch.ts).
 */
function autoPacingFor(settings: JobSettings, domain: string, listings: TargetListings | undefined): NonNullable<ConstructorParameters<typeof TransferJob>[0]["autoPacing"]> {
  const targets = settings.targets.map((t) => ({ label: t.label, address: t.address }));
  return ({ onBack, ...hooks }) =>
    startAutoPacing({
      targets,
      domain,
      controller: { maxRate: settings.autoRate?.maxRate ?? Infinity },
      ...(listings ? { watchAppearances: (watch) => watchAppearances({ listings, clock: hooks.clock, ...watch }), onBack } : {}),
      ...hooks,
    });
}

type TargetListings = Array<() => Promise<LiveSession[]>>;

/**
 * Each target's listing, when every target is a configured node outside the job's cluster (a cluster lists its
 * members' sessions together, so a user moved within it shows no arrival); undefined otherwise.
 */
function targetNodeListings(config: Config, job: PreparedJob, open: RunOptions["targetSession"]): TargetListings | undefined {
  if (!open) return undefined;
  const nodes = job.settings.targets.map((t) => config.nodes.find((n) => n.name === t.label && n !== job.node && !(n.cluster && n.cluster === job.node.cluster)));
  if (nodes.length === 0 || nodes.some((n) => n === undefined)) return undefined;
  return (nodes as NodeConfig[]).map((node) => listingOf(node, open));
}

/**
 * The methods this job tries, best first, and their modules. A chain named with --method is used as given (a method
 * without its channel reports itself unavailable per session); otherwise cxfr, then what the node's channels allow
 * (see-other-host, reset, close — cxfr check lists them), then kick when the fallback is kick.
 */
async function methodChain(job: PreparedJob, session: NodeSession): Promise<{ names: MethodName[]; modules: Partial<Record<MethodName, Method>>; close(): Promise<void> }> {
  const kind = session.admin.dialect.kind;
  const control = sessionControlFor(job.node, kind);
  const modules = buildMethods(control, session.admin);
  const close = async () => {
    await control?.stop();
  };
  // `transfer` sends the packet it is named for; the other kinds widen to what the node allows
  if (job.settings.methodsChosen || !control || job.spec.kind === "transfer") return { names: job.settings.methods, modules, close };
  const usable = availableMethods(await probeChannels(job.node, kind), { isAdmin: true });
  const names = job.settings.methods.flatMap((m): MethodName[] => (m === "cxfr" ? ["cxfr", ...usable.filter((u) => u !== "cxfr" && u !== "kick")] : [m]));
  return { names, modules, close };
}

/**
 * After reset, whether the client is back on a target that is a configured node, from that node's listing. Targets
 * in the job's own cluster are left out: they list the cluster's sessions, and a resume there moves the session.
 */
function seenOnTargetNodes(config: Config, job: PreparedJob, open: RunOptions["targetSession"]): ((session: SessionRef) => Promise<boolean>) | undefined {
  if (!open) return undefined;
  const nodes = job.settings.targets.flatMap((t) => config.nodes.filter((n) => n.name === t.label && n !== job.node && !(n.cluster && n.cluster === job.node.cluster)));
  if (nodes.length === 0) return undefined;
  return seenElsewhere(nodes.map((node) => listingOf(node, open)));
}

/** One configured node's sessions (cxfr's own admin sessions left out), through a session the caller opens. */
function listingOf(node: NodeConfig, open: NonNullable<RunOptions["targetSession"]>): () => Promise<LiveSession[]> {
  return async () => {
    const target = await open(node);
    return target ? (await target.admin.listSessions()).filter((s) => !target.isOwnSession(s)) : [];
  };
}

export async function resolveFrom(mode: string, domain: string, session: NodeSession): Promise<"domain" | "component"> {
  if (mode === "domain" || mode === "component") return mode;
  return (await probeFromDomain(session.link, domain)) === "allowed" ? "domain" : "component";
}
