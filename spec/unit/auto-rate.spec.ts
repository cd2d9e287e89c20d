import { expect } from "chai";
import { AutoRate, type AutoRateEvent, type AutoRateOptions } from "../../lib/jobs/auto-rate.ts";
import { InputError } from "../../lib/errors.ts";

// The controller never reads a clock: each step passes `now`, so these specs run on made-up time.

const SECOND = 1000;

/** One interval in which the job used its whole allowance and the probe saw `probeMs`. */
function healthySecond(auto: AutoRate, now: number, probeMs = 10): AutoRateEvent | undefined {
  auto.sent(Math.ceil(auto.rate));
  auto.probed("b", { ok: true, ms: probeMs });
  return auto.update(now);
}

function controller(options: Partial<AutoRateOptions> = {}): { auto: AutoRate; events: AutoRateEvent[] } {
  const auto = new AutoRate(options);
  const events: AutoRateEvent[] = [];
  auto.on((e) => events.push(e));
  auto.begin(0);
  return { auto, events };
}

describe("AutoRate (--rate auto)", () => {
  it("announces its starting rate", () => {
    const { auto, events } = controller({ startRate: 8 });
    expect(auto.rate).to.equal(8);
    expect(events).to.deep.equal([{ event: "rate", rate: 8, previous: 0, change: "start", cause: "start", reason: "starting at 8/s", at: 0 }]);
  });

  it("multiplies the rate while the targets keep up, and stops at --max-rate", () => {
    const { auto, events } = controller({ startRate: 10, startFactor: 2, maxRate: 50 });
    const rates = [1, 2, 3, 4, 5].map((s) => (healthySecond(auto, s * SECOND), auto.rate));
    expect(rates).to.deep.equal([20, 40, 50, 50, 50]);
    expect(events.map((e) => e.cause)).to.deep.equal(["start", "targets-keep-up", "targets-keep-up", "max-rate"]);
    expect(events.at(-1)?.reason).to.equal("at --max-rate 50/s");
  });

  it("with its defaults, starts at 100/s and grows by half per interval while the targets keep up (225/s within 1 s)", () => {
    const { auto } = controller();
    const rates = [auto.rate];
    for (const at of [500, 1000, 1500, 2000]) {
      auto.sent(Math.ceil(auto.rate / 2));
      auto.probed("b", { ok: true, ms: 3 });
      auto.update(at);
      rates.push(auto.rate);
    }
    expect(rates).to.deep.equal([100, 150, 225, 337.5, 506.25]);
  });

  it("decides at most once per interval", () => {
    const { auto } = controller({ startRate: 10, startFactor: 2, intervalMs: 1000 });
    healthySecond(auto, 500);
    expect(auto.rate).to.equal(10);
    healthySecond(auto, 1000);
    expect(auto.rate).to.equal(20);
    healthySecond(auto, 1500);
    expect(auto.rate).to.equal(20);
  });

  it("does not raise when the job sent far less than the rate allowed", () => {
    const { auto } = controller({ startRate: 10 });
    auto.sent(2);
    auto.probed("b", { ok: true, ms: 10 });
    expect(auto.update(SECOND)).to.equal(undefined);
    expect(auto.rate).to.equal(10);
  });

  it("does not raise without fresh news from a probed target", () => {
    const { auto } = controller({ startRate: 10, startFactor: 2 });
    healthySecond(auto, SECOND);
    expect(auto.rate).to.equal(20);
    auto.sent(20); // no probe result in this interval
    expect(auto.update(2 * SECOND)).to.equal(undefined);
    expect(auto.rate).to.equal(20);
  });

  it("cuts when the probe is slow twice running, by how far over its limit, then grows by steps", () => {
    const { auto, events } = controller({ startRate: 40, startFactor: 1.5, cutFactor: 0.5, stepFraction: 0.1, coolDownMs: 0 });
    healthySecond(auto, SECOND, 10); // baseline 10 ms, limit 210 ms; 40 → 60
    expect(healthySecond(auto, 2 * SECOND, 900)).to.equal(undefined); // the lower of the last two (10, 900) is fine: hold
    const cut = healthySecond(auto, 3 * SECOND, 900);
    expect(cut).to.include({ change: "cut", cause: "probe-latency", previous: 60, rate: 30 }); // 210/900 < 0.5: the deepest cut
    expect(cut?.reason).to.equal("login probe to b took 900 ms (best 10 ms)");
    healthySecond(auto, 4 * SECOND, 40); // the 900 ms answers went out before the cut: 40 alone counts
    expect(auto.rate).to.equal(33); // a short queue (over an eighth of the limit, under a quarter): +10 % after the first cut
    expect(events.at(-1)?.cause).to.equal("targets-keep-up");
  });

  it("after a cut, multiplies again while the probes show no queue at all", () => {
    const { auto } = controller({ startRate: 40, startFactor: 2, stepFraction: 0.1, coolDownMs: 0 });
    healthySecond(auto, SECOND, 10); // limit 210 ms, an eighth of the way 35 ms, a quarter 60 ms; 40 → 80
    healthySecond(auto, 2 * SECOND, 900);
    healthySecond(auto, 3 * SECOND, 900); // cut to 40
    healthySecond(auto, 4 * SECOND, 12);
    expect(auto.rate).to.equal(80);
    healthySecond(auto, 5 * SECOND, 40); // a short queue: by steps again
    expect(auto.rate).to.equal(88);
  });

  it("cuts mildly when the probe is just over its limit", () => {
    const { auto } = controller({ startRate: 100, startFactor: 2, probeSlackMs: 200 });
    healthySecond(auto, SECOND, 10); // limit 210 ms; 100 → 200
    healthySecond(auto, 2 * SECOND, 300);
    expect(healthySecond(auto, 3 * SECOND, 300)).to.include({ change: "cut", previous: 200, rate: 140 }); // × 210/300
  });

  it("holds the rate while the probe shows a queue under the limit (the target works at capacity)", () => {
    const { auto, events } = controller({ startRate: 50, startFactor: 2, probeSlackMs: 200 });
    healthySecond(auto, SECOND, 10); // limit 210 ms, a quarter of the way 60 ms
    for (let s = 2; s <= 6; s++) healthySecond(auto, s * SECOND, 150);
    expect(auto.rate).to.equal(100);
    expect(events.map((e) => e.change)).to.deep.equal(["start", "raise"]);
    healthySecond(auto, 7 * SECOND, 20);
    healthySecond(auto, 8 * SECOND, 20);
    expect(auto.rate).to.equal(400); // headroom again: doubling, as no cut came yet
  });

  it("eases off when two answers in the hold band show the queue still growing", () => {
    const { auto, events } = controller({ startRate: 100, startFactor: 2, probeSlackMs: 200 });
    healthySecond(auto, SECOND, 10); // limit 210 ms, hold band from 60 ms; 100 → 200
    healthySecond(auto, 2 * SECOND, 150);
    expect(auto.rate).to.equal(200); // one answer in the band: hold
    const eased = healthySecond(auto, 3 * SECOND, 180);
    expect(eased).to.include({ change: "cut", cause: "probe-latency", reason: "login probe to b grows: 150 → 180 ms (best 10 ms)", rate: 170 });
    healthySecond(auto, 4 * SECOND, 120);
    healthySecond(auto, 5 * SECOND, 100); // shrinking in the band: hold
    expect(auto.rate).to.equal(170);
    expect(events.filter((e) => e.change === "cut")).to.have.length(1);
  });

  it("eases off by the mildest cut however fast two answers in the hold band grow (a deeper cut waits for the limit)", () => {
    const { auto } = controller({ startRate: 200, startFactor: 2, probeSlackMs: 200 });
    healthySecond(auto, SECOND, 5); // limit 205 ms, hold band from 55 ms; 200 → 400
    // the wait grows by 120 ms in 200 ms (g = 0.6), both answers still under the limit
    auto.probing("b", 1000);
    auto.probed("b", { ok: true, ms: 80 });
    auto.probing("b", 1200);
    auto.probed("b", { ok: true, ms: 200 });
    auto.sent(200);
    expect(auto.update(1500)).to.include({ change: "cut", cause: "probe-latency", reason: "login probe to b grows: 80 → 200 ms (best 5 ms)", rate: 340 });
  });

  it("cuts on a probe unanswered for longer than its limit, before it answers, when the answer before was slow too", () => {
    const { auto } = controller({ startRate: 200, startFactor: 2, probeSlackMs: 200 });
    healthySecond(auto, SECOND, 5); // limit 205 ms; 200 → 400
    auto.probing("b", 1000);
    auto.probed("b", { ok: true, ms: 600 });
    auto.probing("b", 1200);
    auto.sent(200);
    expect(auto.update(1500)).to.include({ change: "cut", cause: "probe-latency", reason: "login probe to b has not answered in 300 ms (best 5 ms)" });
    expect(auto.rate).to.be.closeTo((400 * 205) / 300, 1e-9); // cut by limit / latency
  });

  it("cuts to what the target absorbs when two probes show how fast its queue grows, not just past the limit", () => {
    const { auto } = controller({ startRate: 200, startFactor: 2, probeSlackMs: 200 });
    healthySecond(auto, SECOND, 5); // limit 205 ms; 200 → 400
    // the wait grows by 150 ms in 250 ms: logins arrive 1.6× as fast as the target takes them (400/s against 250/s)
    auto.probing("b", 1000);
    auto.probed("b", { ok: true, ms: 250 });
    auto.probing("b", 1250);
    auto.probed("b", { ok: true, ms: 400 });
    auto.sent(200);
    expect(auto.update(1500)).to.include({ change: "cut", cause: "probe-latency", reason: "login probe to b took 250 ms (best 5 ms)" });
    // 400 / 1.6 = 250/s absorbed, and a tenth under it so the queue drains (by the latency alone: 400 × 205/250 = 328)
    expect(auto.rate).to.be.closeTo((400 * 0.9) / 1.6, 1e-9);
  });

  it("does not cut on one unanswered probe after a fast answer (one late answer may be the machine, not the target)", () => {
    const { auto } = controller({ startRate: 200, startFactor: 2, probeSlackMs: 200 });
    healthySecond(auto, SECOND, 5);
    auto.probing("b", 1000);
    auto.sent(200);
    expect(auto.update(1500)).to.equal(undefined);
    expect(auto.rate).to.equal(400);
  });

  it("after a cut, cuts again only while the target's queue does not shrink", () => {
    const { auto } = controller({ startRate: 400, startFactor: 2, probeSlackMs: 200, coolDownMs: 1000, intervalMs: 500 });
    const probe = (sentAt: number, ms: number) => {
      auto.probing("b", sentAt);
      auto.probed("b", { ok: true, ms });
    };
    probe(0, 5);
    auto.sent(400);
    auto.update(1000); // healthy: 400 → 800
    probe(1000, 1000);
    probe(1100, 1000);
    auto.sent(400);
    expect(auto.update(1500)).to.include({ change: "cut", rate: 400 });
    // probes sent after the cut: the queue shrinks (900, then 700 ms) — no second cut
    probe(1600, 900);
    probe(1700, 900);
    auto.sent(200);
    expect(auto.update(2600)).to.equal(undefined);
    probe(2700, 700);
    probe(2800, 700);
    auto.sent(200);
    expect(auto.update(3600)).to.equal(undefined);
    expect(auto.rate).to.equal(400);
    // it grows again (800 ms): cut
    probe(3700, 800);
    probe(3800, 800);
    auto.sent(200);
    expect(auto.update(4600)).to.include({ change: "cut", previous: 400 });
  });

  it("after a cut, takes the first slow probe for the queue the cut left, and a probe still out for the same news", () => {
    const { auto, events } = controller({ startRate: 400, probeSlackMs: 200, coolDownMs: 0, intervalMs: 500 });
    const probe = (sentAt: number, ms: number) => {
      auto.probing("b", sentAt);
      auto.probed("b", { ok: true, ms });
    };
    probe(0, 5);
    probe(600, 600);
    auto.probing("b", 1200);
    auto.sent(400);
    auto.update(1500); // 600 ms and one out for 300 ms: cut
    expect(events.filter((e) => e.change === "cut")).to.have.length(1);
    auto.probing("b", 1600); // sent after the cut, behind what the cut left
    for (const at of [2000, 2500, 3000]) {
      auto.sent(100);
      auto.update(at); // out 400, 900, 1400 ms: older by itself, no new news
    }
    expect(events.filter((e) => e.change === "cut")).to.have.length(1);
    auto.probed("b", { ok: true, ms: 1500 });
    probe(3100, 1600); // a later probe, no faster: the queue does not shrink
    auto.sent(100);
    expect(auto.update(3500)).to.include({ change: "cut" });
  });

  it("ignores probes that went out before the last cut", () => {
    const { auto } = controller({ startRate: 100, coolDownMs: 0 });
    auto.probing("b", 0);
    auto.probed("b", { ok: true, ms: 5 });
    auto.probing("b", 900); // out before the cut at 1 s …
    auto.sent(100);
    auto.probed("b", { ok: false, reason: "timeout" });
    auto.update(SECOND); // cut to 50
    expect(auto.rate).to.equal(50);
    auto.probing("b", 950);
    auto.sent(50);
    auto.probed("b", { ok: true, ms: 2000 }); // … and this one too: it tells of the load before the cut
    expect(auto.update(2 * SECOND)).to.equal(undefined);
    expect(auto.rate).to.equal(50);
  });

  it("tolerates small absolute slow-downs of a fast target (probeSlackMs)", () => {
    const { auto } = controller({ startRate: 10, startFactor: 2, probeFactor: 4, probeSlackMs: 200 });
    healthySecond(auto, SECOND, 2);
    healthySecond(auto, 2 * SECOND, 150);
    healthySecond(auto, 3 * SECOND, 150); // 75× the best, but only 148 ms more: no cut (a hold: it is more than a quarter of the way)
    expect(auto.rate).to.equal(20);
  });

  it("cuts when a probe fails, and not again during the cool-down", () => {
    const { auto, events } = controller({ startRate: 64, coolDownMs: 3000 });
    auto.probed("b", { ok: false, reason: "connection refused" });
    expect(auto.update(SECOND)).to.include({ cause: "probe-failed", rate: 32, reason: "login probe to b failed: connection refused" });
    auto.probed("b", { ok: false, reason: "connection refused" });
    expect(auto.update(2 * SECOND)).to.equal(undefined);
    expect(auto.rate).to.equal(32);
    auto.probed("b", { ok: false, reason: "connection refused" });
    auto.update(4 * SECOND);
    expect(auto.rate).to.equal(16);
    expect(events.filter((e) => e.change === "cut")).to.have.length(2);
  });

  it("never goes below the minimum rate", () => {
    const { auto } = controller({ startRate: 4, minRate: 2, coolDownMs: 0 });
    for (let s = 1; s <= 5; s++) {
      auto.probed("b", { ok: false, reason: "timeout" });
      auto.update(s * SECOND);
    }
    expect(auto.rate).to.equal(2);
  });

  it("cuts when moved sessions take longer than the budget to appear on their target", () => {
    const { auto } = controller({ startRate: 20, tracksAppearance: true, appearanceBudgetMs: 5000 });
    auto.sent(20);
    for (let i = 0; i < 10; i++) auto.appeared(i < 8 ? 800 : 9000, 900);
    auto.forget(10);
    expect(auto.update(SECOND)).to.include({ cause: "appearance-latency", rate: 10 });
  });

  it("forgets appearance samples older than the window", () => {
    const { auto } = controller({ startRate: 20, startFactor: 2, tracksAppearance: true, windowMs: 1000, coolDownMs: 0 });
    auto.sent(20);
    for (let i = 0; i < 20; i++) auto.appeared(9000, 500);
    auto.update(SECOND); // cut to 10
    auto.sent(10);
    for (let i = 0; i < 10; i++) auto.appeared(100, 1900);
    auto.update(2 * SECOND);
    expect(auto.rate).to.equal(12.5); // the slow samples are out of the window: a step up (+25 %), not another cut
  });

  it("cuts when more moved users are still away than the rate should leave out", () => {
    const { auto } = controller({ startRate: 20, tracksAppearance: true, appearanceBudgetMs: 5000 });
    auto.sent(150); // 20/s × 5 s = 100 expected on their way at most
    expect(auto.notBack).to.equal(150);
    expect(auto.update(SECOND)).to.include({ cause: "not-back", reason: "150 moved users not back yet (more than 5 s of sending)" });
  });

  it("rejects settings that cannot work, naming the field", () => {
    expect(() => new AutoRate({ maxRate: 0 })).to.throw(InputError, "--max-rate");
    expect(() => new AutoRate({ minRate: 5, maxRate: 2 })).to.throw(InputError, "--max-rate");
    expect(() => new AutoRate({ cutFactor: 1 })).to.throw(InputError, "cutFactor");
    expect(() => new AutoRate({ startRate: Number.NaN })).to.throw(InputError, "startRate");
  });

  it("settles near what a saturating target absorbs (simulated target, 100 logins/s)", () => {
    // A target that completes `capacity` logins per second; the rest queue. Both the probe and the
    // appearance latency grow with the queue, as a single-core server busy with SCRAM would show.
    const capacity = 100;
    const { auto } = controller({ startRate: 10, maxRate: 10_000, tracksAppearance: true, coolDownMs: 3000 });
    let queue = 0;
    const rates: number[] = [];
    for (let s = 1; s <= 120; s++) {
      const sent = Math.floor(auto.rate);
      auto.sent(sent);
      queue += sent;
      const served = Math.min(queue, capacity);
      queue -= served;
      const latency = (queue / capacity) * 1000 + 50;
      for (let i = 0; i < served; i++) auto.appeared(latency, s * SECOND);
      auto.probed("b", { ok: true, ms: 5 + (queue / capacity) * 1000 });
      auto.update(s * SECOND);
      rates.push(auto.rate);
    }
    const last60 = rates.slice(-60);
    const mean = last60.reduce((a, b) => a + b, 0) / last60.length;
    expect(mean).to.be.within(capacity * 0.5, capacity * 1.3);
    expect(Math.max(...last60)).to.be.below(capacity * 2);
  });

  describe("a reconnect storm on a simulated single-core target (N = 500, 100 logins/s)", () => {
    // The target serves logins one after the other, 10 ms each on average but slower and faster by
    // turns (its core is shared: 6.7 to 20 ms); a login probe waits behind the queued logins (as on
    // a busy single-core server) and every fifth answer is 300 ms late for other reasons (a loaded
    // machine). Fixed rates are swept as the bench does; the figures compare within a run.
    interface StormRun {
      totalMs: number;
      p95: number;
      peakRate: number;
    }

    function storm(pace: number | Partial<AutoRateOptions>): StormRun {
      const n = 500;
      const loginMs = (t: number) => 10 / (1 + 0.5 * Math.sin((2 * Math.PI * t) / 2000));
      const tickMs = 10;
      const auto = typeof pace === "number" ? undefined : new AutoRate(pace);
      let serverFree = 0;
      let tokens = 1;
      let sent = 0;
      const latencies: number[] = [];
      let firstArrival = Infinity;
      let lastDone = 0;
      let probe: { sentAt: number; answerAt: number } | undefined;
      let nextProbeAt = 0;
      let probes = 0;
      let peakRate = 0;
      for (let t = 0; latencies.length < n; t += tickMs) {
        if (auto) {
          if (probe && t >= probe.answerAt) {
            auto.probed("b", { ok: true, ms: probe.answerAt - probe.sentAt });
            nextProbeAt = probe.sentAt + 250;
            probe = undefined;
          }
          if (!probe && t >= nextProbeAt) {
            auto.probing("b", t);
            const noise = ++probes % 5 === 0 ? 300 : 0;
            probe = { sentAt: t, answerAt: Math.max(t, serverFree) + 2 + noise };
          }
          if (probes === 1) continue; // no sending before the baseline
          auto.update(t);
        }
        const rate = auto ? auto.rate : pace as number;
        peakRate = Math.max(peakRate, rate);
        const perTick = (rate * tickMs) / 1000;
        tokens = Math.min(Math.max(auto ? 10 : 1, perTick), tokens + perTick);
        while (tokens >= 1 && sent < n) {
          tokens -= 1;
          sent++;
          auto?.sent();
          firstArrival = Math.min(firstArrival, t);
          const start = Math.max(t, serverFree);
          serverFree = start + loginMs(start);
          latencies.push(serverFree - t);
          lastDone = serverFree;
        }
      }
      const sorted = [...latencies].sort((a, b) => a - b);
      return { totalMs: lastDone - firstArrival, p95: sorted[Math.floor(0.95 * n)] as number, peakRate };
    }

    const bestFixed = (): StormRun => [100, 200, 300, 400].map((rate) => storm(rate)).sort((a, b) => a.totalMs - b.totalMs)[0] as StormRun;

    it("finishes within 1.3× the best fixed rate's time, with a p95 login latency no worse", () => {
      const best = bestFixed();
      const auto = storm({ maxRate: 1000 });
      expect(auto.totalMs / best.totalMs).to.be.at.most(1.3);
      expect(auto.p95).to.be.at.most(best.p95);
    });

    it("stays at or under --max-rate", () => {
      expect(storm({ maxRate: 120 }).peakRate).to.be.at.most(120);
    });

    it("the former settings (from 50/s doubling, 1 s decisions, +10 % steps, 3 s cool-down, every answer judged alone) miss the time target", () => {
      const best = bestFixed();
      const former = storm({ maxRate: 1000, startRate: 50, startFactor: 2, intervalMs: 1000, stepFraction: 0.1, coolDownMs: 3000, probeSamples: 1 });
      expect(former.totalMs / best.totalMs).to.be.above(1.3);
    });
  });
});
