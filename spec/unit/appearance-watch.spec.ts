import { expect } from "chai";
import { watchAppearances, type Awaited } from "../../lib/jobs/appearance-watch.ts";
import type { LiveSession } from "../../lib/xmpp/admin.ts";
import { FakeClock } from "./support/fake-clock.ts";

const session = (jid: string): LiveSession => ({ jid, bare: jid.split("/")[0] as string, resource: jid.split("/")[1] as string });

/** A target node whose listing is whatever `online` holds when it is read. */
function target(initial: string[]) {
  const online = new Set(initial);
  let reads = 0;
  return {
    online,
    reads: () => reads,
    list: async () => {
      reads++;
      return [...online].map(session);
    },
  };
}

describe("appearance watch (--rate auto on configured target nodes)", () => {
  it("reports a moved user once it is listed on a target, with the time since its method, within a listing round", async () => {
    const clock = new FakeClock();
    const b = target([]);
    const back: Array<[string, number]> = [];
    const watch = watchAppearances({ listings: [b.list], clock, onBack: (u: Awaited, ms: number) => back.push([u.jid, ms]), onGiveUp: () => undefined });
    await clock.run(watch.ready);
    watch.expect({ jid: "ann@example.com/phone", bare: "ann@example.com" });
    clock.at(1200, () => b.online.add("Ann@Example.com/phone")); // listed in another case: the same user
    await clock.run(new Promise<void>((resolve) => clock.at(3000, resolve)));
    watch.stop();
    expect(back).to.have.length(1);
    expect(back[0]?.[0]).to.equal("ann@example.com/phone");
    // seen by the first round after it logged in: rounds are 0.5 s apart
    expect(back[0]?.[1]).to.be.within(1200, 1700);
  });

  it("another device of the account, on the target all along, is not the moved user; a new resource of it is", async () => {
    const clock = new FakeClock();
    const b = target(["bob@example.com/desktop"]);
    const back: string[] = [];
    const watch = watchAppearances({ listings: [b.list], clock, onBack: (u: Awaited) => back.push(u.jid), onGiveUp: () => undefined });
    await clock.run(watch.ready);
    watch.expect({ jid: "bob@example.com/phone", bare: "bob@example.com" });
    await clock.run(new Promise<void>((resolve) => clock.at(2000, resolve)));
    expect(back).to.deep.equal([]);
    b.online.add("bob@example.com/phone-2"); // the client came back with a resource the server chose
    await clock.run(new Promise<void>((resolve) => clock.at(1000, resolve)));
    watch.stop();
    expect(back).to.deep.equal(["bob@example.com/phone"]);
  });

  it("gives up on a user not back within its time, and lists nothing while no one is awaited", async () => {
    const clock = new FakeClock();
    const b = target([]);
    const gaveUp: string[] = [];
    const watch = watchAppearances({ listings: [b.list], clock, giveUpMs: 5000, onBack: () => undefined, onGiveUp: (u: Awaited) => gaveUp.push(u.jid) });
    await clock.run(watch.ready);
    const baseline = b.reads();
    await clock.run(new Promise<void>((resolve) => clock.at(3000, resolve)));
    expect(b.reads()).to.equal(baseline);
    watch.expect({ jid: "cy@example.com/x", bare: "cy@example.com" });
    await clock.run(new Promise<void>((resolve) => clock.at(8000, resolve)));
    watch.stop();
    expect(gaveUp).to.deep.equal(["cy@example.com/x"]);
  });

  it("a target whose listing fails counts as showing nobody that round; the others still count", async () => {
    const clock = new FakeClock();
    const b = target([]);
    const back: string[] = [];
    const failing = async (): Promise<LiveSession[]> => {
      throw new Error("listing refused");
    };
    const watch = watchAppearances({ listings: [failing, b.list], clock, onBack: (u: Awaited) => back.push(u.jid), onGiveUp: () => undefined });
    await clock.run(watch.ready);
    watch.expect({ jid: "di@example.com/x", bare: "di@example.com" });
    b.online.add("di@example.com/x");
    await clock.run(new Promise<void>((resolve) => clock.at(1000, resolve)));
    watch.stop();
    expect(back).to.deep.equal(["di@example.com/x"]);
  });
});
