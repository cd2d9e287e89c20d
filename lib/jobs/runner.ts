import { randomBytes } from "node:crypto";
import { ConnectError, InterruptedError, NotAuthorizedError, StanzaError, TimeoutError } from "../errors.ts";
import type { Link } from "../link/link.ts";
import type { JobJournal, SessionSnapshot } from "./journal-port.ts";
import type { ServerAdmin } from "../servers/server-admin.ts";
import type { LiveSession } from "../xmpp/admin.ts";
import { formatHostPort } from "../xmpp/address.ts";
import { buildTransferIq } from "../xmpp/transfer.ts";
import { summarize, type JobSummary, type Outcome, type SessionRecord } from "./outcomes.ts";
import { Pacer, realClock, type PacingOptions } from "./pacer.ts";
import { chooseTarget, type Target } from "./targets.ts";

export interface JobEvent {
  event: string;
  [key: string]: unknown;
}

export interface TransferJobOptions {
  kind: "drain" | "transfer";
  node: string;
  link: Link;
  admin: ServerAdmin;
  /** Waits until the node's connections are back (default: the component link); rejects with NotAuthorizedError for good. */
  ready?: (timeoutMs: number) => Promise<void>;
  /** Users' domain: the `from` of packets in domain mode and the default `<domain>`. */
  domain: string;
  packetDomain?: string;
  from: "domain" | "component";
  targets: Target[];
  /** Which live sessions the job takes on. */
  selects: (session: LiveSession) => boolean;
  pacing: PacingOptions;
  waitMs: number;
  graceMs: number;
  deadlineMs?: number;
  fallback: "kick" | "none";
  /** false: no transfer packet, sessions are ended straight away (still paced). */
  sendPackets?: boolean;
  follow: boolean;
  announce?: string;
  dryRun: boolean;
  scanIntervalMs?: number;
  /** How long a kicked session may still be listed before the kick counts as failed. */
  kickSettleMs?: number;
  signal: AbortSignal;
  onEvent: (event: JobEvent) => void;
  /** The job's id in the journal (default: a fresh one). */
  id?: string;
  /** Where every session transition is written before the engine acts on it. */
  journal?: JobJournal;
  /** Sessions of a job that was running when its process died: re-observed before anything is applied. */
  resume?: SessionSnapshot[];
}

interface Active {
  record: SessionRecord;
  graceEnds: number;
  kickState: "none" | "queued" | "done";
}

/**
 * Runs a transfer job: scan → pace → send → observe → fall back. A session counts as moved only when
 * a later scan no longer lists it. Survives link drops: nothing is re-sent, the job waits for the link.
 */
export class TransferJob {
  readonly id = `j-${randomBytes(4).toString("hex")}`;
  /** Every session the job took on; a JID that logs in again after it settled gets a second record. */
  readonly records: SessionRecord[] = [];
  private readonly current = new Map<string, SessionRecord>();
  private readonly queue: SessionRecord[] = [];
  private readonly active = new Map<string, Active>();
  private readonly pacer: Pacer;
  private readonly startedAt = Date.now();
  private lastScan = new Map<string, LiveSession>();
  /** Bumped when the link goes down: a listing from before that may name sessions that are gone. */
  private linkEpoch = 0;
  private scanEpoch = 0;
  private finished = false;

  constructor(private readonly o: TransferJobOptions) {
    this.pacer = new Pacer(o.pacing);
    o.link.on("offline", () => this.linkEpoch++);
  }

  summary(): JobSummary {
    return summarize(this.id, this.o.kind, this.records, Date.now() - this.startedAt);
  }

  async run(): Promise<JobSummary> {
    const o = this.o;
    this.emit({ event: "started", kind: o.kind, node: o.node, targets: o.targets.map((t) => formatHostPort(t.address)), from: o.from, dry_run: o.dryRun });
    const first = await this.scan();
    this.takeOn(first);
    if (o.dryRun) {
      for (const record of this.queue) this.emit({ event: "planned", jid: record.jid, target: record.target });
      return this.finishJob();
    }
    if (o.announce) {
      await o.admin.announce(o.announce, "Service maintenance");
      this.emit({ event: "announced" });
    }
    if (o.waitMs > 0) {
      this.emit({ event: "waiting", ms: o.waitMs });
      await realClock.sleep(o.waitMs, o.signal).catch(() => undefined);
    }
    let observerError: unknown;
    const observer = this.observe().catch((err: unknown) => {
      observerError = err;
      this.finished = true;
    });
    try {
      await this.sendAll();
    } catch (err) {
      if (!(err instanceof InterruptedError)) {
        this.finished = true;
        await observer;
        throw err;
      }
    }
    await observer;
    if (observerError) throw observerError;
    for (const record of this.records) if (!record.outcome) this.settle(record, "remaining", o.signal.aborted ? "cancelled" : "deadline");
    return this.finishJob();
  }

