import { randomBytes } from "node:crypto";
import { setMaxListeners } from "node:events";
import { CommandError, ConnectError, CxfrError, FromDomainRefusedError, InterruptedError, NotAuthorizedError, StanzaError, TimeoutError } from "../errors.ts";
import { CxfrMethod, type PacketLink } from "../methods/cxfr.ts";
import { KickMethod } from "../methods/kick.ts";
import type { Method, MethodName, Reply, SessionRef } from "../methods/method.ts";
import type { LiveSession } from "../xmpp/admin.ts";
import { canonicalJid } from "../xmpp/jid.ts";
import { formatHostPort, type HostPort } from "../xmpp/address.ts";
import { nap, realClock, type Clock } from "./clock.ts";
import type { AutoPacing } from "./auto-pacing.ts";
import type { AutoRateEvent } from "./auto-rate.ts";
import type { JobEvent, JobEventBody } from "./events.ts";
import { noJournal, type JobJournal, type JobState, type SessionSnapshot, type SessionState } from "./journal-port.ts";
import { ENDING_METHODS, summarize, type JobSummary } from "./outcomes.ts";
import { Pacer, type PacingOptions } from "./pacer.ts";
import { Fifo } from "./fifo.ts";
import { listingGarbage } from "./listing-garbage.ts";
import { ListingCost } from "./listing-cost.ts";
import { isTerminal, snapshotOf, transition, type SessionRecord, type TransitionDetail } from "./session-machine.ts";
import { chooseTarget, type Target } from "./targets.ts";

export type { JobEvent } from "./events.ts";

/** The part of the component link a job uses. */
export interface JobLink extends PacketLink {
  waitOnline(timeoutMs: number): Promise<void>;
  on(event: "offline", listener: () => void): unknown;
  /** Resolves once the server has taken what was written (lib/link/link.ts); a link without it never holds a batch back. */
  whenTaken?(): Promise<void>;
}

/** The server operations a job uses. */
export interface JobAdmin {
  listSessions(): Promise<LiveSession[]>;
  endSession(fullJid: string): Promise<void>;
  announce(body: string, subject?: string): Promise<void>;
}

export interface TransferJobOptions {
  /** Job id (from the journal); a fresh one otherwise. */
  id?: string;
  kind: "drain" | "transfer" | "redirect" | "rebalance";
  node: string;
  link: JobLink;
  admin: JobAdmin;
  /** Waits until the node's connections are back (default: the component link); rejects with NotAuthorizedError for good. */
  ready?: (timeoutMs: number, signal?: AbortSignal) => Promise<void>;
  /** Users' domain: the `from` of packets in domain mode and the default `<domain>`. */
  domain: string;
  packetDomain?: string;
  from: "domain" | "component";
  /** `from: auto` resolved to domain: when the server refuses it after all, fall back to the component. */
  fromFallback?: boolean;
  targets: Target[];
  /** Target of one session (default: weighted rendezvous of its bare JID over `targets`). */
  targetFor?: (session: LiveSession) => Target;
  /** The sessions this job is scoped to (default: every session the admin lists). */
  source?: () => Promise<LiveSession[]>;
  /** Which live sessions the job takes on. */
  selects: (session: LiveSession) => boolean;
  pacing: PacingOptions;
  waitMs: number;
  graceMs: number;
  deadlineMs?: number;
  /** Methods to try per session, in order. Default: cxfr, then kick when `fallback` is kick. */
  methods?: MethodName[];
  /** Modules for methods other than cxfr and kick (see-other-host, reset, close), built by the caller. */
  methodModules?: Partial<Record<MethodName, Method>>;
  fallback: "kick" | "none";
  /** false: no transfer packet, sessions are ended straight away (still paced). Ignored when `methods` is given. */
  sendPackets?: boolean;
  follow: boolean;
  announce?: string;
  dryRun: boolean;
  scanIntervalMs?: number;
  /** How long a session may still be listed after an ending method (kick, close) before that counts as failed. */
  kickSettleMs?: number;
  /** Listing attempts before the job stops (with a summary, exit 3). */
  scanAttempts?: number;
  /**
   * Asks the server about one session (e.g. user-stats of its account): false when it is still there, true when it is
   * gone, undefined when the server would not say. Confirms departures as they happen, so in-flight slots free at
   * once; the full listing stays the cross-check.
   */
  isGone?: (session: SessionRef) => Promise<boolean | undefined>;
  /**
   * After `reset`: whether the client is back on another node (its full JID, or a new resource of its account,
   * listed on a target). On independent nodes the old node keeps a hibernated XEP-0198 session listed, waiting
   * for a resume that cannot come there; once the client is back elsewhere the job ends that leftover (close,
   * else kick) and the session counts as moved by reset.
   */
  seenElsewhere?: (session: SessionRef) => Promise<boolean>;
  /** After the link came back (a server restart, say), how long a following job (drain) waits for clients to log in again before it may end. */
  restartSettleMs?: number;
  /** Whether the server restarted since this wall-clock time (XEP-0012 uptime); undefined when unknown. */
  restartedSince?: (wallMs: number) => Promise<boolean | undefined>;
  /**
   * `--rate auto`: starts the pacing that sets the rate from what the targets absorb (login probes, lib/jobs/auto-pacing.ts).
   * The job waits for its first probe round (the baseline) before the first method, tells it of every method applied,
   * and stops it with the job.
   */
  autoPacing?: (hooks: { setRate(rate: number): void; onEvent(event: AutoRateEvent): void; onBack(user: { jid: string }, afterMs: number): void; clock: Clock }) => AutoPacing;
  clock?: Clock;
  journal?: JobJournal;
  /** Sessions of a job that was running: finished ones are never touched again, the rest are re-observed first. */
  resume?: SessionSnapshot[];
  signal: AbortSignal;
  onEvent: (event: JobEvent) => void;
}

