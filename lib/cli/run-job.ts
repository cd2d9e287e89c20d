import { randomBytes } from "node:crypto";
import type { Config, NodeConfig } from "../config.ts";
import { NotFoundError } from "../errors.ts";
import { PLANNED_KINDS } from "../jobs/job-defaults.ts";
import type { JobSpec } from "../jobs/job-schema.ts";
import { noJournal, type JobJournal, type JobState, type SessionSnapshot } from "../jobs/journal-port.ts";
import { assertSessionsOnline, assertTargetsReachable, prepareJob, runPreparedJob, type PreparedJob } from "../jobs/launch.ts";
import { holdRefs, nodeRef } from "../jobs/hold-key.ts";
import type { JobSummary } from "../jobs/outcomes.ts";
import { preparePlan, runPlannedJob, type PreparedPlan } from "../jobs/planned.ts";
import type { JobEvent } from "../jobs/runner.ts";
import type { NodeRef } from "../store/journal.ts";
import { Journal } from "../store/journal.ts";
import { runJobViaApi } from "./api-client.ts";
import { openNode, type NodeSession } from "./connect.ts";
import { openScope, openScopes, requireNodeMap } from "./scopes.ts";
import { presentJob } from "./job-output.ts";
import type { CommandContext } from "./program.ts";

/** How often a running job renews its hold and looks for `cxfr cancel`. */
const RENEW_MS = 2000;

/** A job ready to run here: the nodes it holds and how to run it once its journal row exists. */
interface LocalJob {
  spec: JobSpec;
  holds: NodeRef[];
  execute(run: { id: string; journal: JobJournal; signal: AbortSignal; onEvent: (event: JobEvent) => void; resume?: SessionSnapshot[] }): Promise<JobSummary>;
}

/**
 * Runs one job command: through the daemon with --api / CXFR_API, else here, journaled. Returns the exit code.
 * `mapLabel`: how errors name a redirect's map (its file).
 */
export async function runJobCommand(ctx: CommandContext, spec: JobSpec, mapLabel?: string): Promise<number> {
  const api = ctx.api();
  if (api) return runJobViaApi(ctx.out, api, spec);
  const config = ctx.config();
  const job = await prepareLocal(ctx, config, spec, "flag", mapLabel);
  if (spec.dryRun) return runHere(ctx, job, undefined);
  // the journal comes first: without it nothing is sent
  const journal = Journal.open(config.journal);
  try {
    return await runHere(ctx, job, journal);
  } finally {
    journal.close();
  }
}

/** `cxfr jobs resume ID`: takes over a job whose process died and continues it from its journaled sessions. */
export async function resumeJobHere(ctx: CommandContext, id: string): Promise<number> {
  const journal = Journal.open(ctx.journalPath());
  try {
    const record = journal.get(id);
    if (!record) throw new NotFoundError("ID", `no job ${id} in ${journal.path}`);
    const config = ctx.config();
    const job = await prepareLocal(ctx, config, record.spec, "body");
    journal.takeOver(id, "cli");
    return await runHere(ctx, job, journal, { id, resume: journal.snapshots(id) });
  } finally {
    journal.close();
  }
}

/** Checks a spec against the config before anything connects; the job it returns opens its own links. */
async function prepareLocal(ctx: CommandContext, config: Config, spec: JobSpec, style: "flag" | "body", mapLabel?: string): Promise<LocalJob> {
  if ((PLANNED_KINDS as readonly string[]).includes(spec.kind)) {
    const plan = preparePlan(config, spec, style, mapLabel);
    return { spec, holds: holdRefs(plan.nodes), execute: (run) => runPlannedHere(config, plan, run) };
  }
  const node = ctx.selectNode(config, spec.node);
  const job = prepareJob(config, node, { ...spec, node: node.name }, style);
  // a drain on a cluster member needs the node map: every member lists every session of the cluster
  if (spec.kind === "drain") requireNodeMap(config, node);
  await assertTargetsReachable(job, style);
  return { spec: job.spec, holds: [nodeRef(node)], execute: (run) => runOnNode(config, node, job, run) };
}

