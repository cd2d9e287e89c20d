import { expect } from "chai";
import type { Element } from "@xmpp/xml";
import { CommandError, StanzaError } from "../../lib/errors.ts";
import type { Link } from "../../lib/link/link.ts";
import { TransferJob, type JobEvent, type TransferJobOptions } from "../../lib/jobs/runner.ts";
import type { ServerAdmin } from "../../lib/servers/server-admin.ts";
import type { LiveSession } from "../../lib/xmpp/admin.ts";
import { parseTargets } from "../../lib/jobs/targets.ts";

type Behaviour = "moves" | "ignores" | "rejects";

/** An in-process node: sessions that react to packets as told, an admin that lists and kicks them. */
function fakeNode(behaviour: Record<string, Behaviour>) {
  const online = new Set(Object.keys(behaviour));
  const packets: string[] = [];
  const kicks: string[] = [];
  let failScan: Error | undefined;
  const react = (iq: Element) => {
    const to = String(iq.attrs.to);
    packets.push(to);
    if (behaviour[to] === "moves") setTimeout(() => online.delete(to), 20);
  };
  const link = {
    component: "cxfr.localhost",
    state: "online",
    send: async (iq: Element) => react(iq),
    exchange: (iq: Element) => {
      react(iq);
      const rejects = behaviour[String(iq.attrs.to)] === "rejects";
      return { written: Promise.resolve(), reply: rejects ? Promise.reject(new StanzaError("service-unavailable", "cancel")) : Promise.resolve(iq) };
    },
    waitOnline: async () => undefined,
    on: () => undefined,
  } as unknown as Link;
  const admin = {
    listSessions: async (): Promise<LiveSession[]> => {
      if (failScan) throw failScan;
      return [...online].map((jid) => ({ jid, bare: jid.split("/")[0] as string, resource: jid.split("/")[1] as string }));
    },
    endSession: async (jid: string) => {
      kicks.push(jid);
      online.delete(jid);
    },
    announce: async () => undefined,
  } as unknown as ServerAdmin;
  return { online, packets, kicks, link, admin, failScanWith: (err: Error) => (failScan = err), login: (jid: string, b: Behaviour) => {
    behaviour[jid] = b;
    online.add(jid);
  } };
}

function job(node: ReturnType<typeof fakeNode>, overrides: Partial<TransferJobOptions> = {}) {
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
    graceMs: 200,
    fallback: "kick",
    follow: true,
    dryRun: false,
    scanIntervalMs: 30,
    signal: new AbortController().signal,
    onEvent: (e) => events.push(e),
    ...overrides,
  });
  return { j, events };
}

describe("TransferJob (fake node)", function () {
  this.timeout(5000);

  it("counts moved, kicked and rejected sessions from observation", async () => {
    const node = fakeNode({ "a@localhost/1": "moves", "b@localhost/1": "ignores", "c@localhost/1": "rejects" });
    const { j, events } = job(node);
    const summary = await j.run();
    expect(summary).to.include({ targeted: 3, moved: 1, kicked: 2, failed: 0, remaining: 0 });
    expect(node.kicks.sort()).to.deep.equal(["b@localhost/1", "c@localhost/1"]);
    const rejectedKick = events.find((e) => e.event === "kicked" && e.jid === "c@localhost/1");
    const ignoredKick = events.find((e) => e.event === "kicked" && e.jid === "b@localhost/1");
    // the rejecting client is kicked without waiting out the grace
    expect(Number(rejectedKick?.after_ms)).to.be.below(150);
    expect(Number(ignoredKick?.after_ms)).to.be.at.least(200);
  });

  it("ends at the deadline even while sessions are still in their grace", async () => {
    const node = fakeNode({ "a@localhost/1": "ignores" });
    const { j } = job(node, { graceMs: 60_000, deadlineMs: 300, fallback: "none" });
    const started = Date.now();
    const summary = await j.run();
    expect(Date.now() - started).to.be.below(2000);
    expect(summary).to.include({ targeted: 1, remaining: 1, kicked: 0 });
  });

  it("takes on a session that logs in again after it was kicked, as a new target", async () => {
    const node = fakeNode({ "a@localhost/1": "ignores" });
    let relogged = false;
    const { j } = job(node, {
      onEvent: (e) => {
        if (e.event === "kicked" && !relogged) {
          relogged = true;
          setTimeout(() => node.login("a@localhost/1", "moves"), 10);
        }
      },
    });
    const summary = await j.run();
    expect(summary).to.include({ targeted: 2, moved: 1, kicked: 1 });
    expect(node.packets).to.deep.equal(["a@localhost/1", "a@localhost/1"]);
  });

  it("fails instead of hanging when the node can no longer be listed", async () => {
    const node = fakeNode({ "a@localhost/1": "ignores" });
    const { j } = job(node, { graceMs: 60_000 });
    setTimeout(() => node.failScanWith(new CommandError("get-online-users-list", "forbidden")), 100);
    let error: unknown;
    await j.run().catch((e: unknown) => (error = e));
    expect(error).to.be.instanceOf(CommandError);
  });

  it("ends sessions without a packet when only kicking is allowed", async () => {
    const node = fakeNode({ "a@localhost/1": "moves", "b@localhost/1": "ignores" });
    const { j } = job(node, { sendPackets: false, graceMs: 60_000 });
    const summary = await j.run();
    expect(node.packets).to.deep.equal([]);
    expect(node.kicks.sort()).to.deep.equal(["a@localhost/1", "b@localhost/1"]);
    expect(summary).to.include({ targeted: 2, kicked: 2 });
  });

  it("plans without sending anything on a dry run", async () => {
    const node = fakeNode({ "a@localhost/1": "moves", "b@localhost/1": "moves" });
    const { j, events } = job(node, { dryRun: true });
    const summary = await j.run();
    expect(node.packets).to.deep.equal([]);
    expect(events.filter((e) => e.event === "planned").map((e) => e.target)).to.deep.equal(["b.example.com:5222", "b.example.com:5222"]);
    expect(summary).to.include({ targeted: 2, moved: 0, remaining: 2 });
  });
});