/** Ends the job early; what was in flight is settled as remaining and the summary says why. */
class JobStop extends Error {
  constructor(readonly error: CxfrError) {
    super(error.message);
  }
}

interface Listing {
  sessions: Map<string, LiveSession>;
}

/** The key sessions are matched on: the canonical full JID (RFC 7622: localpart and domain folded, resource as is). */
export function sessionKey(session: { jid?: string; bare: string; resource: string }): string {
  const { jid, bare, resource } = session;
  // a listed session's jid is already "bare/resource": reuse it rather than build the same string per scan
  const spelled = jid !== undefined && jid.length === bare.length + 1 + resource.length && jid.startsWith(bare) && jid.endsWith(resource) && jid[bare.length] === "/";
  return canonicalJid(spelled ? jid : `${bare}/${resource}`);
}

/**
 * Runs a transfer job as a state machine per session (states and transitions: journal-port.ts, session-machine.ts):
 * scan → pace → apply the method chain → observe → settle. A session counts as moved only when two good listings in a
 * row no longer show it. Every transition is journaled before the next step acts on it; nothing is applied twice.
 */
export class TransferJob {
  readonly id: string;
  /** Every session the job took on; a JID that logs in again after it settled gets a second record. */
  readonly records: SessionRecord[] = [];
  private readonly current = new Map<string, SessionRecord>();
  private readonly queue = new Fifo<SessionRecord>();
  private readonly slotHolders = new Set<SessionRecord>();
  private readonly advancing = new Set<SessionRecord>();
  private readonly settledAt = new Map<SessionRecord, number>();
  private auto: AutoPacing | undefined;
  /** Snapshots written but not yet committed to the journal (see write()). */
  private unwritten: SessionSnapshot[] = [];
  private flushQueued = false;
  /** Applies started by the dispatcher and not yet ended. */
  private readonly applying = new Set<Promise<void>>();
  /** An unexpected error in an apply that ran beside the dispatcher: rethrown once the dispatcher ends. */
  private bug: unknown;
  private readonly pacer: Pacer;
  private readonly clock: Clock;
  private readonly journal: JobJournal;
  private readonly chain: Method[];
  private readonly modules: Partial<Record<MethodName, Method>>;
  private readonly cxfr: CxfrMethod | undefined;
  private readonly startedAt: number;
  private readonly startedWall = Date.now();
  private listing: Listing = { sessions: new Map() };
  /** Bumped when the link goes down: a listing from before that may name sessions that are gone. */
  private linkEpoch = 0;
  private scanEpoch = 0;
  private lastDropWall = 0;
  private checkedRestartEpoch = 0;
  /** Monotonic ms of the first good listing after the link came back (-Infinity: it never dropped). */
  private linkBackAt = -Infinity;
  private finished = false;
  /** A journal write failed: the job stops and writes nothing more (the summary still reports it). */
  private journalBroken = false;
  private stop: CxfrError | undefined;
  private state: JobState = "running";
  /** Resolves when the job is cancelled: ends any wait for the link. */
  private readonly cancelled: Promise<void>;

  constructor(private readonly o: TransferJobOptions) {
    this.id = o.id ?? `j-${randomBytes(4).toString("hex")}`;
    // every in-flight session waits on the job's signal (its grace, its departure checks): many listeners by design
    setMaxListeners(0, o.signal);
    this.cancelled = new Promise<void>((resolve) => {
      if (o.signal.aborted) resolve();
      o.signal.addEventListener("abort", () => resolve(), { once: true });
    });
    this.clock = o.clock ?? realClock;
    this.startedAt = this.clock.now();
    this.journal = o.dryRun ? noJournal : (o.journal ?? noJournal);
    this.pacer = new Pacer(o.pacing, this.clock);
    const names = o.methods ?? [...(o.sendPackets === false ? [] : (["cxfr"] as const)), ...(o.fallback === "kick" ? (["kick"] as const) : [])];
    this.cxfr = names.includes("cxfr")
      ? new CxfrMethod({
          link: o.link,
          domain: o.domain,
          ...(o.packetDomain !== undefined ? { packetDomain: o.packetDomain } : {}),
          from: o.from,
          replyTimeoutMs: o.graceMs,
        })
      : undefined;
    const modules: Partial<Record<MethodName, Method>> = { ...o.methodModules, kick: o.methodModules?.kick ?? new KickMethod(o.admin), ...(this.cxfr ? { cxfr: this.cxfr } : {}) };
    this.modules = modules;
    this.chain = names.map((name) => {
      const module = modules[name];
      if (!module) throw new CxfrError(`method ${name} is not available on node ${o.node}`, 2, "method_unavailable", "--method");
      return module;
    });
    o.link.on("offline", () => {
      this.linkEpoch++;
      this.lastDropWall = Date.now();
    });
  }

  summary(): JobSummary {
    const summary = summarize(this.id, this.o.kind, this.records, this.clock.now() - this.startedAt);
    if (this.stop) summary.error = { code: this.stop.code, message: this.stop.message };
    return summary;
  }

  get jobState(): JobState {
    return this.state;
  }