async function runOnNode(config: Config, node: NodeConfig, job: PreparedJob, run: Parameters<LocalJob["execute"]>[0]): Promise<JobSummary> {
  const scoped = job.spec.kind === "drain";
  const scope = await openScope(config, node.cluster ? config.nodes.filter((n) => n.cluster === node.cluster) : [node], scoped);
  const session = scope.session;
  // on a cluster member, the job sees only the sessions the node map puts on it
  const source = scoped && node.cluster ? async () => (await scope.locate()).filter((l) => l.node === node.name).map((l) => l.session) : undefined;
  const targets = targetSessions(config);
  try {
    await assertSessionsOnline(job, session, "flag");
    return await runPreparedJob(config, session, job, { ...run, targetSession: targets.open, ...(source ? { source } : {}) });
  } finally {
    await Promise.all([session.close(), targets.close()]);
  }
}

async function runPlannedHere(config: Config, plan: PreparedPlan, run: Parameters<LocalJob["execute"]>[0]): Promise<JobSummary> {
  const scopes = await openScopes(config, plan.nodes, true);
  try {
    return await runPlannedJob(config, scopes, plan, run);
  } finally {
    await Promise.all(scopes.map((s) => s.session.close()));
  }
}

/** Journals the job (its row and holds first), runs it with signals and `cxfr cancel` watched, and shows it. */
async function runHere(ctx: CommandContext, job: LocalJob, journal: Journal | undefined, resumed?: { id: string; resume: SessionSnapshot[] }): Promise<number> {
  const id = resumed?.id ?? (journal ? journal.createJob({ kind: job.spec.kind, nodes: job.holds, spec: job.spec, holder: "cli" }).id : `j-${randomBytes(4).toString("hex")}`);
  const controller = new AbortController();
  let final: JobState = "done";
  const stop = (state: JobState) => () => {
    final = state;
    controller.abort();
  };
  const onSignal = stop("interrupted");
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  const renewal = journal
    ? setInterval(() => {
        if (journal.renew(id) === "cancelling" && !controller.signal.aborted) stop("cancelled")();
      }, RENEW_MS)
    : undefined;
  const view = presentJob(ctx.out, Boolean(job.spec.dryRun));
  try {
    journal?.job(id, "running", emptySummary(id, job.spec.kind));
    const summary = await job.execute({ id, journal: journal ?? noJournal, signal: controller.signal, onEvent: view.onEvent, ...(resumed ? { resume: resumed.resume } : {}) });
    journal?.job(id, summary.error ? "failed" : controller.signal.aborted ? final : "done", summary);
    return view.finish(summary, controller.signal.aborted);
  } catch (err) {
    try {
      journal?.fail(id, (err as Error).message);
    } catch {
      // the journal itself failed: the first error is the one to report
    }
    throw err;
  } finally {
    view.stop();
    if (renewal) clearInterval(renewal);
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

/** Links to target nodes, opened on first use (after reset: is the client back there?) and closed with the job. */
function targetSessions(config: Config): { open: (node: NodeConfig) => Promise<NodeSession | undefined>; close: () => Promise<void> } {
  const opened = new Map<string, Promise<NodeSession | undefined>>();
  return {
    open: (node) => {
      // a node that cannot be opened (down, or its link held by cxfr serve) shows nothing: the chain goes on after the grace
      if (!opened.has(node.name)) opened.set(node.name, openNode(config, node).catch(() => undefined));
      return opened.get(node.name) as Promise<NodeSession | undefined>;
    },
    close: async () => {
      await Promise.all([...opened.values()].map(async (open) => (await open)?.close()));
    },
  };
}

function emptySummary(job: string, kind: string) {
  return { job, kind, targeted: 0, moved: 0, kicked: 0, failed: 0, skipped: 0, remaining: 0, elapsed_ms: 0, by_method: {} };
}