  private finishJob(): JobSummary {
    const summary = this.summary();
    this.emit({ event: "summary", ...summary });
    return summary;
  }

  private get deadlinePassed(): boolean {
    return this.o.deadlineMs !== undefined && Date.now() - this.startedAt >= this.o.deadlineMs;
  }

  private get stopping(): boolean {
    return this.o.signal.aborted || this.deadlinePassed;
  }

  /** Sends packets in order, paced, until the queue is drained and the observer says the job is complete. */
  private async sendAll(): Promise<void> {
    while (!this.finished) {
      if (this.stopping) return;
      const record = this.queue.shift();
      if (!record) {
        await realClock.sleep(50, this.o.signal);
        continue;
      }
      if (!this.lastScan.has(record.jid)) {
        this.settle(record, "skipped", "gone before its turn");
        continue;
      }
      await this.pacer.slot(this.o.signal);
      await this.pacer.token(this.o.signal);
      await this.waitReady();
      await this.freshScan();
      if (this.stopping || this.finished) {
        this.pacer.release();
        this.queue.unshift(record);
        return;
      }
      if (!this.lastScan.has(record.jid)) {
        this.pacer.release();
        this.settle(record, "skipped", "gone before its turn");
        continue;
      }
      await this.sendPacket(record);
    }
  }

  /** Waits for the connections through the remaining time; a refused admin login ends the job. */
  private async waitReady(): Promise<void> {
    const ready = this.o.ready ?? ((ms: number) => this.o.link.waitOnline(ms));
    await ready(this.remainingMs()).catch((err: unknown) => {
      if (err instanceof NotAuthorizedError) throw err;
    });
  }

  /** After a link drop, waits for the observer's first listing made since, so no packet goes to a session the restart ended. */
  private async freshScan(): Promise<void> {
    while (this.scanEpoch !== this.linkEpoch && !this.stopping && !this.finished) await realClock.sleep(50, this.o.signal);
  }

  private async sendPacket(record: SessionRecord): Promise<void> {
    const o = this.o;
    if (o.sendPackets === false) {
      this.active.set(record.jid, { record, graceEnds: Date.now(), kickState: "none" });
      return;
    }
    const target = this.o.targets.find((t) => t.label === record.target) as Target;
    const iq = buildTransferIq({
      id: `cxfr-${randomBytes(6).toString("hex")}`,
      to: record.jid,
      from: o.from === "domain" ? o.domain : o.link.component,
      domain: o.packetDomain ?? o.domain,
      server: target.address,
    });
    record.sentAt = Date.now();
    const active: Active = { record, graceEnds: record.sentAt + o.graceMs, kickState: "none" };
    this.active.set(record.jid, active);
    if (o.from === "domain") {
      // Replies to the domain go to the server, which drops them: only observation tells.
      try {
        await o.link.send(iq);
      } catch {
        return this.unsend(record);
      }
      this.emit({ event: "sent", jid: record.jid, target: formatHostPort(target.address) });
      return;
    }
    const { written, reply } = o.link.exchange(iq, o.graceMs);
    try {
      await written;
    } catch {
      reply.catch(() => undefined);
      return this.unsend(record);
    }
    this.emit({ event: "sent", jid: record.jid, target: formatHostPort(target.address) });
    reply.then(
      () => this.noteReply(active, "acked"),
      (err: unknown) => this.noteReply(active, err instanceof StanzaError ? "rejected" : "no-reply", err instanceof StanzaError ? err.condition : undefined),
    );
  }

  /** The link was down before the packet went out: it was never sent, so it may go again. */
  private unsend(record: SessionRecord): void {
    delete record.sentAt;
    this.active.delete(record.jid);
    this.pacer.release();
    this.queue.unshift(record);
  }

  private noteReply(active: Active, reply: SessionRecord["reply"], condition?: string): void {
    const record = active.record;
    if (record.outcome || record.reply) return;
    record.reply = reply;
    if (condition) record.replyCondition = condition;
    this.emit({ event: reply as string, jid: record.jid, ...(condition ? { condition } : {}) });
    // A client that answers with an error does not support transfers: no point waiting out the grace.
    if (reply === "rejected") active.graceEnds = Date.now();
  }