  async run(): Promise<JobSummary> {
    const o = this.o;
    this.setJobState("running");
    this.emit({ event: "started", kind: o.kind, node: o.node, targets: o.targets.map((t) => formatHostPort(t.address)), from: this.cxfr?.from ?? o.from, methods: this.chain.map((m) => m.name), dry_run: o.dryRun, resumed: o.resume?.length ?? 0 });
    try {
      this.restore(o.resume ?? []);
      const first = await this.scan();
      if (!first) return this.finishJob();
      this.takeOn(first);
      if (o.dryRun) {
        for (const record of this.queue) this.emit({ event: "planned", jid: record.jid, target: record.target });
        return this.finishJob();
      }
      if (o.announce && !this.stopping) {
        await o.admin.announce(o.announce, "Service maintenance");
        this.emit({ event: "announced" });
      }
      if (o.waitMs > 0 && !this.stopping) {
        this.emit({ event: "waiting", ms: o.waitMs });
        await nap(this.clock, o.waitMs, o.signal);
      }
      await this.startAutoPacing();
      await Promise.all([this.observe(), this.dispatch()]);
    } catch (err) {
      this.halt(err);
    }
    return this.finishJob();
  }

  /** `--rate auto`: the pacer follows the controller from here on; the first method waits for the probes' baseline. */
  private async startAutoPacing(): Promise<void> {
    if (!this.o.autoPacing || this.stopping) return;
    this.auto = this.o.autoPacing({
      setRate: (rate) => this.pacer.setRate(rate),
      onEvent: ({ rate, previous, change, cause, reason }) => this.emit({ event: "rate", rate: roundRate(rate), previous: roundRate(previous), change, cause, reason }),
      onBack: (user, afterMs) => this.emit({ event: "back", jid: user.jid, after_ms: Math.round(afterMs) }),
      clock: this.clock,
    });
    await Promise.race([this.auto.ready, this.cancelled]);
  }

  private finishJob(): JobSummary {
    this.finished = true;
    this.auto?.stop();
    this.commit();
    const why = this.stop ? `job stopped: ${this.stop.message}` : this.o.signal.aborted ? "cancelled" : "deadline";
    for (const record of this.records) if (!isTerminal(record.state)) this.settle(record, "remaining", why);
    this.setJobState(this.stop ? "failed" : this.o.signal.aborted ? "cancelled" : "done");
    const summary = this.summary();
    this.emit({ event: "summary", ...summary });
    return summary;
  }

  /** Stops the job for good; an unexpected error is a bug and propagates. */
  private halt(err: unknown): void {
    // A cancel ends the waits it interrupts, not the job: in-flight sessions still get the rest of their grace.
    if (err instanceof InterruptedError) return;
    this.finished = true;
    if (err instanceof JobStop) this.stop ??= err.error;
    else if (err instanceof CxfrError) this.stop ??= err;
    else throw err;
  }

  /** Sleeps; after a cancel the observers still pace themselves instead of spinning. */
  private pause(ms: number): Promise<void> {
    return nap(this.clock, ms, this.o.signal.aborted ? undefined : this.o.signal);
  }

  private setJobState(state: JobState): void {
    this.commit();
    this.state = state;
    if (state !== "running") this.emit({ event: "job", state });
    if (!this.journalBroken) this.journal.job(this.id, state, this.summary());
  }

  private get deadlinePassed(): boolean {
    return this.o.deadlineMs !== undefined && this.clock.now() - this.startedAt >= this.o.deadlineMs;
  }

  private get stopping(): boolean {
    return this.finished || this.o.signal.aborted || this.deadlinePassed;
  }

  // ── dispatch: queued → applying ─────────────────────────────────────────────────────────────────────────────

  /**
   * Applies the first method to queued sessions in order, paced, until the observer says the job is complete. The
   * sessions that may go at once (a slot and a rate token each, no wait) go as one batch: journaled `applying` in one
   * commit, then applied side by side, so neither the journal nor the link's round trip is paid per session.
   */
  private async dispatch(): Promise<void> {
    try {
      while (!this.stopping) {
        const batch = await this.nextBatch();
        this.sendingBurst = batch.length === MAX_BATCH && this.queue.length > 0 && !this.batchWaited;
        if (batch.length === 0) continue;
        await this.waitReady();
        await this.freshScan();
        if (this.stopping) {
          this.queue.unshift(...batch);
          break;
        }
        const ready = batch.filter((record) => this.stillListed(record));
        for (const record of ready) this.begin(record, record.methodIndex);
        this.flush();
        for (const record of ready) this.launch(record);
        // a full batch: let the socket take the batch and the young generation collect its garbage before the next
        // one (the dispatch loop otherwise runs in microtasks only, and 10,000 packets were built in one turn)
        if (batch.length === MAX_BATCH) await new Promise<void>((resolve) => setImmediate(resolve));
        // a server reading slower than we write: the next batch waits until it has taken this one
        await this.o.link.whenTaken?.();
      }
    } catch (err) {
      this.halt(err);
    }
    this.sendingBurst = false;
    // Every apply started must have ended before the job settles what is left.
    while (this.applying.size > 0) await Promise.all(this.applying);
    if (this.bug) throw this.bug;
  }

