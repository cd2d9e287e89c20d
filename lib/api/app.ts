import express, { type Request, type Response } from "express";
import { NotFoundError } from "../errors.ts";
import { parseJobBody } from "../jobs/job-schema.ts";
import type { JobEvent } from "../jobs/runner.ts";
import type { Secret } from "../secret.ts";
import { jobView, sessionView } from "../store/views.ts";
import { bearerAuth } from "./auth.ts";
import type { Daemon } from "./daemon.ts";
import { errorHandler } from "./errors.ts";
import type { Logger } from "./log.ts";

/** Largest request body accepted: a job spec is a few hundred bytes, a transfer of many JIDs a few KB. */
export const BODY_LIMIT = "256kb";

/** The HTTP API of DESIGN §3. Every route but /healthz needs the bearer token (when one is configured). */
export function createApp(daemon: Daemon, options: { token?: Secret; log: Logger; accepting: () => boolean }): express.Express {
  const app = express();
  app.disable("x-powered-by");
  app.use((req, res, next) => {
    const started = Date.now();
    res.on("finish", () => options.log.info({ method: req.method, path: req.path, status: res.statusCode, ms: Date.now() - started }, "request"));
    next();
  });

  app.get("/healthz", (_req, res) => {
    res.json({ ok: true, accepting: options.accepting(), nodes: daemon.nodeStates() });
  });

  app.use(bearerAuth(options.token));
  app.use(express.json({ limit: BODY_LIMIT }));

  app.get("/metrics", async (_req, res) => {
    res.type(daemon.metrics.registry.contentType).send(await daemon.metrics.registry.metrics());
  });

  app.get("/v1/sessions", async (req, res) => {
    const node = typeof req.query.node === "string" ? req.query.node : undefined;
    const sessions = await daemon.listSessions(node);
    res.json({ sessions: sessions.map((s) => ({ node: s.node, jid: s.jid, ip: s.ip ?? null, show: s.show ?? null, priority: s.priority ?? null })) });
  });

  app.get("/v1/status", async (_req, res) => {
    res.json(await daemon.status());
  });

  app.post("/v1/transfers", async (req, res) => {
    const body = (typeof req.body === "object" && req.body !== null && !Array.isArray(req.body) ? req.body : {}) as Record<string, unknown>;
    const record = await daemon.submit(parseJobBody({ ...body, kind: "transfer" }));
    res.status(202).location(`/v1/jobs/${record.id}`).json({ id: record.id, state: record.state });
  });

  app.post("/v1/jobs", async (req, res) => {
    const record = await daemon.submit(parseJobBody(req.body));
    res.status(202).location(`/v1/jobs/${record.id}`).json({ id: record.id, state: record.state });
  });

  app.get("/v1/jobs", (_req, res) => {
    res.json({ jobs: daemon.journal.list().map(jobView) });
  });

  app.get("/v1/jobs/:id", (req, res) => {
    const job = daemon.journal.get(req.params.id);
    if (!job) throw new NotFoundError("id", `no job ${req.params.id}`);
    const error = daemon.live(job.id)?.error;
    res.json({ ...jobView(job), ...(error ? { error } : {}), ...(req.query.sessions ? { sessions: daemon.journal.sessions(job.id).map(sessionView) } : {}) });
  });

  app.delete("/v1/jobs/:id", (req, res) => {
    res.json({ id: req.params.id, state: daemon.cancel(req.params.id) });
  });

  app.post("/v1/jobs/:id/resume", (req, res) => {
    const record = daemon.resume(req.params.id);
    res.status(202).json({ id: record.id, state: record.state });
  });

  app.get("/v1/jobs/:id/events", (req, res) => followJob(daemon, req, res));

  app.use((req, _res, next) => next(new NotFoundError("path", `no route ${req.method} ${req.path}`)));
  app.use(errorHandler(options.log));
  return app;
}

/**
 * Streams a job's events as they happen, from its start: NDJSON (one event per line), or Server-Sent
 * Events when the client accepts text/event-stream. Ends after the summary. A job this daemon did not run
 * gives its journaled summary only.
 */
function followJob(daemon: Daemon, req: Request, res: Response): void {
  const id = String(req.params.id);
  const record = daemon.journal.get(id);
  if (!record) throw new NotFoundError("id", `no job ${id}`);
  const sse = (req.get("accept") ?? "").includes("text/event-stream");
  res.status(200).type(sse ? "text/event-stream" : "application/x-ndjson").set("cache-control", "no-store");
  res.flushHeaders();
  const write = (event: JobEvent) => res.write(sse ? `event: ${event.event}\ndata: ${JSON.stringify(event)}\n\n` : `${JSON.stringify(event)}\n`);
  const live = daemon.live(id);
  if (!live) {
    write({ ts: new Date().toISOString(), event: "summary", ...record.summary } as JobEvent);
    res.end();
    return;
  }
  for (const event of live.events) write(event);
  if (live.finished) {
    res.end();
    return;
  }
  const listener = (event: JobEvent | undefined) => {
    if (event) write(event);
    else res.end();
  };
  live.listeners.add(listener);
  res.on("close", () => live.listeners.delete(listener));
}
