import type { Config, NodeConfig } from "../config.ts";
import { InputError } from "../errors.ts";
import type { Located } from "../cluster/locate.ts";
import type { MethodName } from "../methods/method.ts";
import { bareJid, sameJid } from "../xmpp/jid.ts";
// LinkScope and JobSettings are shared with the CLI; they belong one layer down once lib/cli/ is split
import { requireNodeMap, type LinkScope } from "../cli/scopes.ts";
import { readJobSettings, type JobSettings } from "../cli/job-options.ts";
import { assertReachable, resolveFrom } from "./launch.ts";
import { readFrom, type FieldStyle } from "./job-defaults.ts";
import type { JobSpec } from "./job-schema.ts";
import { TERMINAL_STATES, type JobJournal, type SessionSnapshot } from "./journal-port.ts";
import type { JobSummary } from "./outcomes.ts";
import { summarize } from "./outcomes.ts";
import type { Placement, Plan } from "./placement.ts";
import { readPlanner, type Planner } from "./planner.ts";
import { TransferJob, type JobEvent } from "./runner.ts";
import type { Target } from "./targets.ts";

/**
 * redirect and rebalance, for the CLI and the daemon alike: one job over every configured node. It looks at every
 * node (one link per standalone node or cluster), plans the moves, then runs one TransferJob per link with the plan
 * as selection and target, all at once, journaled under one job id, with drain's pacing, outcomes and events.
 */
export interface PreparedPlan {
  spec: JobSpec;
  planner: Planner;
  /** Every configured node: sessions are counted on all of them, and any of them may receive. */
  nodes: NodeConfig[];
  settings: JobSettings;
}

/** Validates a redirect or rebalance spec before anything connects; every error names the field in the caller's style. */
export function preparePlan(config: Config, spec: JobSpec, style: FieldStyle, mapLabel?: string): PreparedPlan {
  const nodes = config.nodes;
  const planner = readPlanner(spec, nodes, style, mapLabel);
  const missing = nodes.find((n) => !n.public);
  if (missing) throw new InputError(`${missing.name}.public`, `node ${missing.name} has no public address: set public: HOST:PORT (where clients are sent to reach it)`);
  readFrom(spec.from, style);
  const settings = readJobSettings({ ...spec, to: nodes.map((n) => n.name) }, config, { fallback: "none" }, style);
  // every member of a cluster lists every session of the cluster: without the node map nothing can be placed
  for (const node of nodes) requireNodeMap(config, node);
  return { spec, planner, nodes, settings };
}

export interface PlannedRunOptions {
  id: string;
  journal: JobJournal;
  signal: AbortSignal;
  onEvent: (event: JobEvent) => void;
  /** A resumed job's sessions: settled ones are left alone, those in flight re-observed, never sent again. */
  resume?: SessionSnapshot[];
}