  /** Queued sessions that may go now, each holding a slot and a rate token: waits for the first, takes more only while none has to wait. */
  private async nextBatch(): Promise<SessionRecord[]> {
    const batch: SessionRecord[] = [];
    this.batchWaited = false;
    while (batch.length < MAX_BATCH && !this.stopping) {
      const record = this.queue.shift();
      if (!record) {
        if (batch.length === 0) {
          this.batchWaited = true;
          await nap(this.clock, 50, this.o.signal);
        }
        break;
      }
      if (isTerminal(record.state) || !this.stillListed(record)) continue;
      if (!this.slotHolders.has(record)) {
        if (!this.pacer.trySlot()) {
          if (batch.length > 0) {
            this.queue.unshift(record);
            break;
          }
          this.batchWaited = true;
          await this.pacer.slot(this.o.signal);
        }
        this.slotHolders.add(record);
      }
      if (!this.pacer.tryToken()) {
        if (batch.length > 0) {
          this.queue.unshift(record);
          break;
        }
        this.batchWaited = true;
        await this.pacer.token(this.o.signal);
      }
      batch.push(record);
    }
    return batch;
  }

  /** Whether the last listing still shows the session; settles it as skipped otherwise. */
  private stillListed(record: SessionRecord): boolean {
    if (this.listing.sessions.has(record.key)) return true;
    this.settle(record, "skipped", "gone before its turn");
    return false;
  }

  /**
   * Starts applying the method (already journaled `applying`) without waiting for it: the send of one session
   * (a confirmed write, a kick command) overlaps the next ones, and kicks of one turn share a command.
   */
  private launch(record: SessionRecord): void {
    const run = this.act(record, record.methodIndex)
      .catch((err: unknown) => {
        try {
          this.halt(err);
        } catch (bug) {
          this.bug ??= bug;
          this.finished = true;
        }
      })
      .finally(() => this.applying.delete(run));
    this.applying.add(run);
  }

  /** Waits for the connections through the remaining time; a refused login or a cancel ends the wait. */
  private async waitReady(): Promise<void> {
    const ready = this.o.ready ?? ((ms: number) => this.o.link.waitOnline(ms));
    await Promise.race([ready(this.remainingMs(), this.o.signal), this.cancelled]).catch((err: unknown) => {
      if (err instanceof NotAuthorizedError) throw new JobStop(err);
      if (err instanceof CxfrError && err.code === "conflict") throw new JobStop(err);
    });
  }

  /** After a link drop, waits for the observer's first listing made since, so nothing goes to a session a restart ended. */
  private async freshScan(): Promise<void> {
    while (this.scanEpoch !== this.linkEpoch && !this.stopping) await nap(this.clock, 50, this.o.signal);
  }

  // ── apply: applying → sent | queued | applying(next) ───────────────────────────────────────────────────────

  private async apply(record: SessionRecord, index: number): Promise<void> {
    this.begin(record, index);
    this.flush();
    await this.act(record, index);
  }

  /** queued | sent → applying: journaled (on the next flush) before the method acts. */
  private begin(record: SessionRecord, index: number): void {
    const method = this.chain[index] as Method;
    record.methodIndex = index;
    record.methods.push(method.name);
    this.move(record, "applying");
  }

  /** Applies the method of a session that is `applying` and journaled so. */
  private async act(record: SessionRecord, index: number): Promise<void> {
    const method = this.chain[index] as Method;
    const session = this.listing.sessions.get(record.key);
    const ref: SessionRef = { jid: session?.jid ?? record.jid, bare: record.bare, resource: session?.resource ?? record.jid.slice(record.bare.length + 1), ...(session?.ip ? { ip: session.ip } : {}) };
    const epoch = this.linkEpoch;
    const address = this.addressOf(record, session);
    let attempt;
    try {
      attempt = await method.apply(ref, address, this.o.signal);
    } catch (err) {
      return this.notApplied(record, method, err);
    }
    if (attempt.status === "unavailable") {
      this.emit({ event: "unavailable", jid: record.jid, method: method.name, reason: attempt.reason });
      return this.next(record, `${method.name} unavailable: ${attempt.reason}`);
    }
    const now = this.clock.now();
    record.sentAt ??= Date.now();
    if (!this.firstAppliedAt.has(record)) this.firstAppliedAt.set(record, now);
    record.appliedAt = now;
    record.epoch = epoch;
    record.absences = 0;
    record.waitEnds = now + (ENDING_METHODS.includes(method.name) ? this.kickSettleMs : this.o.graceMs);
    this.move(record, "sent");
    // a user whose session was ended is not expected anywhere in particular; one sent on is awaited on its target
    this.auto?.sent(1, ENDING_METHODS.includes(method.name) ? undefined : { jid: record.jid, bare: record.bare });
    this.emit({ event: method.name === "cxfr" ? "sent" : method.name === "kick" ? "kick" : "applied", jid: record.jid, method: method.name, target: formatHostPort(address) });
    attempt.reply?.then((reply) => this.noteReply(record, index, reply), () => undefined);
    if (this.o.isGone && this.watching < DEPARTURE_WATCHES) void this.watchDeparture(record, index, ref);
    if (method.name === "reset" && this.o.seenElsewhere) void this.watchElsewhere(record, index, ref, address);
  }

  /**
   * After reset: asks at growing intervals whether the client is back on another node; once it is, ends the session
   * it left here (a hibernated stream nobody will resume on this node), so the user is not listed twice. The
   * listing then sees it gone and the session counts as moved by reset; still here after the grace, the chain goes on.
   */
  private async watchElsewhere(record: SessionRecord, index: number, ref: SessionRef, address: HostPort): Promise<void> {
    const seenElsewhere = this.o.seenElsewhere as NonNullable<TransferJobOptions["seenElsewhere"]>;
    const ceiling = this.o.scanIntervalMs ?? 1000;
    const current = () => !this.finished && record.state === "sent" && record.methodIndex === index;
    for (let delay = 0; current(); delay = Math.min(Math.max(delay * 2, 100), ceiling)) {
      if (delay > 0) await this.pause(delay);
      if (!current() || !(await seenElsewhere(ref).catch(() => false)) || !current()) continue;
      if (!this.listing.sessions.has(record.key)) return;
      for (const name of ["close", "kick"] as const) {
        const attempt = await this.modules[name]?.apply(ref, address, this.o.signal).catch((err: unknown) => ({ status: "unavailable", reason: (err as Error).message }) as const);
        if (attempt?.status !== "sent") continue;
        this.emit({ event: "leftover", jid: record.jid, method: name });
        return;
      }
      return;
    }
  }

