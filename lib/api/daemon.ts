import { selectNode, type Config, type NodeConfig } from "../config.ts";
import { ConnectError, CxfrError, ExitCode, InputError, NotFoundError } from "../errors.ts";
import { openNode, type NodeSession } from "../cli/connect.ts";
import { PLANNED_KINDS } from "../jobs/job-defaults.ts";
import type { JobSpec } from "../jobs/job-schema.ts";
import type { JobJournal, JobState, SessionSnapshot } from "../jobs/journal-port.ts";
import { assertSessionsOnline, assertTargetsReachable, prepareJob, runPreparedJob, type PreparedJob } from "../jobs/launch.ts";
import type { JobSummary } from "../jobs/outcomes.ts";
import { preparePlan, runPlannedJob, type PreparedPlan } from "../jobs/planned.ts";
import type { JobEvent } from "../jobs/runner.ts";
import type { LiveSession } from "../xmpp/admin.ts";
import { holdRefs, nodeRef } from "../jobs/hold-key.ts";
import { statusView } from "../cli/commands/status.ts";
import { groupByLink, linkScope, requireNodeMap, type LinkScope } from "../cli/scopes.ts";
import type { JobRecord, Journal } from "../store/journal.ts";
import type { Logger } from "./log.ts";
import type { Metrics } from "./metrics.ts";

/** How often running jobs renew their hold and look for a `cxfr cancel` written to the journal. */
const RENEW_MS = 2000;
/** Finished jobs whose events stay in memory for late followers. */
const KEEP_FINISHED = 100;
const RETRY_OPEN_MS = 5000;
/** How often the sessions-per-node gauge is refreshed between jobs (jobs update it at every scan). */
const COUNT_SESSIONS_MS = 30_000;

export class ShuttingDownError extends CxfrError {
  constructor() {
    super("the daemon is shutting down and takes no new jobs", ExitCode.connect, "shutting_down");
  }
}

/** A job this daemon runs (or ran): its events for followers, and how to stop it. */
export interface LiveJob {
  id: string;
  node: string;
  kind: string;
  events: JobEvent[];
  listeners: Set<(event: JobEvent | undefined) => void>;
  controller: AbortController;
  /** What an abort means when the engine returns. */
  stopReason: "cancelled" | "interrupted";
  done: Promise<void>;
  finished: boolean;
  error?: { code: string; message: string };
}

/** How a job runs once its journal row exists (a drain or transfer on one node, or a planned job over all). */
type Execute = (run: { id: string; journal: JobJournal; signal: AbortSignal; onEvent: (event: JobEvent) => void; resume?: SessionSnapshot[] }) => Promise<JobSummary>;

/**
 * The long-running side of cxfr: one open connection set per link (a standalone node, or a whole cluster: the
 * server allows one component connection per domain), jobs run on those, each journaled and holding its nodes.
 */
export class Daemon {
  /** By node name; the members of a cluster share one. */
  private readonly sessions = new Map<string, NodeSession>();
  /** One group of nodes per link (groupByLink). */
  private readonly groups: NodeConfig[][];
  private readonly opening = new Map<string, Promise<void>>();
  private readonly jobs = new Map<string, LiveJob>();
  private closing = false;
  private stopped = false;
  private readonly renewal: NodeJS.Timeout;
  private readonly counting: NodeJS.Timeout;

  constructor(
    readonly config: Config,
    readonly journal: Journal,
    private readonly log: Logger,
    readonly metrics: Metrics,
  ) {
    this.groups = groupByLink(config, config.nodes);
    this.renewal = setInterval(() => this.renewAll(), RENEW_MS);
    this.counting = setInterval(() => void this.countSessions(), COUNT_SESSIONS_MS);
  }

  /** Opens every node's connections; a node that cannot be reached yet is retried in the background. */
  async start(): Promise<void> {
    await Promise.all(this.groups.map((group) => this.open(group)));
    await this.countSessions();
  }

  nodeStates(): Record<string, string> {
    return Object.fromEntries(this.config.nodes.map((n) => [n.name, this.sessions.get(n.name)?.link.state ?? "connecting"]));
  }

