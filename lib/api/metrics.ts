import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { Link } from "../link/link.ts";
import type { JobEvent } from "../jobs/runner.ts";

/** An event as read off the wire: a name and whatever fields it has. */
type LooseEvent = { event: string; [key: string]: unknown };

const OUTCOMES = new Set(["moved", "kicked", "failed", "skipped", "remaining"]);

/**
 * The daemon's Prometheus metrics. Job events feed them, so `cxfr_transfers_total` summed over `outcome`
 * equals the job summaries' counts.
 */
export class Metrics {
  readonly registry = new Registry();
  private readonly transfers = new Counter({ name: "cxfr_transfers_total", help: "Sessions settled by jobs, by outcome and by the last method applied", labelNames: ["node", "outcome", "method"], registers: [this.registry] });
  private readonly sessions = new Gauge({ name: "cxfr_sessions", help: "Live sessions on a node at the last listing", labelNames: ["node"], registers: [this.registry] });
  private readonly linkUp = new Gauge({ name: "cxfr_link_up", help: "1 while the component link to a node is online", labelNames: ["node"], registers: [this.registry] });
  private readonly linkChanges = new Counter({ name: "cxfr_link_changes_total", help: "Component link state changes", labelNames: ["node", "state"], registers: [this.registry] });
  private readonly reconnects = new Counter({ name: "cxfr_link_reconnects_total", help: "Reconnect attempts of the component link", labelNames: ["node"], registers: [this.registry] });
  private readonly jobs = new Counter({ name: "cxfr_jobs_total", help: "Jobs finished, by kind and final state", labelNames: ["kind", "state"], registers: [this.registry] });
  private readonly jobDuration = new Histogram({ name: "cxfr_job_duration_seconds", help: "Wall time of finished jobs", labelNames: ["kind", "state"], buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200], registers: [this.registry] });
  private readonly roundTrip = new Histogram({ name: "cxfr_packet_round_trip_seconds", help: "Transfer packet sent to the client's answer (component mode only)", labelNames: ["node", "reply"], buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers: [this.registry] });
  /** Per job and JID: the last method applied and when the packet went out. */
  private readonly inFlight = new Map<string, { method: string; sentAt?: number }>();

  watchLink(node: string, link: Link): void {
    this.linkUp.set({ node }, link.state === "online" ? 1 : 0);
    link.on("online", () => {
      this.linkUp.set({ node }, 1);
      this.linkChanges.inc({ node, state: "up" });
    });
    link.on("offline", () => {
      this.linkUp.set({ node }, 0);
      this.linkChanges.inc({ node, state: "down" });
    });
    link.on("reconnecting", () => this.reconnects.inc({ node }));
  }

  sessionCount(node: string, count: number): void {
    this.sessions.set({ node }, count);
  }

  /** Reads any job event (typed ones from the engine, or lines relayed from a daemon). */
  jobEvent(node: string, jobEvent: JobEvent | LooseEvent): void {
    const event = jobEvent as LooseEvent;
    const key = `${String(event.job)} ${String(event.jid)}`;
    const at = typeof event.ts === "string" ? Date.parse(event.ts) : Date.now();
    const name = event.event;
    if (name === "scan" && typeof event.sessions === "number") this.sessionCount(node, event.sessions);
    else if (name === "sent") this.inFlight.set(key, { method: typeof event.method === "string" ? event.method : "cxfr", sentAt: at });
    else if (name === "kick") this.inFlight.set(key, { method: "kick" });
    else if ((name === "acked" || name === "rejected") && this.inFlight.get(key)?.sentAt !== undefined) {
      this.roundTrip.observe({ node, reply: name }, Math.max(0, at - (this.inFlight.get(key)?.sentAt as number)) / 1000);
    } else if (OUTCOMES.has(name)) {
      const method = typeof event.method === "string" ? event.method : (this.inFlight.get(key)?.method ?? "none");
      this.transfers.inc({ node, outcome: name, method });
      this.inFlight.delete(key);
    }
  }

  jobFinished(kind: string, state: string, elapsedMs: number): void {
    this.jobs.inc({ kind, state });
    this.jobDuration.observe({ kind, state }, elapsedMs / 1000);
  }
}