  /**
   * Asks after one session at growing intervals until it is gone twice in a row (the same rule as for listings) or
   * its method changes; after a "gone" the second question follows at once, so a slot frees one round trip later.
   * A session still there after CONFIRM_CHECKS questions is left to the full listing: a client that moves on the
   * packet has left by then, and one that waits out its grace would otherwise cost the server a question a second.
   * Reads are not paced, but at most `confirmSlots` run at once. At most DEPARTURE_WATCHES sessions are watched at
   * once: beyond that, one listing sees more departures than the server answers questions meanwhile (and each watch
   * holds its timers and replies in memory), so the others are seen leaving by quick listings (scanPause).
   */
  private async watchDeparture(record: SessionRecord, index: number, ref: SessionRef): Promise<void> {
    this.watching++;
    this.watchedMethod.set(record, index);
    try {
      const isGone = this.o.isGone as NonNullable<TransferJobOptions["isGone"]>;
      const ceiling = this.o.scanIntervalMs ?? 1000;
      let delay = FIRST_CONFIRM_MS;
      for (let asked = 0; asked < CONFIRM_CHECKS || record.absences > 0; asked++) {
        await this.pause(record.absences > 0 ? RECONFIRM_MS : delay);
        if (this.finished || record.state !== "sent" || record.methodIndex !== index) return;
        const gone = await this.confirmSlots.run(() => isGone(ref)).catch(() => undefined);
        if (record.state !== "sent" || record.methodIndex !== index) return;
        if (gone === undefined || !gone) {
          if (gone === false) record.absences = 0;
          delay = Math.min(delay * 2, ceiling);
          continue;
        }
        if (++record.absences >= 2) return this.settleGone(record);
      }
    } finally {
      this.watching--;
    }
  }

  /** The method threw: it never acted (link down → try again later), or the chain moves on, or the job stops. */
  private notApplied(record: SessionRecord, method: Method, err: unknown): void {
    if (err instanceof FromDomainRefusedError) {
      record.methods.pop();
      this.move(record, "queued", { reason: "not delivered: the server refused the users' domain" });
      this.queue.unshift(record);
      if (this.o.fromFallback && this.cxfr) {
        // several packets may have been refused together: switch (and say so) once
        if (this.cxfr.from === "domain") {
          this.cxfr.useComponent();
          this.emit({ event: "from", from: "component", reason: err.message });
        }
        return;
      }
      throw new JobStop(err);
    }
    if (err instanceof InterruptedError) {
      record.methods.pop();
      this.move(record, "queued");
      this.queue.unshift(record);
      return;
    }
    if (err instanceof ConnectError) {
      // Never left: the same method goes again once the link is back and a fresh listing still shows the session.
      record.methods.pop();
      this.move(record, "queued", { reason: `not sent: ${err.message}` });
      this.queue.unshift(record);
      return;
    }
    if (err instanceof TimeoutError) {
      // Written, never answered: it may have acted. Observe it like a sent method; never apply it twice.
      const now = this.clock.now();
      record.sentAt ??= Date.now();
      record.appliedAt = now;
      record.epoch = this.linkEpoch;
      record.absences = 0;
      record.waitEnds = now + (ENDING_METHODS.includes(method.name) ? this.kickSettleMs : this.o.graceMs);
      this.move(record, "sent", { reason: `${method.name}: no answer` });
      return;
    }
    if (err instanceof StanzaError || err instanceof CommandError) {
      this.next(record, `${method.name} refused: ${err.message}`);
      return;
    }
    throw err;
  }

  private noteReply(record: SessionRecord, index: number, reply: Reply): void {
    if (record.state !== "sent" || record.methodIndex !== index) return;
    this.move(record, "sent", { reply });
    this.emit({ event: reply.kind, jid: record.jid, ...("condition" in reply ? { condition: reply.condition } : {}) });
    // A client that refuses does not support this method: no point waiting out the grace.
    if (reply.kind === "rejected" && !this.o.signal.aborted) {
      record.waitEnds = this.clock.now();
      void this.advance(record);
    }
  }

  /** A method that could not act (unavailable, refused): the chain's next one at once, or the session failed. */
  private next(record: SessionRecord, reason: string): void {
    const nextIndex = record.methodIndex + 1;
    if (nextIndex < this.chain.length) {
      this.move(record, "applying", { reason });
      this.advancing.add(record);
      void this.applyPaced(record, nextIndex);
      return;
    }
    this.settle(record, "failed", reason);
  }

  /** The next method of a session already in flight: it keeps its slot, but takes a rate token like any packet. */
  private async applyPaced(record: SessionRecord, index: number): Promise<void> {
    try {
      await this.pacer.token(this.o.signal);
      if (isTerminal(record.state) || this.stopping) return;
      await this.waitReady();
      await this.freshScan();
      if (isTerminal(record.state) || this.stopping) return;
      await this.apply(record, index);
    } catch (err) {
      this.halt(err);
    } finally {
      this.advancing.delete(record);
    }
  }