export async function runPlannedJob(config: Config, scopes: LinkScope[], job: PreparedPlan, run: PlannedRunOptions): Promise<JobSummary> {
  const { spec, settings } = job;
  const kind = job.planner.kind;
  const dryRun = Boolean(spec.dryRun);
  const targets = settings.targets;
  const targetOf = (name: string) => targets.find((t) => t.label === name) as Target;
  const restored = run.resume ?? [];
  const settled = new Set(restored.filter((s) => TERMINAL_STATES.includes(s.state)).map((s) => s.jid));
  const emit = (event: Record<string, unknown>) => run.onEvent({ ts: new Date().toISOString(), job: run.id, ...event } as JobEvent);

  const located = new Map<LinkScope, Located[]>();
  for (const scope of scopes) located.set(scope, (await scope.locate()).filter((l) => l.configured && !settings.excluded(l.session)));
  const placement: Placement = new Map(job.nodes.map((n) => [n.name, []]));
  for (const list of located.values()) for (const l of list) placement.get(l.node)?.push(l.session);
  // a session this job already moved or ended is never planned again
  const plan: Plan = new Map([...job.planner.plan(placement)].filter(([jid]) => !settled.has(jid)));
  emit({ event: "plan", kind, planned: plan.size, ...(job.planner.describe?.(placement) ?? {}) });
  const used = new Set([...plan.values()].map((m) => m.to));
  if (!dryRun && spec.targetCheck !== false) await assertReachable(targets.filter((t) => used.has(t.label)));

  // sessions in flight when the job stopped go back to the link that lists them now (else the first): it re-observes them
  const inFlight = restored.filter((s) => !settled.has(s.jid));
  const scopeOf = (jid: string) => scopes.find((scope) => located.get(scope)?.some((l) => l.session.jid === jid)) ?? scopes[0];
  const planFor = (scope: LinkScope) => {
    const inScope = new Set(scope.nodes.map((n) => n.name));
    return new Map([...plan].filter(([, move]) => inScope.has(move.from)));
  };
  const work = scopes.map((scope) => ({ scope, ours: planFor(scope), resume: inFlight.filter((s) => scopeOf(s.jid) === scope) })).filter((w) => w.ours.size > 0 || w.resume.length > 0);
  // the engines journal their sessions; the job's state and counts are the sum, written by the caller
  const journal: JobJournal = { session: (id, snapshot) => run.journal.session(id, snapshot), job: () => undefined };
  const onEvent = (event: JobEvent) => {
    if (event.event !== "summary" && event.event !== "job") run.onEvent(event);
  };
  const engines: TransferJob[] = [];
  for (const { scope, ours, resume } of work) {
    const targetOfResumed = new Map(resume.map((s) => [s.jid, s.target]));
    // a planned session counts as moved once it is off the node it was planned from (a resumed one: once on its target)
    const source = async () => (await scope.locate()).filter((l) => ours.get(l.session.jid)?.from === l.node || (targetOfResumed.has(l.session.jid) && targetOfResumed.get(l.session.jid) !== l.node)).map((l) => l.session);
    const own = scope.nodes[0]?.admin ? bareJid(scope.nodes[0].admin.jid) : undefined;
    const mode = spec.from ?? config.from;
    engines.push(
      new TransferJob({
        id: run.id,
        kind,
        node: scope.nodes.map((n) => n.name).join(","),
        link: scope.session.link,
        admin: scope.session.admin,
        ready: (timeoutMs) => scope.session.ready(timeoutMs, run.signal),
        domain: config.domain,
        ...(spec.domain !== undefined ? { packetDomain: spec.domain } : {}),
        from: await resolveFrom(mode, config.domain, scope.session),
        fromFallback: mode === "auto",
        targets,
        source,
        selects: (s) => !(own !== undefined && sameJid(s.bare, own)) && ours.has(s.jid),
        targetFor: (s) => targetOf((ours.get(s.jid) as { to: string }).to),
        pacing: settings.pacing,
        waitMs: settings.waitMs,
        graceMs: settings.graceMs,
        ...(settings.deadlineMs !== undefined ? { deadlineMs: settings.deadlineMs } : {}),
        fallback: settings.fallback,
        sendPackets: settings.sendPackets,
        follow: false,
        dryRun,
        signal: run.signal,
        journal,
        ...(resume.length > 0 ? { resume } : {}),
        onEvent,
      }),
    );
  }
  const summaries = await Promise.all(engines.map((engine) => engine.run()));
  const before = restored.filter((s) => settled.has(s.jid));
  const summary = combine(run.id, kind, [...summaries, ...(before.length > 0 ? [summarize(run.id, kind, before, 0)] : [])]);
  emit({ event: "job", state: summary.error ? "failed" : run.signal.aborted ? "cancelled" : "done" });
  emit({ event: "summary", ...summary });
  return summary;
}

/** One summary for the jobs of every link (zero counts when the plan was empty). */
function combine(id: string, kind: string, summaries: JobSummary[]): JobSummary {
  const total: JobSummary = { job: id, kind, targeted: 0, moved: 0, kicked: 0, failed: 0, skipped: 0, remaining: 0, elapsed_ms: 0, by_method: {} };
  for (const s of summaries) {
    for (const key of ["targeted", "moved", "kicked", "failed", "skipped", "remaining"] as const) total[key] += s[key];
    total.elapsed_ms = Math.max(total.elapsed_ms, s.elapsed_ms);
    const byMethod = (total.by_method ??= {});
    for (const [method, n] of Object.entries(s.by_method ?? {}) as Array<[MethodName, number]>) byMethod[method] = (byMethod[method] ?? 0) + n;
    if (s.error) total.error ??= s.error;
  }
  return total;
}
