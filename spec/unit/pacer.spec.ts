import { expect } from "chai";
import { Pacer, type Clock } from "../../lib/jobs/pacer.ts";

/** A clock that only moves when someone sleeps, so the spec measures the pacer, not the machine. */
function fakeClock(): Clock & { t: number } {
  const clock = {
    t: 0,
    now: () => clock.t,
    sleep: async (ms: number) => {
      clock.t += ms;
    },
  };
  return clock;
}

function maxInAnyWindow(times: number[], windowMs: number): number {
  let best = 0;
  for (let i = 0; i < times.length; i++) {
    const start = times[i] as number;
    best = Math.max(best, times.filter((t) => t >= start && t < start + windowMs).length);
  }
  return best;
}

describe("Pacer", () => {
  it("never exceeds rate + burst in any one-second window", async () => {
    const clock = fakeClock();
    const pacer = new Pacer({ rate: 10, burst: 5, jitter: 0.3, maxInFlight: 1000 }, clock);
    const times: number[] = [];
    for (let i = 0; i < 100; i++) {
      await pacer.token();
      times.push(clock.t);
    }
    expect(maxInAnyWindow(times, 1000)).to.be.at.most(15);
    // and it does not crawl: 100 tokens at 10/s take about 10 s (jitter stretches up to 30%)
    expect(clock.t).to.be.within(9000, 13500);
  });

  it("keeps the rate with --burst 1 when every timer wakes late: the oversleep is caught up, never more than 2 at once", async () => {
    // Node's timers fire a millisecond or more late; at 400/s a token is due every 2.5 ms
    const clock = { t: 0, now: () => clock.t, sleep: async (ms: number) => void (clock.t += ms + 1.3) };
    const pacer = new Pacer({ rate: 400, burst: 1, jitter: 0.2, maxInFlight: 1000 }, clock);
    const times: number[] = [];
    for (let i = 0; i < 400; i++) {
      await pacer.token();
      times.push(clock.t);
    }
    // 400 tokens at 400/s: about a second (it took ≈2.2 s when each late wake-up lost its overshoot)
    expect(clock.t).to.be.within(950, 1150);
    expect(maxInAnyWindow(times, 0.001)).to.be.at.most(2);
    expect(maxInAnyWindow(times, 1000)).to.be.at.most(401);
  });

  it("lets the first burst go at once", async () => {
    const clock = fakeClock();
    const pacer = new Pacer({ rate: 1, burst: 4, jitter: 0, maxInFlight: 10 }, clock);
    for (let i = 0; i < 4; i++) await pacer.token();
    expect(clock.t).to.equal(0);
    await pacer.token();
    expect(clock.t).to.equal(1000);
  });

  it("does not wait at all when the rate is unlimited", async () => {
    const clock = fakeClock();
    const pacer = new Pacer({ rate: Infinity, burst: 1, jitter: 0, maxInFlight: 10 }, clock);
    for (let i = 0; i < 1000; i++) await pacer.token();
    expect(clock.t).to.equal(0);
  });

  it("holds the n+1-th transfer until one in flight is released", async () => {
    const pacer = new Pacer({ rate: Infinity, burst: 1, jitter: 0, maxInFlight: 2 });
    await pacer.slot();
    await pacer.slot();
    let third = false;
    const waiting = pacer.slot().then(() => (third = true));
    await new Promise((r) => setImmediate(r));
    expect(third).to.equal(false);
    pacer.release();
    await waiting;
    expect(third).to.equal(true);
    expect(pacer.active).to.equal(2);
  });

  it("tryToken and trySlot take what is there without waiting, and never jump the queue", async () => {
    const clock = fakeClock();
    const pacer = new Pacer({ rate: 1, burst: 2, jitter: 0, maxInFlight: 1 }, clock);
    expect([pacer.tryToken(), pacer.tryToken(), pacer.tryToken()]).to.deep.equal([true, true, false]);
    expect([pacer.trySlot(), pacer.trySlot()]).to.deep.equal([true, false]);
    const waiting = pacer.slot();
    pacer.release();
    // the freed slot belongs to the caller that waited for it
    expect(pacer.trySlot()).to.equal(false);
    await waiting;
    expect(pacer.active).to.equal(1);
  });

  it("setRate paces by the new rate from the next token on (--rate auto)", async () => {
    const clock = fakeClock();
    const pacer = new Pacer({ rate: 1, burst: 1, jitter: 0, maxInFlight: 10 }, clock);
    await pacer.token();
    pacer.setRate(100);
    const before = clock.t;
    for (let i = 0; i < 10; i++) await pacer.token();
    expect(clock.t - before).to.be.within(90, 110);
    expect(pacer.rate).to.equal(100);
  });

  it("rejects waiting callers when the job is cancelled", async () => {
    const pacer = new Pacer({ rate: 0.001, burst: 1, jitter: 0, maxInFlight: 1 });
    const controller = new AbortController();
    await pacer.token(controller.signal);
    const pending = pacer.token(controller.signal);
    controller.abort();
    let error: unknown;
    await pending.catch((e: unknown) => (error = e));
    expect(error).to.have.property("exitCode", 130);
  });
});