  /** The grace (or a refusal) is over for a sent session: the next method, or its outcome when there is none. */
  private advance(record: SessionRecord): void {
    if (this.advancing.has(record) || record.state !== "sent") return;
    const method = this.chain[record.methodIndex]?.name;
    if (record.methodIndex + 1 < this.chain.length) {
      this.advancing.add(record);
      this.move(record, "applying", { reason: `${method ?? "method"}: ${record.reply === "rejected" ? `refused (${record.condition ?? "error"})` : "still here after the grace"}` });
      void this.applyPaced(record, record.methodIndex + 1);
      return;
    }
    if (method && ENDING_METHODS.includes(method)) this.settle(record, "failed", `still online after ${method}`);
    else this.settle(record, "remaining", "did not move within the grace period");
  }

  // ── observe: sent → moved | kicked; grace over → next method ───────────────────────────────────────────────

  /** Scans the node until the job is complete; settles departures, picks up newcomers, moves on after the grace. */
  private async observe(): Promise<void> {
    const interval = this.o.scanIntervalMs ?? 1000;
    let idleScans = 0;
    try {
      while (!this.finished) {
        await this.pauseBeforeScan(interval);
        if (this.finished) break;
        const sessions = await this.scan();
        if (!sessions) break;
        await this.noteRestart();
        this.settleDeparted(sessions);
        if (!this.stopping) {
          if (this.o.follow) this.takeOn(sessions);
          this.checkWaits();
        }
        const inFlight = this.records.some((r) => r.state === "sent" || r.state === "applying");
        const idle = this.queue.length === 0 && !inFlight && !(this.o.follow && this.loggedInAgain(sessions));
        // Cancelled: in-flight sessions get the rest of their grace to leave, but no further method.
        const cancelledAndSettled = this.o.signal.aborted && (!inFlight || this.graceOver());
        // Idle must hold for two scans in a row, so a user who logs in again right after a kick is still seen.
        idleScans = idle ? idleScans + 1 : 0;
        const settlingAfterRestart = this.o.follow && this.clock.now() - this.linkBackAt < (this.o.restartSettleMs ?? 10_000);
        if ((idleScans >= 2 && !settlingAfterRestart) || this.deadlinePassed || cancelledAndSettled) this.finished = true;
      }
    } catch (err) {
      this.halt(err);
    }
    this.finished = true;
  }

  /**
   * The pause before the next full listing: the interval, or longer on a node whose listing takes long, so that
   * listing takes at most a fifth of the node's time (10,000 Prosody sessions: ≈0.5 s per listing, and each
   * listing's XML is garbage a second later; the cost is the listing's size, not its wait: listing-cost.ts).
   * Departures are confirmed per session meanwhile; for sessions no per-session check watched, listings come every
   * QUICK_SCAN_MS (still at most a fifth of the time) while their departures are due. After a link drop the next
   * listing comes at the interval.
   */
  private scanPause(interval: number): number {
    if (this.scanEpoch !== this.linkEpoch) return interval;
    const paced = this.listingCost.pauseMs;
    if (this.departuresDue()) return Math.max(QUICK_SCAN_MS, paced);
    return Math.max(interval, paced);
  }

  /**
   * Waits out scanPause, looking again every QUICK_SCAN_MS: methods applied meanwhile shorten the pause. A node
   * without per-session departure checks (ejabberd: its whole listing is one disco#items request, while one
   * user-stats is an ad-hoc command per session that competes with delivering the packets) sees departures
   * through listings taken as often as their cost allows while methods were applied recently.
   */
  private async pauseBeforeScan(interval: number): Promise<void> {
    const since = this.clock.now();
    for (;;) {
      const waited = this.clock.now() - since;
      const left = this.scanPause(interval) - waited;
      if (this.finished || (left <= 0 && !this.deferListing(waited))) return;
      await this.pause(left > 0 ? Math.min(left, QUICK_SCAN_MS) : QUICK_SCAN_MS);
    }
  }

  /**
   * A listing waits (up to BURST_DEFER_MS) while the dispatcher sends back to back: it would compete for the CPU of
   * cxfr and of the node with the packets it is there to confirm (a listing of thousands of sessions is a large
   * answer to build and to parse), and no slot waits for what it would show. After a link drop it never waits.
   */
  private deferListing(waited: number): boolean {
    return this.sendingBurst && waited < BURST_DEFER_MS && this.scanEpoch === this.linkEpoch;
  }

  /** Whether a session no departure watch asked about got its method within the last DEPARTURE_WINDOW_MS and has not been seen leaving yet. */
  private departuresDue(): boolean {
    const now = this.clock.now();
    for (const record of this.slotHolders) {
      if (record.state === "sent" && this.watchedMethod.get(record) !== record.methodIndex && now - (record.appliedAt ?? -Infinity) < DEPARTURE_WINDOW_MS) return true;
    }
    return false;
  }

  private loggedInAgain(sessions: Map<string, LiveSession>): boolean {
    for (const [key, session] of sessions) {
      const state = this.current.get(key)?.state;
      if ((state === "moved" || state === "kicked") && this.o.selects(session)) return true;
    }
    return false;
  }

  private graceOver(): boolean {
    const now = this.clock.now();
    return this.records.every((r) => r.state !== "sent" || (r.waitEnds ?? 0) <= now);
  }

  private settleDeparted(sessions: Map<string, LiveSession>): void {
    for (const record of this.records) {
      if (record.state !== "sent") continue;
      if (sessions.has(record.key)) {
        record.absences = 0;
        continue;
      }
      if (++record.absences >= 2) this.settleGone(record);
    }
  }

