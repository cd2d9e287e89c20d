import { EventEmitter } from "node:events";
import { expect } from "chai";
import type { Element } from "@xmpp/xml";
import { CommandError, FromDomainRefusedError, ProtocolError, StanzaError } from "../../lib/errors.ts";
import type { JobEvent } from "../../lib/jobs/events.ts";
import type { JobJournal, SessionSnapshot, SessionState } from "../../lib/jobs/journal-port.ts";
import { startAutoPacing } from "../../lib/jobs/auto-pacing.ts";
import { MAX_BATCH, TransferJob, type TransferJobOptions } from "../../lib/jobs/runner.ts";
import type { LoginProbeResult } from "../../lib/link/login-probe.ts";
import { parseTargets } from "../../lib/jobs/targets.ts";
import type { Attempt, Method } from "../../lib/methods/method.ts";
import type { LiveSession } from "../../lib/xmpp/admin.ts";
import { FakeClock } from "./support/fake-clock.ts";

/** How a fake client reacts to the XEP-0051 packet. */
type Behaviour = "moves" | "ignores" | "rejects" | "waits";

/** An in-process node on fake time: sessions that react to packets as told, an admin that lists and kicks them. */
function fakeNode(clock: FakeClock, behaviour: Record<string, Behaviour>) {
  const online = new Set(Object.keys(behaviour));
  const packets: Array<{ to: string; from: string; at: number }> = [];
  const kicks: Array<{ jid: string; at: number }> = [];
  let failScan: Error | undefined;
  let refuseDomain = false;
  const link = Object.assign(new EventEmitter(), {
    component: "cxfr.localhost",
    state: "online",
    send: async (el: Element) => {
      if (el.name !== "iq") return;
      const from = String(el.attrs.from);
      if (refuseDomain && from === "localhost") {
        // Prosody without validate_from_addresses = false: accepted, then the stream is closed (invalid-from)
        clock.at(1, () => {
          link.emit("stream-error", "invalid-from");
          link.emit("offline", "invalid-from");
        });
        return;
      }
      react(el);
    },
    exchange: (iq: Element) => {
      react(iq);
      const b = behaviour[String(iq.attrs.to)];
      const reply =
        b === "rejects" ? Promise.reject(new StanzaError("service-unavailable", "cancel"))
        : b === "waits" ? Promise.reject(new StanzaError("unexpected-request", "wait"))
        : Promise.resolve(iq);
      reply.catch(() => undefined);
      return { written: Promise.resolve(), reply };
    },
    sendChecked: async (el: Element) => {
      await link.send(el);
      // the server closes the stream with invalid-from before the confirming ping comes back
      if (refuseDomain && String(el.attrs.from) === "localhost") {
        await clock.sleep(2);
        throw new FromDomainRefusedError("127.0.0.1:5347", "validate_from_addresses = false");
      }
    },
    waitOnline: async () => undefined,
  });
  const react = (iq: Element) => {
    const to = String(iq.attrs.to);
    packets.push({ to, from: String(iq.attrs.from), at: clock.now() });
    if (behaviour[to] === "moves") clock.at(20, () => online.delete(to));
  };
  const admin = {
    listSessions: async (): Promise<LiveSession[]> => {
      if (failScan) throw failScan;
      return [...online].map((jid) => ({ jid, bare: jid.split("/")[0] as string, resource: jid.split("/")[1] as string }));
    },
    endSession: async (jid: string) => {
      kicks.push({ jid, at: clock.now() });
      online.delete(jid);
    },
    announce: async () => undefined,
  };
  return {
    online,
    packets,
    kicks,
    link,
    admin,
    failScanWith: (err: Error | undefined) => (failScan = err),
    refuseDomain: (v: boolean) => (refuseDomain = v),
    login: (jid: string, b: Behaviour) => {
      behaviour[jid] = b;
      online.add(jid);
    },
  };
}

/** A journal in memory that remembers every write in order. */
function memoryJournal(failAfter = Infinity) {
  const writes: Array<{ jid: string; state: SessionState }> = [];
  const latest = new Map<string, SessionSnapshot>();
  const journal: JobJournal = {
    session: (_job, s) => {
      if (writes.length >= failAfter) throw new Error("disk full");
      writes.push({ jid: s.jid, state: s.state });
      latest.set(s.jid, s);
    },
    job: () => undefined,
  };
  return { journal, writes, latest };
}