  session(name: string): NodeSession {
    const session = this.sessions.get(name);
    if (!session) throw new ConnectError(`node ${name} is not connected yet`, "link_down");
    return session;
  }

  async listSessions(nodeName: string | undefined): Promise<Array<{ node: string } & LiveSession>> {
    const wanted = nodeName !== undefined ? [this.nodeOf(nodeName)] : this.config.nodes;
    const rows: Array<{ node: string } & LiveSession> = [];
    for (const group of this.groups.filter((g) => g.some((n) => wanted.includes(n)))) {
      const first = group[0] as NodeConfig;
      const session = this.session(first.name);
      const listed = (await session.admin.listSessions({ details: true })).filter((s) => !session.isOwnSession(s));
      if (!first.cluster) {
        this.metrics.sessionCount(first.name, listed.length);
        for (const s of listed) rows.push({ node: first.name, ...s });
        continue;
      }
      // a cluster lists every member's sessions: the node map says whose each one is
      if (nodeName !== undefined) this.requireMap(first);
      const memberOf = first.cluster.nodeMap ? new Map((await (await linkScope(this.config, group, session, false)).locate()).map((l) => [l.session.jid, l.node])) : undefined;
      for (const s of listed) {
        const node = memberOf ? memberOf.get(s.jid) : first.cluster.name;
        if (node !== undefined && (nodeName === undefined || node === nodeName)) rows.push({ node, ...s });
      }
    }
    return rows;
  }

  /** The `cxfr status` view over this daemon's links (a link that is down gives its nodes as down). */
  async status(): Promise<Awaited<ReturnType<typeof statusView>>> {
    return statusView(this.config, this.config.nodes, async (group) => {
      const session = this.session((group[0] as NodeConfig).name);
      if (session.link.state !== "online") throw new ConnectError(`the link is ${session.link.state}`, "link_down");
      return { scope: await linkScope(this.config, group, session, false), release: async () => undefined };
    });
  }

  /** Validates, checks and journals a job, then starts it. Throws InputError (400), ConflictError (409). */
  async submit(spec: JobSpec): Promise<JobRecord> {
    if (this.closing) throw new ShuttingDownError();
    if (isPlanned(spec)) {
      const plan = preparePlan(this.config, spec, "body");
      const record = this.journal.createJob({ kind: spec.kind, nodes: holdRefs(plan.nodes), spec, holder: "daemon" });
      this.run(record.id, spec.kind, plan.nodes, this.planned(plan));
      return record;
    }
    const node = this.nodeOf(spec.node);
    const job = prepareJob(this.config, node, { ...spec, node: node.name }, "body");
    if (spec.kind === "drain") this.requireMap(node);
    await assertTargetsReachable(job, "body");
    const session = this.session(node.name);
    await assertSessionsOnline(job, session, "body");
    if (this.closing) throw new ShuttingDownError();
    const record = this.journal.createJob({ kind: spec.kind, nodes: [nodeRef(node)], spec: job.spec, holder: "daemon" });
    this.run(record.id, spec.kind, [node], this.onNode(job));
    return record;
  }

  /** Continues a job whose process died (found at start-up, or named by `cxfr jobs resume`). */
  resume(id: string): JobRecord {
    if (this.closing) throw new ShuttingDownError();
    const record = this.journal.get(id);
    if (!record) throw new NotFoundError("id", `no job ${id}`);
    const { nodes, execute } = this.executionOf(record.spec, record.nodes[0]);
    const taken = this.journal.takeOver(id, "daemon");
    const resume = this.journal.snapshots(id);
    this.log.info({ job: id, nodes: record.nodes, sessions: resume.length }, "resuming job");
    this.run(id, record.kind, nodes, execute, resume);
    return taken;
  }

  /** Resumes every unfinished job whose holder died. */
  resumeOrphans(): string[] {
    const ids: string[] = [];
    for (const orphan of this.journal.orphans()) {
      try {
        this.resume(orphan.id);
        ids.push(orphan.id);
      } catch (err) {
        this.log.error({ job: orphan.id, err: (err as Error).message }, "cannot resume job");
      }
    }
    return ids;
  }