  private settleGone(record: SessionRecord): void {
    const method = this.chain[record.methodIndex]?.name;
    record.movedBy = method;
    this.settle(record, method && ENDING_METHODS.includes(method) ? "kicked" : "moved");
  }

  private checkWaits(): void {
    const now = this.clock.now();
    for (const record of this.records) {
      if (record.state === "sent" && (record.waitEnds ?? Infinity) <= now && record.absences === 0) this.advance(record);
    }
  }

  /**
   * After the link came back: if the server restarted meanwhile, the sessions sent a method before are gone (their
   * clients may log in again with the same resource — new sessions that get their own packet, never a kick).
   */
  private async noteRestart(): Promise<void> {
    if (this.scanEpoch === this.checkedRestartEpoch || this.scanEpoch === 0) return;
    this.checkedRestartEpoch = this.scanEpoch;
    // the link is back after a drop (maybe a restart): clients may be reconnecting, so a drain waits for them
    // rather than calling an empty node done
    this.linkBackAt = this.clock.now();
    const restarted = await this.o.restartedSince?.(this.lastDropWall).catch(() => undefined);
    if (restarted !== true) return;
    for (const record of this.records) {
      if ((record.state === "sent" || record.state === "applying") && (record.epoch ?? 0) < this.scanEpoch) {
        this.settle(record, "skipped", "its session ended with a server restart");
        this.settledAt.set(record, -Infinity);
      }
    }
  }

  // ── listings ───────────────────────────────────────────────────────────────────────────────────────────────

  /** One good listing, retried with backoff; undefined when the job is stopping. Throws JobStop when it keeps failing. */
  private async scan(): Promise<Map<string, LiveSession> | undefined> {
    const attempts = this.o.scanAttempts ?? 5;
    for (let attempt = 1; ; attempt++) {
      const epoch = this.linkEpoch;
      try {
        const began = this.clock.now();
        const sessions = await (this.o.source ?? (() => this.o.admin.listSessions()))();
        this.listingCost.noted(this.clock.now() - began, sessions.length);
        this.scanEpoch = epoch;
        const byKey = new Map<string, LiveSession>();
        for (const session of sessions) byKey.set(sessionKey(session), session);
        this.listing = { sessions: byKey };
        listingGarbage().afterListing(sessions.length);
        this.emit({ event: "scan", sessions: sessions.length });
        return this.listing.sessions;
      } catch (err) {
        if (err instanceof NotAuthorizedError || !(err instanceof CxfrError)) throw err instanceof CxfrError ? new JobStop(err) : err;
        this.emit({ event: "scan-failed", attempt, reason: err.message });
        if (err instanceof ConnectError) this.emit({ event: "link", state: "down", reason: err.message });
        if (attempt >= attempts) throw new JobStop(err);
        if (this.o.signal.aborted || this.deadlinePassed) return undefined;
        await this.waitReady();
        await nap(this.clock, Math.min(8000, 500 * 2 ** (attempt - 1)), this.o.signal);
        if (this.o.signal.aborted || this.deadlinePassed) return undefined;
      }
    }
  }

  /**
   * Queues every selected session not yet handled. A JID listed again after it settled as moved or kicked is a new
   * login and is taken on again, unless the listing may predate its departure (settled within two scan intervals).
   */
  private takeOn(sessions: Map<string, LiveSession>): void {
    const interval = this.o.scanIntervalMs ?? 1000;
    const now = this.clock.now();
    for (const [key, session] of sessions) {
      if (!this.o.selects(session)) continue;
      const known = this.current.get(key);
      if (known && (!isTerminal(known.state) || known.state === "remaining" || now - (this.settledAt.get(known) ?? -Infinity) < 2 * interval)) continue;
      const target = (this.o.targetFor ?? ((s: LiveSession) => chooseTarget(s.bare, this.o.targets)))(session);
      const record: SessionRecord = { key, jid: session.jid, bare: session.bare, target: target.label, state: "queued", methodIndex: 0, methods: [], absences: 0 };
      this.addresses.set(record, target.address);
      this.records.push(record);
      this.current.set(key, record);
      this.queue.push(record);
      this.write(record);
    }
  }

  private readonly addresses = new Map<SessionRecord, HostPort>();
  private readonly confirmSlots = new Limiter(32);
  /** Departure watches running now (watchDeparture). */
  private watching = 0;
  /** The method (index in the chain) whose outcome a watch asked about, per session. */
  private readonly watchedMethod = new WeakMap<SessionRecord, number>();
  /** What the last full listing cost the node: paces the next one (scanPause). */
  private readonly listingCost = new ListingCost();
  /** The last nextBatch() had to wait (for a slot, a token, or sessions to queue). */
  private batchWaited = false;
  /** The dispatcher is sending back to back: it took a full batch without waiting for a slot, a token or the queue. */
  private sendingBurst = false;
  /** Monotonic ms of each session's first method: `after_ms` in outcome events counts from there. */
  private readonly firstAppliedAt = new Map<SessionRecord, number>();

  private addressOf(record: SessionRecord, session: LiveSession | undefined): HostPort {
    const known = this.addresses.get(record) ?? this.o.targets.find((t) => t.label === record.target)?.address;
    if (known) return known;
    const target = (this.o.targetFor ?? ((s: LiveSession) => chooseTarget(s.bare, this.o.targets)))(session ?? { jid: record.jid, bare: record.bare, resource: "" });
    return target.address;
  }