function job(clock: FakeClock, node: ReturnType<typeof fakeNode>, overrides: Partial<TransferJobOptions> = {}) {
  const events: JobEvent[] = [];
  const j = new TransferJob({
    kind: "drain",
    node: "a",
    link: node.link,
    admin: node.admin,
    domain: "localhost",
    from: "component",
    targets: parseTargets(["b.example.com:5222"], () => undefined),
    selects: () => true,
    pacing: { rate: Infinity, burst: 1, jitter: 0, maxInFlight: 100 },
    waitMs: 0,
    graceMs: 30_000,
    fallback: "kick",
    follow: true,
    dryRun: false,
    scanIntervalMs: 1000,
    clock,
    signal: new AbortController().signal,
    onEvent: (e) => events.push(e),
    ...overrides,
  });
  return { j, events, run: () => clock.run(j.run()) };
}

const of = (events: JobEvent[], name: string, jid?: string) => events.filter((e) => e.event === name && (jid === undefined || ("jid" in e && e.jid === jid)));

describe("TransferJob state machine (fake node, fake time)", () => {
  it("counts moved, kicked and refused sessions from observation; a refusal skips the grace, silence waits it out", async () => {
    const clock = new FakeClock();
    const node = fakeNode(clock, { "a@localhost/1": "moves", "b@localhost/1": "ignores", "c@localhost/1": "rejects" });
    const { run } = job(clock, node);
    const summary = await run();
    expect(summary).to.include({ targeted: 3, moved: 1, kicked: 2, failed: 0, remaining: 0 });
    expect(summary.by_method).to.deep.equal({ cxfr: 1, kick: 2 });
    const kickAt = Object.fromEntries(node.kicks.map((k) => [k.jid, k.at]));
    expect(kickAt["c@localhost/1"]).to.be.below(100);
    expect(kickAt["b@localhost/1"]).to.be.at.least(30_000);
    expect(node.packets).to.have.length(3);
  });

  it("measures the grace on the job's monotonic clock: a wall-clock step of an hour changes nothing", async () => {
    const clock = new FakeClock();
    const node = fakeNode(clock, { "a@localhost/1": "ignores" });
    const realNow = Date.now;
    let offset = 0;
    Date.now = () => realNow() + offset;
    clock.at(2000, () => (offset += 3600_000)); // NTP steps the wall clock forward mid-grace
    try {
      await job(clock, node, { graceMs: 10_000 }).run();
    } finally {
      Date.now = realNow;
    }
    expect(node.kicks[0]?.at).to.be.at.least(10_000);
    expect(node.kicks[0]?.at).to.be.below(12_500);
  });

  it("a `wait` error is not a refusal: the session gets its whole grace, and no second packet", async () => {
    const clock = new FakeClock();
    const node = fakeNode(clock, { "w@localhost/1": "waits" });
    const { run, events } = job(clock, node, { graceMs: 10_000 });
    await run();
    expect(of(events, "wait")).to.have.length(1);
    expect(node.packets).to.have.length(1);
    expect(node.kicks[0]?.at).to.be.at.least(10_000);
  });

  it("counts a session as moved only after two good listings without it; one absence sends nothing again", async () => {
    const clock = new FakeClock();
    const node = fakeNode(clock, { "f@localhost/1": "ignores" });
    // the session vanishes from exactly one listing (a glitch; after the quick listings that follow a method, once a
    // second), then is listed again
    clock.at(4600, () => node.online.delete("f@localhost/1"));
    clock.at(5400, () => node.online.add("f@localhost/1"));
    const { run, events } = job(clock, node, { graceMs: 10_000 });
    const summary = await run();
    expect(of(events, "moved")).to.have.length(0);
    expect(node.packets.filter((p) => p.to === "f@localhost/1")).to.have.length(1);
    expect(summary).to.include({ targeted: 1, kicked: 1 });
  });

  it("ends at the deadline while sessions are still in their grace", async () => {
    const clock = new FakeClock();
    const node = fakeNode(clock, { "a@localhost/1": "ignores" });
    const { run } = job(clock, node, { graceMs: 60_000, deadlineMs: 5000, fallback: "none" });
    const summary = await run();
    expect(clock.now()).to.be.below(8000);
    expect(summary).to.include({ targeted: 1, remaining: 1, kicked: 0 });
  });

  it("takes on a session that logs in again after it was kicked as a new one, with its own packet", async () => {
    const clock = new FakeClock();
    const node = fakeNode(clock, { "a@localhost/1": "ignores" });
    let relogged = false;
    const { run } = job(clock, node, {
      onEvent: (e) => {
        if (e.event === "kicked" && !relogged) {
          relogged = true;
          clock.at(10, () => node.login("a@localhost/1", "moves"));
        }
      },
    });
    const summary = await run();
    expect(summary).to.include({ targeted: 2, moved: 1, kicked: 1 });
    expect(node.packets.map((p) => p.to)).to.deep.equal(["a@localhost/1", "a@localhost/1"]);
  });

  it("retries a failing listing with backoff and goes on when it recovers", async () => {
    const clock = new FakeClock();
    const node = fakeNode(clock, { "a@localhost/1": "ignores" });
    clock.at(1500, () => node.failScanWith(new ProtocolError("listing without the onlineuserjids field")));
    clock.at(4000, () => node.failScanWith(undefined));
    const { run, events } = job(clock, node, { graceMs: 10_000 });
    const summary = await run();
    expect(of(events, "scan-failed").length).to.be.at.least(1);
    expect(summary).to.include({ targeted: 1, kicked: 1 });
    expect(summary.error).to.equal(undefined);
  });

  it("stops with a summary (not a throw) when listing keeps failing; in-flight sessions are remaining, never kicked", async () => {
    const clock = new FakeClock();
    const node = fakeNode(clock, { "a@localhost/1": "ignores" });
    clock.at(1500, () => node.failScanWith(new CommandError("get-online-users-list", "forbidden")));
    const { run } = job(clock, node, { graceMs: 60_000 });
    const summary = await run();
    expect(summary.error?.code).to.equal("command_failed");
    expect(summary).to.include({ targeted: 1, remaining: 1, kicked: 0 });
    expect(node.kicks).to.deep.equal([]);
  });

  it("ends sessions without a packet when only kicking is allowed", async () => {
    const clock = new FakeClock();
    const node = fakeNode(clock, { "a@localhost/1": "moves", "b@localhost/1": "ignores" });
    const { run } = job(clock, node, { sendPackets: false, graceMs: 60_000 });
    const summary = await run();
    expect(node.packets).to.deep.equal([]);
    expect(node.kicks.map((k) => k.jid).sort()).to.deep.equal(["a@localhost/1", "b@localhost/1"]);
    expect(summary).to.include({ targeted: 2, kicked: 2 });
  });

  it("plans without sending or journaling anything on a dry run", async () => {
    const clock = new FakeClock();
    const node = fakeNode(clock, { "a@localhost/1": "moves", "b@localhost/1": "moves" });
    const { journal, writes } = memoryJournal();
    const { run, events } = job(clock, node, { dryRun: true, journal });
    const summary = await run();
    expect(node.packets).to.deep.equal([]);
    expect(writes).to.deep.equal([]);
    expect(of(events, "planned").map((e) => ("target" in e ? e.target : ""))).to.deep.equal(["b.example.com:5222", "b.example.com:5222"]);
    expect(summary).to.include({ targeted: 2, moved: 0, remaining: 2 });
  });

  it("matches JIDs case-insensitively in localpart and domain: a listing in other case is the same session", async () => {
    const clock = new FakeClock();
    const node = fakeNode(clock, { "Vip@LocalHost/Phone": "ignores" });
    const { run } = job(clock, node, { selects: (s) => s.bare.toLowerCase() !== "vip@localhost" });
    const summary = await run();
    expect(summary.targeted).to.equal(0);
    expect(node.packets).to.deep.equal([]);
  });

  describe("from the users' domain", () => {
    it("a packet the server refused (invalid-from) is not sent: with auto it goes again from the component, nobody kicked without one", async () => {
      const clock = new FakeClock();
      const node = fakeNode(clock, { "a@localhost/1": "ignores" });
      node.refuseDomain(true);
      const { run, events } = job(clock, node, { from: "domain", fromFallback: true, graceMs: 5000 });
      const summary = await run();
      expect(of(events, "from")).to.have.length(1);
      const delivered = node.packets.filter((p) => p.from === "cxfr.localhost");
      expect(delivered).to.have.length(1);
      expect(node.kicks[0]?.at).to.be.at.least((delivered[0]?.at ?? 0) + 5000);
      expect(summary).to.include({ targeted: 1, kicked: 1 });
    });

    it("without a fallback the job stops with exit 3 and the config to add; nobody is kicked", async () => {
      const clock = new FakeClock();
      const node = fakeNode(clock, { "a@localhost/1": "ignores" });
      node.refuseDomain(true);
      const { run } = job(clock, node, { from: "domain" });
      const summary = await run();
      expect(summary.error?.code).to.equal("from_domain_refused");
      expect(summary.error?.message).to.contain("validate_from_addresses = false");
      expect(node.kicks).to.deep.equal([]);
      expect(summary).to.include({ remaining: 1, kicked: 0 });
    });
  });

  it("after a server restart, a client back with the same resource is a new session: its own packet, never a kick without one", async () => {
    const clock = new FakeClock();
    const node = fakeNode(clock, { "r@localhost/1": "ignores" });
    // the server restarts during the grace: the session ends, the link drops, and the client logs in again
    clock.at(3000, () => {
      node.online.delete("r@localhost/1");
      node.link.emit("offline");
    });
    clock.at(3500, () => node.online.add("r@localhost/1"));
    const { run } = job(clock, node, { graceMs: 10_000, restartedSince: async () => true });
    const summary = await run();
    const packetsTo = node.packets.filter((p) => p.to === "r@localhost/1");
    expect(packetsTo).to.have.length(2);
    expect(node.kicks).to.have.length(1);
    expect(node.kicks[0]?.at).to.be.at.least((packetsTo[1]?.at ?? 0) + 10_000);
    expect(summary).to.include({ targeted: 2, skipped: 1, kicked: 1 });
  });

  it("after the link comes back, a drain waits for clients that log in again late instead of calling the node empty", async () => {
    const clock = new FakeClock();
    const node = fakeNode(clock, { "r@localhost/1": "moves", "s@localhost/1": "moves" });
    // the server restarts before the second packet: both sessions end; the clients need 6 s to come back
    clock.at(10, () => {
      node.online.clear();
      node.link.emit("offline");
    });
    clock.at(6000, () => {
      node.login("r@localhost/1", "moves");
      node.login("s@localhost/1", "moves");
    });
    const { run } = job(clock, node, { pacing: { rate: 1, burst: 1, jitter: 0, maxInFlight: 100 }, restartedSince: async () => true });
    const summary = await run();
    expect(node.online.size).to.equal(0);
    expect(summary.moved).to.equal(2);
  });

  it("a cancel stops new packets; in-flight sessions get the rest of their grace and no kick", async () => {
    const clock = new FakeClock();
    const node = fakeNode(clock, { "a@localhost/1": "ignores", "b@localhost/1": "ignores" });
    const controller = new AbortController();
    const { run } = job(clock, node, { graceMs: 10_000, pacing: { rate: 1, burst: 1, jitter: 0, maxInFlight: 100 }, signal: controller.signal });
    clock.at(500, () => controller.abort());
    const summary = await run();
    expect(node.packets).to.have.length(1);
    expect(node.kicks).to.deep.equal([]);
    expect(clock.now()).to.be.below(12_000);
    expect(summary).to.include({ targeted: 2, remaining: 2 });
  });

  it("confirms each departure as it happens (isGone), so in-flight slots free long before the next full listing", async () => {
    const clock = new FakeClock();
    const node = fakeNode(clock, { "a@localhost/1": "moves", "b@localhost/1": "moves", "c@localhost/1": "moves" });
    const asked: string[] = [];
    const isGone = async (s: { jid: string }) => {
      asked.push(s.jid);
      return !node.online.has(s.jid);
    };
    const { run, events } = job(clock, node, { scanIntervalMs: 10_000, pacing: { rate: Infinity, burst: 1, jitter: 0, maxInFlight: 1 }, isGone });
    const summary = await run();
    expect(summary).to.include({ moved: 3 });
    const movedAt = of(events, "moved").map((e) => Date.parse(e.ts));
    expect(movedAt).to.have.length(3);
    // the third packet left once the second session's departure was confirmed, long before a second listing
    const third = node.packets[2]?.at ?? Infinity;
    expect(third).to.be.below(10_000);
    expect(asked.length).to.be.at.least(6);
  });

  it("without per-session checks (ejabberd), lists quickly while departures are due, then at the interval again", async () => {
    const clock = new FakeClock();
    const node = fakeNode(clock, { "a@localhost/1": "moves", "b@localhost/1": "moves", "s@localhost/1": "ignores" });
    const listedAt: number[] = [];
    const list = node.admin.listSessions;
    const admin = { ...node.admin, listSessions: () => (listedAt.push(clock.now()), list()) };
    const { run, events } = job(clock, node, { admin, graceMs: 10_000 });
    await run();
    // the packets leave at 0 and the clients at 20 ms: seen gone by two listings ≈100 ms apart, not two a second apart
    for (const e of of(events, "moved")) expect((e as { after_ms: number }).after_ms).to.be.within(20, 300);
    const gaps = listedAt.slice(1).map((t, i) => t - (listedAt[i] as number));
    expect(gaps.slice(0, 3).every((gap) => gap >= 100 && gap < 200)).to.equal(true);
    // two seconds after the last method the quick listings stop: the one still in its grace is listed once a second
    const late = listedAt.filter((t) => t > 3000 && t < 9000);
    expect(late.length).to.be.within(5, 7);
  });

  it("sessions that may go at once are sent side by side: the confirmation of one packet does not hold the next", async () => {
    const clock = new FakeClock();
    const jids = Array.from({ length: 50 }, (_, i) => `u${i}@localhost/1`);
    const node = fakeNode(clock, Object.fromEntries(jids.map((j) => [j, "moves" as const])));
    // every confirmed send (packet + ping back through the server) takes 5 ms of fake time
    const sendChecked = node.link.sendChecked;
    node.link.sendChecked = async (el: Element) => {
      await sendChecked(el);
      await clock.sleep(5);
    };
    const { run } = job(clock, node, { from: "domain" });
    const summary = await run();
    expect(summary).to.include({ moved: 50 });
    expect(new Set(node.packets.map((p) => p.at))).to.deep.equal(new Set([0]));
  });

  it("a batch waits until the server has taken the one before it (whenTaken)", async () => {
    const clock = new FakeClock();
    const jids = Array.from({ length: MAX_BATCH + 44 }, (_, i) => `u${i}@localhost/1`);
    const node = fakeNode(clock, Object.fromEntries(jids.map((j) => [j, "moves" as const])));
    let packetsWhenAsked = -1;
    let taken!: () => void;
    const link = Object.assign(node.link, {
      whenTaken: () => {
        packetsWhenAsked = node.packets.length;
        return new Promise<void>((resolve) => (taken = resolve));
      },
    });
    const { run } = job(clock, node, { link, pacing: { rate: Infinity, burst: 1, jitter: 0, maxInFlight: Infinity } });
    const done = run();
    await clock.sleep(5000);
    // the first batch left; the rest wait while the server has not taken it
    expect(packetsWhenAsked).to.equal(MAX_BATCH);
    expect(node.packets).to.have.length(MAX_BATCH);
    taken();
    link.whenTaken = () => Promise.resolve();
    expect(await done).to.include({ moved: MAX_BATCH + 44 });
    expect(node.packets).to.have.length(MAX_BATCH + 44);
  });

  /** Three batches of moving sessions, unlimited, on a server that takes each written batch `takeMs` later; when listings came. */
  async function burstDrain(takeMs: number) {
    const clock = new FakeClock();
    const jids = Array.from({ length: 3 * MAX_BATCH - 72 }, (_, i) => `u${i}@localhost/1`);
    const node = fakeNode(clock, Object.fromEntries(jids.map((j) => [j, "moves" as const])));
    const link = Object.assign(node.link, { whenTaken: () => clock.sleep(takeMs) });
    const listedAt: number[] = [];
    const list = node.admin.listSessions;
    const admin = { ...node.admin, listSessions: () => (listedAt.push(clock.now()), list()) };
    const summary = await job(clock, node, { link, admin, pacing: { rate: Infinity, burst: 1, jitter: 0, maxInFlight: Infinity } }).run();
    return { summary, listedAt, lastPacketAt: Math.max(...node.packets.map((p) => p.at)) };
  }

  it("a listing waits while the dispatcher sends back to back, and comes once the burst is over", async () => {
    // three batches taken 530 ms apart (off the observer's 100 ms steps): a burst of ≈1.06 s
    const { summary, listedAt, lastPacketAt } = await burstDrain(530);
    expect(summary).to.include({ moved: 3 * MAX_BATCH - 72 });
    expect(lastPacketAt).to.be.at.least(1000);
    expect(listedAt.filter((t) => t > 0 && t <= lastPacketAt)).to.deep.equal([]);
    expect(listedAt.filter((t) => t > lastPacketAt && t <= lastPacketAt + 300).length).to.be.at.least(1);
  });

  it("a listing waits for a send burst at most 5 s", async () => {
    // a burst of ≈6 s
    const { summary, listedAt } = await burstDrain(3000);
    expect(summary).to.include({ moved: 3 * MAX_BATCH - 72 });
    const duringBurst = listedAt.filter((t) => t > 0 && t < 7000);
    expect(duringBurst.length).to.be.at.least(1);
    expect(duringBurst[0]).to.be.within(5000, 5500);
  });

  it("journals the sessions of one batch as `applying` in one write, before any of them is sent", async () => {
    const clock = new FakeClock();
    const node = fakeNode(clock, { "a@localhost/1": "moves", "b@localhost/1": "moves", "c@localhost/1": "moves" });
    const batches: Array<{ states: string[]; packetsBefore: number }> = [];
    const journal: JobJournal = {
      session: () => expect.fail("a journal with sessionBatch gets batches"),
      sessionBatch: (_job, snapshots) => batches.push({ states: snapshots.map((s) => s.state), packetsBefore: node.packets.length }),
      job: () => undefined,
    };
    await job(clock, node, { journal }).run();
    const applying = batches.find((b) => b.states.includes("applying"));
    expect(applying?.states.filter((s) => s === "applying")).to.have.length(3);
    expect(applying?.packetsBefore).to.equal(0);
    expect(batches.flatMap((b) => b.states).filter((s) => s === "moved")).to.have.length(3);
  });

  it("watches at most 256 departures at once; the other sessions in flight are seen leaving by quick listings", async () => {
    const clock = new FakeClock();
    const jids = Array.from({ length: 1000 }, (_, i) => `u${i}@localhost/1`);
    const node = fakeNode(clock, Object.fromEntries(jids.map((j) => [j, "moves" as const])));
    const asked = new Set<string>();
    const isGone = async (s: { jid: string }) => {
      asked.add(s.jid);
      return !node.online.has(s.jid);
    };
    const listedAt: number[] = [];
    const list = node.admin.listSessions;
    const admin = { ...node.admin, listSessions: () => (listedAt.push(clock.now()), list()) };
    const { run, events } = job(clock, node, { admin, isGone, pacing: { rate: Infinity, burst: 1, jitter: 0, maxInFlight: Infinity } });
    const summary = await run();
    expect(summary).to.include({ moved: 1000 });
    expect(node.packets.every((p) => p.at === 0)).to.equal(true);
    expect(asked.size).to.be.within(1, 256);
    // the clients leave 20 ms after their packet: every departure is seen within ≈two quick listings, not the interval's
    for (const e of of(events, "moved")) expect((e as { after_ms: number }).after_ms).to.be.below(400);
    expect(listedAt.filter((t) => t > 0 && t < 1000).length).to.be.at.least(2);
  });

  it("asks after a session that stays only a few times, then leaves it to the listing", async () => {
    const clock = new FakeClock();
    const node = fakeNode(clock, { "s@localhost/1": "ignores" });
    let asked = 0;
    const isGone = async () => {
      asked++;
      return false;
    };
    const { run } = job(clock, node, { graceMs: 20_000, isGone });
    const summary = await run();
    expect(summary).to.include({ kicked: 1 });
    // the packet's 5 questions over ≈1.5 s, and the kick's: not one a second through the 20 s grace
    expect(asked).to.be.at.most(10);
  });

  it("lists a node whose listing takes long less often: listing takes at most a fifth of the time", async () => {
    const clock = new FakeClock();
    const node = fakeNode(clock, { "s@localhost/1": "ignores" });
    const listedAt: number[] = [];
    const list = node.admin.listSessions;
    const slowAdmin = {
      ...node.admin,
      listSessions: async () => {
        listedAt.push(clock.now());
        await clock.sleep(600); // a big node
        return list();
      },
    };
    const { run } = job(clock, node, { admin: slowAdmin, graceMs: 10_000 });
    await run();
    const gaps = listedAt.slice(2).map((t, i) => t - (listedAt[i + 1] as number));
    expect(gaps.length).to.be.greaterThan(3);
    // 600 ms of listing, then at least 4 × 600 ms of pause
    for (const gap of gaps) expect(gap).to.be.at.least(600 + 2400);
  });

  describe("--rate auto", () => {
    /** Login probes on fake time: every target answers in `latency(now)` ms. */
    const fakeProbes = (clock: FakeClock, latency: (now: number) => number) => (targets: Array<{ label: string }>, options: { intervalMs: number }, onResult: (label: string, result: LoginProbeResult) => void) => {
      let stopped = false;
      const loop = async () => {
        while (!stopped) {
          for (const t of targets) onResult(t.label, { ok: true, ms: latency(clock.now()), connectMs: 0, streamMs: 0 });
          await clock.sleep(options.intervalMs);
        }
      };
      void loop();
      return { stop: () => (stopped = true) };
    };

    it("paces by the controller's rate, raises it while the target keeps up and cuts it when the login probe slows; says why", async () => {
      const clock = new FakeClock();
      const jids = Array.from({ length: 1500 }, (_, i) => `u${i}@localhost/1`);
      const node = fakeNode(clock, Object.fromEntries(jids.map((j) => [j, "moves" as const])));
      // the target greets in 5 ms, but takes 2 s from t = 4 s to t = 8 s (a node busy with logins)
      const probes = fakeProbes(clock, (now) => (now >= 4000 && now < 8000 ? 2000 : 5));
      let cutAt = Infinity;
      const { run, events } = job(clock, node, {
        onEvent: (e) => {
          events.push(e);
          if (e.event === "rate" && e.change === "cut") cutAt = Math.min(cutAt, clock.now());
        },
        pacing: { rate: 20, burst: 1, jitter: 0, maxInFlight: 1000 },
        autoPacing: (hooks) => startAutoPacing({ targets: [{ label: "b", address: { host: "127.0.0.1", port: 5222 } }], domain: "localhost", controller: { startRate: 20, maxRate: 500 }, probeIntervalMs: 500, startProbes: probes, ...hooks }),
      });
      const summary = await run();
      expect(summary).to.include({ moved: 1500 });
      const rates = of(events, "rate") as Array<Extract<JobEvent, { event: "rate" }>>;
      expect(rates[0]).to.include({ change: "start", rate: 20, cause: "start" });
      const raise = rates.find((e) => e.change === "raise");
      const cut = rates.find((e) => e.change === "cut");
      expect(raise).to.include({ cause: "targets-keep-up" });
      expect(cut).to.include({ cause: "probe-latency" });
      expect(cut?.reason).to.match(/login probe to b took 2000 ms \(best 5 ms\)/);
      // paced: in the first decision interval (500 ms) no more than the starting rate allows (plus the one-packet burst)
      expect(node.packets.filter((p) => p.at < 500).length).to.be.at.most(11);
      // and after the cut, sending slowed down against the second before it
      expect(cutAt).to.be.within(4000, 6000);
      const before = node.packets.filter((p) => p.at >= cutAt - 1000 && p.at < cutAt).length;
      const after = node.packets.filter((p) => p.at >= cutAt + 1000 && p.at < cutAt + 2000).length;
      expect(after).to.be.below(before);
    });

    it("sends nothing before the probes' first round (the baseline)", async () => {
      const clock = new FakeClock();
      const node = fakeNode(clock, { "a@localhost/1": "moves" });
      // the probe's first answer takes 3 s
      const slowFirst = (targets: Array<{ label: string }>, _options: unknown, onResult: (label: string, result: LoginProbeResult) => void) => {
        clock.at(3000, () => onResult(targets[0]?.label ?? "", { ok: true, ms: 3000, connectMs: 0, streamMs: 0 }));
        return { stop: () => undefined };
      };
      const { run } = job(clock, node, {
        autoPacing: (hooks) => startAutoPacing({ targets: [{ label: "b", address: { host: "127.0.0.1", port: 5222 } }], domain: "localhost", startProbes: slowFirst, ...hooks }),
      });
      const summary = await run();
      expect(summary).to.include({ moved: 1 });
      expect(node.packets[0]?.at).to.be.at.least(3000);
    });
  });

  describe("journal", () => {
    it("writes each transition before acting on it, in order", async () => {
      const clock = new FakeClock();
      const node = fakeNode(clock, { "a@localhost/1": "moves" });
      const { journal, writes } = memoryJournal();
      await job(clock, node, { journal }).run();
      expect(writes.map((w) => w.state)).to.deep.equal(["queued", "applying", "sent", "sent", "moved"]);
    });

    it("a failed write stops the job before the packet goes out", async () => {
      const clock = new FakeClock();
      const node = fakeNode(clock, { "a@localhost/1": "moves" });
      const { journal } = memoryJournal(1); // "queued" is written, "applying" fails
      const summary = await job(clock, node, { journal }).run();
      expect(node.packets).to.deep.equal([]);
      expect(summary.error?.code).to.equal("journal_failed");
    });

    it("resumes: finished sessions are left alone, one caught mid-apply is observed, never sent twice", async () => {
      const clock = new FakeClock();
      const node = fakeNode(clock, { "mid@localhost/1": "ignores", "new@localhost/1": "moves" });
      const snap = (jid: string, state: SessionState, methods: SessionSnapshot["methods"] = []): SessionSnapshot => ({ jid, bare: jid.split("/")[0] as string, target: "b.example.com:5222", state, methodIndex: 0, methods });
      const resume = [snap("done@localhost/1", "moved", ["cxfr"]), snap("mid@localhost/1", "applying", ["cxfr"]), snap("new@localhost/1", "queued")];
      const { run } = job(clock, node, { resume, graceMs: 10_000, follow: false });
      const summary = await run();
      expect(node.packets.map((p) => p.to)).to.deep.equal(["new@localhost/1"]);
      expect(node.kicks.map((k) => k.jid)).to.deep.equal(["mid@localhost/1"]);
      expect(summary).to.include({ targeted: 3, moved: 2, kicked: 1 });
    });
  });

  describe("method chain", () => {
    const fakeMethod = (name: Method["name"], result: Attempt | Error, log: string[]): Method => ({
      name,
      apply: async (s) => {
        log.push(`${name}:${s.jid}`);
        if (result instanceof Error) throw result;
        return result;
      },
    });

    it("a refusal of the packet moves to the next method at once; an unavailable method is skipped without acting", async () => {
      const clock = new FakeClock();
      const node = fakeNode(clock, { "c@localhost/1": "rejects" });
      const log: string[] = [];
      const soh = fakeMethod("see-other-host", { status: "sent" }, log);
      const reset = fakeMethod("reset", { status: "unavailable", reason: "no CAP_NET_ADMIN" }, log);
      clock.at(200, () => node.online.delete("c@localhost/1")); // leaves after see-other-host
      const { run, events } = job(clock, node, { methods: ["cxfr", "reset", "see-other-host", "kick"], methodModules: { "see-other-host": soh, reset } });
      const summary = await run();
      expect(log).to.deep.equal(["reset:c@localhost/1", "see-other-host:c@localhost/1"]);
      expect(of(events, "unavailable")).to.have.length(1);
      expect(node.kicks).to.deep.equal([]);
      expect(summary.by_method).to.deep.equal({ "see-other-host": 1 });
      expect(summary).to.include({ moved: 1 });
    });

    describe("reset between independent nodes (seenElsewhere)", () => {
      // reset leaves the session listed here (hibernated XEP-0198 stream); the client logs in on node B at 3 s
      const setup = (options: { closeModule: boolean; backAt: number }) => {
        const clock = new FakeClock();
        const node = fakeNode(clock, { "r@localhost/1": "ignores" });
        const log: string[] = [];
        const reset = fakeMethod("reset", { status: "sent" }, log);
        const close: Method = {
          name: "close",
          apply: async (s) => {
            log.push(`close:${s.jid}`);
            node.online.delete(s.jid);
            return { status: "sent" };
          },
        };
        const asked: number[] = [];
        const seenElsewhere = async () => {
          asked.push(clock.now());
          return clock.now() >= options.backAt;
        };
        const methodModules = options.closeModule ? { reset, close } : { reset };
        return { node, log, asked, ...job(clock, node, { methods: ["reset", "kick"], methodModules, seenElsewhere, graceMs: 30_000 }) };
      };

      it("once the client is back elsewhere, ends the session it left here (close) and counts it as moved by reset", async () => {
        const { node, log, events, run } = setup({ closeModule: true, backAt: 3000 });
        const summary = await run();
        expect(log).to.deep.equal(["reset:r@localhost/1", "close:r@localhost/1"]);
        expect(node.kicks).to.deep.equal([]);
        expect(of(events, "leftover").map((e) => ("method" in e ? e.method : undefined))).to.deep.equal(["close"]);
        expect(summary).to.include({ moved: 1, kicked: 0 });
        expect(summary.by_method).to.deep.equal({ reset: 1 });
        const moved = of(events, "moved")[0] as { after_ms: number; method: string };
        expect(moved.method).to.equal("reset");
        expect(moved.after_ms).to.be.within(3000, 6000);
      });

      it("without a close module the leftover is kicked, still counted as moved by reset", async () => {
        const { node, log, run } = setup({ closeModule: false, backAt: 3000 });
        const summary = await run();
        expect(log).to.deep.equal(["reset:r@localhost/1"]);
        expect(node.kicks.map((k) => [k.jid, k.at >= 3000 && k.at < 6000])).to.deep.equal([["r@localhost/1", true]]);
        expect(summary).to.include({ moved: 1, kicked: 0 });
        expect(summary.by_method).to.deep.equal({ reset: 1 });
      });

      it("a client not back elsewhere is left alone through the grace; then the chain goes on", async () => {
        const { node, log, asked, events, run } = setup({ closeModule: true, backAt: Infinity });
        const summary = await run();
        expect(log).to.deep.equal(["reset:r@localhost/1"]);
        expect(of(events, "leftover")).to.deep.equal([]);
        expect(node.kicks.map((k) => k.at >= 30_000 && k.at <= 31_000)).to.deep.equal([true]);
        expect(summary).to.include({ moved: 0, kicked: 1 });
        expect(summary.by_method).to.deep.equal({ kick: 1 });
        // asked from the reset on, at most once per scan interval, and not after the reset's grace
        expect(asked[0]).to.equal(0);
        expect(asked.length).to.be.within(25, 40);
        expect(Math.max(...asked)).to.be.at.most(node.kicks[0]?.at as number);
      });
    });
  });
});