  /** Stops a job: its in-flight sessions get the rest of their grace, then it ends as cancelled. */
  cancel(id: string): JobState {
    const live = this.jobs.get(id);
    if (live && !live.finished) {
      live.stopReason = "cancelled";
      live.controller.abort();
      this.journal.cancel(id);
      return "cancelling";
    }
    if (!this.journal.get(id)) throw new NotFoundError("id", `no job ${id}`);
    return this.journal.cancel(id);
  }

  live(id: string): LiveJob | undefined {
    return this.jobs.get(id);
  }

  /** SIGTERM: no new jobs; running jobs stop sending, their in-flight sessions settle; links and journal close. */
  async shutdown(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    for (const job of this.jobs.values()) {
      if (job.finished) continue;
      job.stopReason = "interrupted";
      job.controller.abort();
    }
    await Promise.all([...this.jobs.values()].map((j) => j.done));
    this.stopped = true;
    clearInterval(this.renewal);
    clearInterval(this.counting);
    await Promise.all([...new Set(this.sessions.values())].map((s) => s.close()));
    this.journal.close();
  }

  private nodeOf(name: string | undefined): NodeConfig {
    try {
      return selectNode(this.config, name);
    } catch (err) {
      if (err instanceof InputError) throw new InputError("node", err.message.replace(/^--node: /, "").replace("with --node", 'with "node"'));
      throw err;
    }
  }

  /** A journaled spec read again: the nodes it acts on and how to run it. */
  private executionOf(spec: JobSpec, nodeName: string | undefined): { nodes: NodeConfig[]; execute: Execute } {
    if (isPlanned(spec)) {
      const plan = preparePlan(this.config, spec, "body");
      return { nodes: plan.nodes, execute: this.planned(plan) };
    }
    const node = this.nodeOf(nodeName);
    return { nodes: [node], execute: this.onNode(prepareJob(this.config, node, spec, "body")) };
  }

  /** A drain or transfer on one node; on a cluster member, scoped to the sessions the node map puts on it. */
  private onNode(job: PreparedJob): Execute {
    return async (run) => {
      const node = job.node;
      const session = await this.waitSession(node.name, run.signal);
      let source: (() => Promise<LiveSession[]>) | undefined;
      if (job.spec.kind === "drain") {
        const scope = await linkScope(this.config, this.groupOf(node), session, true);
        if (node.cluster) source = async () => (await scope.locate()).filter((l) => l.node === node.name).map((l) => l.session);
      }
      return runPreparedJob(this.config, session, job, { ...run, targetSession: async (node) => this.sessions.get(node.name), ...(source ? { source } : {}) });
    };
  }

  /** redirect, rebalance: every link's scope, then the plan over all of them. */
  private planned(plan: PreparedPlan): Execute {
    return async (run) => {
      const scopes: LinkScope[] = [];
      for (const group of this.groups) scopes.push(await linkScope(this.config, group, await this.waitSession((group[0] as NodeConfig).name, run.signal), true));
      return runPlannedJob(this.config, scopes, plan, run);
    };
  }

  private run(id: string, kind: string, nodes: NodeConfig[], execute: Execute, resume?: SessionSnapshot[]): void {
    const nodeNames = nodes.map((n) => n.name).join(",");
    const live: LiveJob = { id, node: nodeNames, kind, events: [], listeners: new Set(), controller: new AbortController(), stopReason: "interrupted", done: Promise.resolve(), finished: false };
    this.jobs.set(id, live);
    this.forgetOldJobs();
    const emit = (event: JobEvent) => {
      live.events.push(event);
      this.metrics.jobEvent(live.node, event);
      for (const listener of live.listeners) listener(event);
    };
    const started = Date.now();
    this.log.info({ job: id, kind, nodes: nodeNames, resumed: resume !== undefined }, "job started");
    const running = async (): Promise<JobSummary> => {
      this.journal.job(id, "running", { job: id, kind, targeted: 0, moved: 0, kicked: 0, failed: 0, skipped: 0, remaining: 0, elapsed_ms: 0 });
      return execute({ id, journal: this.journal, signal: live.controller.signal, onEvent: emit, ...(resume ? { resume } : {}) });
    };
    live.done = running().then(
      (summary) => {
        const state: JobState = summary.error ? "failed" : live.controller.signal.aborted ? live.stopReason : "done";
        if (summary.error) live.error = summary.error;
        this.journal.job(id, state, summary);
        this.metrics.jobFinished(kind, state, summary.elapsed_ms);
        this.log.info({ state, ...summary }, "job finished");
      },
      (err: unknown) => {
        const error = err instanceof CxfrError ? { code: err.code, message: err.message } : { code: "internal", message: (err as Error).message };
        live.error = error;
        try {
          this.journal.fail(id, error.message);
        } catch (journalErr) {
          this.log.error({ job: id, err: (journalErr as Error).message }, "journal write failed");
        }
        this.metrics.jobFinished(kind, "failed", Date.now() - started);
        this.log.error({ job: id, error }, "job failed");
      },
    ).finally(() => {
      live.finished = true;
      for (const listener of live.listeners) listener(undefined);
      live.listeners.clear();
    });
  }

