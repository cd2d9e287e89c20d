import { selectNode, type Config, type NodeConfig } from "../config.ts";
import { ConnectError, CxfrError, ExitCode, InputError, NotFoundError } from "../errors.ts";
import { openNode, type NodeSession } from "../cli/connect.ts";
import type { JobSpec } from "../jobs/job-schema.ts";
import type { JobState, SessionSnapshot } from "../jobs/journal-port.ts";
import { assertSessionsOnline, assertTargetsReachable, prepareJob, runPreparedJob, type PreparedJob } from "../jobs/launch.ts";
import type { JobSummary } from "../jobs/outcomes.ts";
import type { JobEvent } from "../jobs/runner.ts";
import type { LiveSession } from "../xmpp/admin.ts";
import { nodeRef } from "../jobs/hold-key.ts";
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

/**
 * The long-running side of cxfr: one open connection set per configured node (the server allows one
 * component connection per domain), jobs run on those, each journaled and holding its node.
 */
export class Daemon {
  private readonly sessions = new Map<string, NodeSession>();
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
    this.renewal = setInterval(() => this.renewAll(), RENEW_MS);
    this.counting = setInterval(() => void this.countSessions(), COUNT_SESSIONS_MS);
  }

  /** Opens every node's connections; a node that cannot be reached yet is retried in the background. */
  async start(): Promise<void> {
    await Promise.all(this.config.nodes.map((node) => this.open(node)));
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
    const nodes = nodeName !== undefined ? [selectNode(this.config, nodeName)] : this.config.nodes;
    const rows: Array<{ node: string } & LiveSession> = [];
    for (const node of nodes) {
      const session = this.session(node.name);
      const listed = (await session.admin.listSessions({ details: true })).filter((s) => !session.isOwnSession(s));
      this.metrics.sessionCount(node.name, listed.length);
      for (const s of listed) rows.push({ node: node.name, ...s });
    }
    return rows;
  }

  /** Validates, checks and journals a job, then starts it. Throws InputError (400), ConflictError (409). */
  async submit(spec: JobSpec): Promise<JobRecord> {
    if (this.closing) throw new ShuttingDownError();
    const node = this.nodeOf(spec.node);
    const job = prepareJob(this.config, node, { ...spec, node: node.name }, "body");
    await assertTargetsReachable(job, "body");
    const session = this.session(node.name);
    await assertSessionsOnline(job, session, "body");
    if (this.closing) throw new ShuttingDownError();
    const record = this.journal.createJob({ kind: spec.kind, nodes: [nodeRef(node)], spec: job.spec, holder: "daemon" });
    this.run(record.id, job, session);
    return record;
  }

  /** Continues a job whose process died (found at start-up, or named by `cxfr jobs resume`). */
  resume(id: string): JobRecord {
    if (this.closing) throw new ShuttingDownError();
    const record = this.journal.get(id);
    if (!record) throw new NotFoundError("id", `no job ${id}`);
    const node = this.nodeOf(record.nodes[0]);
    const job = prepareJob(this.config, node, record.spec, "body");
    const taken = this.journal.takeOver(id, "daemon");
    const resume = this.journal.snapshots(id);
    this.log.info({ job: id, node: node.name, sessions: resume.length }, "resuming job");
    this.run(id, job, undefined, resume);
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
    await Promise.all([...this.sessions.values()].map((s) => s.close()));
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

  private run(id: string, job: PreparedJob, session: NodeSession | undefined, resume?: SessionSnapshot[]): void {
    const live: LiveJob = { id, node: job.node.name, kind: job.spec.kind, events: [], listeners: new Set(), controller: new AbortController(), stopReason: "interrupted", done: Promise.resolve(), finished: false };
    this.jobs.set(id, live);
    this.forgetOldJobs();
    const emit = (event: JobEvent) => {
      live.events.push(event);
      this.metrics.jobEvent(live.node, event);
      for (const listener of live.listeners) listener(event);
    };
    const started = Date.now();
    this.log.info({ job: id, kind: job.spec.kind, node: job.node.name, resumed: resume !== undefined }, "job started");
    const execute = async (): Promise<JobSummary> => {
      const open = session ?? (await this.waitSession(job.node.name, live.controller.signal));
      this.journal.job(id, "running", { job: id, kind: job.spec.kind, targeted: 0, moved: 0, kicked: 0, failed: 0, skipped: 0, remaining: 0, elapsed_ms: 0 });
      return runPreparedJob(this.config, open, job, { id, journal: this.journal, signal: live.controller.signal, onEvent: emit, targetSession: async (node) => this.sessions.get(node.name), ...(resume ? { resume } : {}) });
    };
    live.done = execute().then(
      (summary) => {
        const state: JobState = summary.error ? "failed" : live.controller.signal.aborted ? live.stopReason : "done";
        if (summary.error) live.error = summary.error;
        this.journal.job(id, state, summary);
        this.metrics.jobFinished(job.spec.kind, state, summary.elapsed_ms);
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
        this.metrics.jobFinished(job.spec.kind, "failed", Date.now() - started);
        this.log.error({ job: id, error }, "job failed");
      },
    ).finally(() => {
      live.finished = true;
      for (const listener of live.listeners) listener(undefined);
      live.listeners.clear();
    });
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

  private async open(node: NodeConfig): Promise<void> {
    if (this.opening.has(node.name)) return this.opening.get(node.name);
    const attempt = openNode(this.config, node).then(
      (session) => {
        this.sessions.set(node.name, session);
        this.metrics.watchLink(node.name, session.link);
        this.log.info({ node: node.name }, "node connected");
      },
      (err: unknown) => {
        this.log.warn({ node: node.name, err: (err as Error).message }, "cannot connect to node; retrying");
        this.opening.delete(node.name);
        if (!this.stopped && !this.closing) setTimeout(() => void this.open(node), RETRY_OPEN_MS).unref();
      },
    );
    this.opening.set(node.name, attempt);
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

  /** Sessions per node for /metrics; a node that cannot be listed now keeps its last count. */
  private async countSessions(): Promise<void> {
    await Promise.all(
      [...this.sessions.entries()].map(async ([name, session]) => {
        if (session.link.state !== "online") return;
        const listed = await session.admin.listSessions().catch(() => undefined);
        if (listed) this.metrics.sessionCount(name, listed.filter((s) => !session.isOwnSession(s)).length);
      }),
    );
  }

  private forgetOldJobs(): void {
    const finished = [...this.jobs.values()].filter((j) => j.finished);
    for (const job of finished.slice(0, Math.max(0, finished.length - KEEP_FINISHED))) this.jobs.delete(job.id);
  }
}
