import { randomBytes } from "node:crypto";
import type { Config, NodeConfig } from "../config.ts";
import { CxfrError, ExitCode, InputError } from "../errors.ts";
import type { Located } from "../cluster/locate.ts";
import type { Placement, Plan } from "../jobs/placement.ts";
import type { JobSummary } from "../jobs/outcomes.ts";
import { TransferJob, type JobEvent } from "../jobs/runner.ts";
import type { Target } from "../jobs/targets.ts";
import { bareJid, sameJid } from "../xmpp/jid.ts";
import { readJobSettings, type JobFlags } from "./job-options.ts";
import type { Output } from "./output.ts";
import { createProgress } from "./progress.ts";
import { assertReachable, resolveFrom } from "../jobs/launch.ts";
import type { MethodName } from "../methods/method.ts";
import { printSummary } from "./job-output.ts";
import { openScopes, type LinkScope } from "./scopes.ts";

export interface PlannedJobRequest {
  kind: "redirect" | "rebalance";
  flags: JobFlags;
  /** Every configured node: sessions are counted on all of them, and any of them may receive. */
  nodes: NodeConfig[];
  /** Which session goes where, from one look at every node. */
  plan: (placement: Placement) => Plan;
  /** Optional note about the plan (e.g. mean and tolerance), an event for --json, a line otherwise. */
  describe?: (placement: Placement, plan: Plan) => Record<string, unknown>;
}

/**
 * redirect and rebalance: looks at every node (one link per standalone node or cluster), plans the
 * moves, then runs one TransferJob per link with the plan as selection and target, all at once, with
 * drain's pacing, outcomes, --dry-run, --json, progress and exit codes.
 */
export async function runPlannedJobs(out: Output, config: Config, request: PlannedJobRequest): Promise<number> {
  const missing = request.nodes.find((n) => !n.public);
  if (missing) throw new InputError(`${missing.name}.public`, `node ${missing.name} has no public address: set public: HOST:PORT (where clients are sent to reach it)`);
  if (request.flags.to !== undefined) throw new InputError("--to", `${request.kind} chooses targets itself from the configured nodes`);
  const settings = readJobSettings({ ...request.flags, to: request.nodes.map((n) => n.name) }, config, { fallback: "none" });
  const targets = settings.targets;
  const targetOf = (name: string) => targets.find((t) => t.label === name) as Target;
  const scopes = await openScopes(config, request.nodes, true);
  const controller = new AbortController();
  const onSignal = () => controller.abort();
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  const progress = !out.options.json && out.options.tty && !out.options.quiet ? createProgress() : undefined;
  try {
    const located = new Map<LinkScope, Located[]>();
    for (const scope of scopes) located.set(scope, (await scope.locate()).filter((l) => l.configured && !settings.excluded(l.session)));
    const placement: Placement = new Map(request.nodes.map((n) => [n.name, []]));
    for (const list of located.values()) for (const l of list) placement.get(l.node)?.push(l.session);
    const plan = request.plan(placement);
    const note = request.describe?.(placement, plan);
    if (note) {
      if (out.options.json) out.event({ event: "plan", kind: request.kind, ...note, planned: plan.size });
      else out.line(`${request.kind}: ${Object.entries(note).map(([k, v]) => `${k} ${typeof v === "object" ? JSON.stringify(v) : String(v)}`).join(", ")}; ${plan.size} to move`);
    }
    const used = new Set([...plan.values()].map((m) => m.to));
    if (!request.flags.dryRun && request.flags.targetCheck !== false) await assertReachable(targets.filter((t) => used.has(t.label)));

    const onEvent = (event: JobEvent) => {
      if (event.event === "summary" && single === false) return; // one combined summary below
      if (out.options.json) out.event(event);
      else if (event.event === "planned") out.line(`${String(event.jid)} -> ${String(event.target)}`);
      else progress?.update(event);
    };
    const planFor = (scope: LinkScope) => {
      const inScope = new Set(scope.nodes.map((n) => n.name));
      return new Map([...plan].filter(([, move]) => inScope.has(move.from)));
    };
    const busy = scopes.filter((scope) => planFor(scope).size > 0);
    const single = busy.length === 1;
    const jobs: TransferJob[] = [];
    for (const scope of busy) {
      const ours = planFor(scope);
      // a planned session counts as moved once it is off the node it was planned from
      const source = async () => (await scope.locate()).filter((l) => ours.get(l.session.jid)?.from === l.node).map((l) => l.session);
      const own = scope.nodes[0]?.admin ? bareJid(scope.nodes[0].admin.jid) : undefined;
      jobs.push(new TransferJob({
        kind: request.kind,
        node: scope.nodes.map((n) => n.name).join(","),
        link: scope.session.link,
        admin: scope.session.admin,
        ready: scope.session.ready,
        domain: config.domain,
        ...(request.flags.domain !== undefined ? { packetDomain: request.flags.domain } : {}),
        from: await resolveFrom(request.flags.from ?? config.from, config.domain, scope.session),
        fromFallback: (request.flags.from ?? config.from) === "auto",
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
        dryRun: Boolean(request.flags.dryRun),
        signal: controller.signal,
        onEvent,
      }));
    }
    const summaries = await Promise.all(jobs.map((job) => job.run()));
    progress?.stop();
    const summary = combine(request.kind, summaries);
    if (!single && out.options.json) out.event({ ts: new Date().toISOString(), event: "summary", ...summary });
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
    await Promise.all(scopes.map((s) => s.session.close()));
  }
}

/** One summary for the jobs of every link (none when the plan was empty). */
function combine(kind: string, summaries: JobSummary[]): JobSummary {
  if (summaries.length === 1) return summaries[0] as JobSummary;
  const total: JobSummary = { job: `j-${randomBytes(4).toString("hex")}`, kind, targeted: 0, moved: 0, kicked: 0, failed: 0, skipped: 0, remaining: 0, elapsed_ms: 0, by_method: {} };
  for (const s of summaries) {
    for (const key of ["targeted", "moved", "kicked", "failed", "skipped", "remaining"] as const) total[key] += s[key];
    total.elapsed_ms = Math.max(total.elapsed_ms, s.elapsed_ms);
    const byMethod = (total.by_method ??= {});
    for (const [method, n] of Object.entries(s.by_method ?? {}) as Array<[MethodName, number]>) byMethod[method] = (byMethod[method] ?? 0) + n;
    if (s.error) total.error ??= s.error;
  }
  return total;
}