  private groupOf(node: NodeConfig): NodeConfig[] {
    return this.groups.find((g) => g.includes(node)) ?? [node];
  }

  /** A drain on a cluster member without the node map would act on every member's sessions: refused, naming `node`. */
  private requireMap(node: NodeConfig): void {
    try {
      requireNodeMap(this.config, node);
    } catch (err) {
      if (err instanceof InputError) throw new InputError("node", err.message);
      throw err;
    }
  }

  /** A resumed job may start before its node's link is up again. */
  private async waitSession(name: string, signal: AbortSignal): Promise<NodeSession> {
    for (;;) {
      const session = this.sessions.get(name);
      if (session) return session;
      if (signal.aborted || this.stopped) throw new ConnectError(`node ${name} never connected`, "link_down");
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  /** Opens one link for a group (a standalone node or a whole cluster); retried in the background until it works. */
  private async open(group: NodeConfig[]): Promise<void> {
    const first = group[0] as NodeConfig;
    const name = first.cluster?.name ?? first.name;
    if (this.opening.has(name)) return this.opening.get(name);
    const attempt = openNode(this.config, first).then(
      (session) => {
        for (const node of group) this.sessions.set(node.name, session);
        this.metrics.watchLink(name, session.link);
        this.log.info({ node: name, ...(first.cluster ? { members: group.map((n) => n.name) } : {}) }, "node connected");
      },
      (err: unknown) => {
        this.log.warn({ node: name, err: (err as Error).message }, "cannot connect to node; retrying");
        this.opening.delete(name);
        if (!this.stopped && !this.closing) setTimeout(() => void this.open(group), RETRY_OPEN_MS).unref();
      },
    );
    this.opening.set(name, attempt);
    return attempt;
  }

  /** Keeps the holds of running jobs alive and picks up `cxfr cancel` written straight to the journal. */
  private renewAll(): void {
    for (const job of this.jobs.values()) {
      if (job.finished) continue;
      try {
        if (this.journal.renew(job.id) === "cancelling" && !job.controller.signal.aborted) {
          job.stopReason = "cancelled";
          job.controller.abort();
        }
      } catch (err) {
        this.log.error({ job: job.id, err: (err as Error).message }, "journal renewal failed");
      }
    }
  }

  /** Sessions per node for /metrics (per member from a cluster's node map); a node that cannot be listed now keeps its last count. */
  private async countSessions(): Promise<void> {
    await Promise.all(
      this.groups.map(async (group) => {
        const first = group[0] as NodeConfig;
        const session = this.sessions.get(first.name);
        if (!session || session.link.state !== "online") return;
        if (first.cluster && !first.cluster.nodeMap) return;
        const located = await linkScope(this.config, group, session, false)
          .then((scope) => scope.locate())
          .catch(() => undefined);
        if (located) for (const node of group) this.metrics.sessionCount(node.name, located.filter((l) => l.node === node.name).length);
      }),
    );
  }

  private forgetOldJobs(): void {
    const finished = [...this.jobs.values()].filter((j) => j.finished);
    for (const job of finished.slice(0, Math.max(0, finished.length - KEEP_FINISHED))) this.jobs.delete(job.id);
  }
}

function isPlanned(spec: JobSpec): spec is JobSpec & { kind: (typeof PLANNED_KINDS)[number] } {
  return (PLANNED_KINDS as readonly string[]).includes(spec.kind);
}