  /** Scans the node until the job is complete; settles moved/kicked, picks up newcomers, triggers fallbacks. */
  private async observe(): Promise<void> {
    const interval = this.o.scanIntervalMs ?? 1000;
    let idleScans = 0;
    while (!this.finished) {
      await realClock.sleep(interval, this.o.signal).catch(() => undefined);
      let sessions: Map<string, LiveSession>;
      try {
        sessions = await this.scan();
      } catch (err) {
        if (!(err instanceof ConnectError || err instanceof TimeoutError)) throw err;
        this.emit({ event: "link", state: "down", reason: err.message });
        await this.waitReady();
        if (this.o.link.state === "online") this.emit({ event: "link", state: "up" });
        if (this.o.signal.aborted || this.deadlinePassed) this.finished = true;
        continue;
      }
      this.settleDeparted(sessions);
      if (!this.stopping) {
        if (this.o.follow) this.takeOn(sessions);
        this.fallBack();
      }
      const idle = this.queue.length === 0 && this.active.size === 0 && !(this.o.follow && this.loggedInAgain(sessions));
      // Cancelled: in-flight sessions get the rest of their grace to leave, but no fallback.
      const cancelledAndSettled = this.o.signal.aborted && (this.active.size === 0 || this.graceOver());
      // Idle must hold for two scans in a row, so a user who logs in again right after a kick is still seen.
      idleScans = idle ? idleScans + 1 : 0;
      if (idleScans >= 2 || this.deadlinePassed || cancelledAndSettled) this.finished = true;
    }
  }

  /** A session that settled as moved or kicked is listed again: a new login, taken on at the next scan. */
  private loggedInAgain(sessions: Map<string, LiveSession>): boolean {
    for (const session of sessions.values()) {
      const outcome = this.current.get(session.jid)?.outcome;
      if ((outcome === "moved" || outcome === "kicked") && this.o.selects(session)) return true;
    }
    return false;
  }

  private graceOver(): boolean {
    const now = Date.now();
    return [...this.active.values()].every((a) => a.graceEnds <= now);
  }

  private settleDeparted(sessions: Map<string, LiveSession>): void {
    const now = Date.now();
    for (const [jid, active] of this.active) {
      const record = active.record;
      if (!sessions.has(jid)) {
        this.finish(active, active.kickState === "done" ? "kicked" : "moved");
      } else if (active.kickState === "done" && now - (record.kickAt ?? now) > (this.o.kickSettleMs ?? 15_000)) {
        this.finish(active, "failed", "still online after the kick");
      }
    }
  }

  private fallBack(): void {
    const now = Date.now();
    for (const active of this.active.values()) {
      if (active.kickState !== "none" || active.graceEnds > now) continue;
      if (this.o.fallback === "none") {
        this.finish(active, "remaining", "did not move within the grace period");
        continue;
      }
      active.kickState = "queued";
      void this.kick(active);
    }
  }

  private async kick(active: Active): Promise<void> {
    const record = active.record;
    try {
      await this.pacer.token(this.o.signal);
      await this.o.admin.endSession(record.jid);
      record.kickAt = Date.now();
      active.kickState = "done";
      this.emit({ event: "kick", jid: record.jid });
    } catch (err) {
      if (err instanceof InterruptedError) return;
      if (err instanceof ConnectError || err instanceof TimeoutError) {
        active.kickState = "none"; // retried on the next scan once the link is back
        return;
      }
      this.finish(active, "failed", `kick refused: ${(err as Error).message}`);
    }
  }

  private finish(active: Active, outcome: Outcome, reason?: string): void {
    this.active.delete(active.record.jid);
    this.pacer.release();
    this.settle(active.record, outcome, reason);
  }

  private settle(record: SessionRecord, outcome: Outcome, reason?: string): void {
    if (record.outcome) return;
    record.outcome = outcome;
    record.outcomeAt = Date.now();
    if (reason) record.reason = reason;
    this.emit({ event: outcome, jid: record.jid, ...(reason ? { reason } : {}), ...(record.sentAt ? { after_ms: record.outcomeAt - record.sentAt } : {}) });
  }

  private async scan(): Promise<Map<string, LiveSession>> {
    const epoch = this.linkEpoch;
    const sessions = await this.o.admin.listSessions();
    this.scanEpoch = epoch;
    this.lastScan = new Map(sessions.map((s) => [s.jid, s]));
    this.emit({ event: "scan", sessions: sessions.length });
    return this.lastScan;
  }

  /**
   * Queues every selected session not yet handled. A JID listed again after it settled as moved or kicked
   * is a new login and is taken on again, unless the listing may predate its departure (settled within
   * the last scan interval).
   */
  private takeOn(sessions: Map<string, LiveSession>): void {
    const interval = this.o.scanIntervalMs ?? 1000;
    for (const session of sessions.values()) {
      if (!this.o.selects(session)) continue;
      const known = this.current.get(session.jid);
      if (known && (!known.outcome || known.outcome === "remaining" || Date.now() - (known.outcomeAt ?? 0) < 2 * interval)) continue;
      const record: SessionRecord = { jid: session.jid, bare: session.bare, target: chooseTarget(session.bare, this.o.targets).label };
      this.records.push(record);
      this.current.set(session.jid, record);
      this.queue.push(record);
    }
  }

  private remainingMs(): number {
    if (this.o.deadlineMs === undefined) return 24 * 3600_000;
    return Math.max(0, this.o.deadlineMs - (Date.now() - this.startedAt));
  }

  private emit(event: JobEvent): void {
    this.o.onEvent({ ts: new Date().toISOString(), job: this.id, ...event });
  }
}