  /** A resumed job: finished sessions stay as they are; sessions in flight are re-observed before anything else. */
  private restore(snapshots: SessionSnapshot[]): void {
    const now = this.clock.now();
    for (const snapshot of snapshots) {
      const slash = snapshot.jid.indexOf("/");
      const record: SessionRecord = { ...snapshot, methods: [...snapshot.methods], key: sessionKey({ bare: snapshot.bare, resource: snapshot.jid.slice(slash + 1) }), absences: 0 };
      this.records.push(record);
      this.current.set(record.key, record);
      if (isTerminal(record.state)) continue;
      if (record.state === "queued") {
        this.queue.push(record);
        continue;
      }
      // applying (it may have acted before the crash) or sent: observe it through a new grace, never apply it again.
      if (record.state === "applying") this.move(record, "sent", { reason: "resumed: re-observed before anything is sent again" });
      record.appliedAt = now;
      record.waitEnds = now + this.o.graceMs;
      this.pacer.occupy();
      this.slotHolders.add(record);
    }
  }

  // ── transitions ────────────────────────────────────────────────────────────────────────────────────────────

  /** The one place a record changes state: journaled before anything acts on the new state. */
  private move(record: SessionRecord, to: SessionState, detail: TransitionDetail = {}): void {
    transition(record, to, detail);
    this.write(record);
  }

  /**
   * Buffers the record's snapshot. The buffer is committed before any method acts (flush() in apply and dispatch),
   * else at the end of the turn: `applying` is always on disk before its method acts, and a later state that is lost
   * in a crash is re-observed on resume exactly as `applying` would be.
   */
  private write(record: SessionRecord): void {
    if (this.journalBroken) return;
    this.unwritten.push(snapshotOf(record));
    if (this.flushQueued) return;
    this.flushQueued = true;
    setImmediate(() => {
      this.flushQueued = false;
      this.commit();
    });
  }

  /** flush() where nothing acts next: a failure stops the job instead of throwing. */
  private commit(): void {
    try {
      this.flush();
    } catch (err) {
      this.halt(err);
    }
  }

  /** Commits the buffered snapshots in one journal write; a failure stops the job (JobStop). */
  private flush(): void {
    if (this.journalBroken || this.unwritten.length === 0) return;
    const snapshots = this.unwritten;
    this.unwritten = [];
    try {
      if (this.journal.sessionBatch) this.journal.sessionBatch(this.id, snapshots);
      else for (const snapshot of snapshots) this.journal.session(this.id, snapshot);
    } catch (err) {
      this.journalBroken = true;
      this.finished = true;
      throw new JobStop(new CxfrError(`journal write failed: ${(err as Error).message}`, 2, "journal_failed"));
    }
  }

  private settle(record: SessionRecord, outcome: "moved" | "kicked" | "failed" | "skipped" | "remaining", reason?: string): void {
    if (isTerminal(record.state)) return;
    this.move(record, outcome, reason !== undefined ? { reason } : {});
    this.settledAt.set(record, this.clock.now());
    if (this.slotHolders.delete(record)) this.pacer.release();
    const first = this.firstAppliedAt.get(record);
    const afterMs = first !== undefined ? Math.round(this.clock.now() - first) : undefined;
    this.emit({ event: outcome, jid: record.jid, ...(record.movedBy ? { method: record.movedBy } : {}), ...(reason ? { reason } : {}), ...(afterMs !== undefined ? { after_ms: afterMs } : {}) });
  }

  private get kickSettleMs(): number {
    return this.o.kickSettleMs ?? 15_000;
  }

  private remainingMs(): number {
    if (this.o.deadlineMs === undefined) return 24 * 3600_000;
    return Math.max(0, this.o.deadlineMs - (this.clock.now() - this.startedAt));
  }

  private emit(event: JobEventBody): void {
    this.o.onEvent({ ts: new Date().toISOString(), job: this.id, ...event } as JobEvent);
  }
}

/** The shortest pause between listings while departures no per-session check watches are due. */
const QUICK_SCAN_MS = 100;
/** How long after its method a session's departure is looked for by quick listings (then the interval's listing takes over). */
const DEPARTURE_WINDOW_MS = 2000;
/** Most sessions whose departure is watched at once; the rest are seen leaving by quick listings. */
const DEPARTURE_WATCHES = 256;
/** The first departure check after a method: a client that moves on the packet has usually closed by then. */
const FIRST_CONFIRM_MS = 50;
/** After one "gone", the confirming second answer is asked for this soon. */
const RECONFIRM_MS = 10;
/** Questions about one session (50, 100, 200, 400, 800 ms after its method) before the listing takes over. */
const CONFIRM_CHECKS = 5;

const roundRate = (rate: number): number => Math.round(rate * 10) / 10;

/** The longest a listing waits for a send burst to end (deferListing). */
const BURST_DEFER_MS = 5000;

/**
 * Most sessions one dispatch batch takes: bounds the work done in one turn of the event loop (≈50–80 µs of CPU per
 * session, scripts/bench/engine-dispatch.ts). Between batches the replies that came meanwhile are handled, and the
 * server may read the socket empty: to 5,000 refusing clients on ejabberd, batches of 1,024 delivered faster than
 * 256 and 512 in every round of the README's three-way A/B (session 9, scripts/bench/ab-dispatch.ts --behaviour
 * refuse), for ≈6 MB more peak RSS at 10,000 sessions.
 */
export const MAX_BATCH = 1024;

/** Runs at most `size` tasks at once, the rest in order. */
class Limiter {
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly size: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running >= this.size) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.running++;
    try {
      return await task();
    } finally {
      this.running--;
      this.waiting.shift()?.();
    }
  }
}
