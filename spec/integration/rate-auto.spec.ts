import { expect } from "chai";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startServer, type LabServer } from "../support/lab/index.ts";
import { fleetUsers, startFleet, stopFleet, type FleetMember } from "../support/fleet.ts";
import { nodeEnv, runCli } from "../support/cli.ts";
import { specTempDir } from "../support/temp-dir.ts";

describe("cxfr drain --rate auto between two real Prosody nodes", function () {
  this.timeout(120_000);
  let a: LabServer;
  let b: LabServer;
  let fleet: FleetMember[] = [];

  before(async () => {
    const users = fleetUsers(30);
    [a, b] = await Promise.all([startServer({ kind: "prosody", name: "rate-auto-a", users }), startServer({ kind: "prosody", name: "rate-auto-b", users })]);
  });
  after(async () => {
    await stopFleet(fleet);
    await Promise.all([a?.stop(), b?.stop()]);
  });

  it("drains the node paced by login probes against the target, and says in --json what rate it used and why", async () => {
    fleet = await startFleet({ on: a, reconnectTo: [b], handlers: 20, plain: 5, trusted: [a.component] });
    const result = await runCli(["drain", "--to", b.c2sAddress, "--rate", "auto", "--max-rate", "30", "--grace", "2s", "--json"], nodeEnv(a));
    expect(result.code, result.stderr).to.equal(0);
    expect(result.events.at(-1)).to.include({ event: "summary", targeted: 25, moved: 20, kicked: 5, failed: 0, remaining: 0 });

    const rates = result.events.filter((e) => e.event === "rate");
    expect(rates[0]).to.include({ change: "start", cause: "start", rate: 30, reason: "starting at 30/s" });
    for (const e of rates) {
      expect(Number(e.rate)).to.be.within(1, 30);
      expect(e.reason).to.be.a("string").and.not.equal("");
    }
    // the first packet waits for the probes' baseline: the start event comes before it
    const firstSent = result.events.findIndex((e) => e.event === "sent");
    expect(result.events.indexOf(rates[0] as Record<string, unknown>)).to.be.below(firstSent);
  });

  it("to a configured node: each user sent on is reported once back on the target (`back`, after_ms after its packet)", async () => {
    await stopFleet(fleet);
    fleet = await startFleet({ on: a, reconnectTo: [b], handlers: 8, plain: 2, trusted: [a.component], firstUser: 21 });
    const dir = specTempDir("cxfr-rate-auto");
    try {
      const config = join(dir, "cxfr.yml");
      const node = (name: string, s: LabServer) => [`  - name: ${name}`, `    server: "${s.componentAddress}"`, `    component: ${s.component}`, `    secret: "${s.secret}"`, `    public: "${s.c2sAddress}"`];
      writeFileSync(config, [`domain: ${a.domain}`, `journal: ${join(dir, "cxfr.db")}`, "nodes:", ...node("a", a), ...node("b", b), ""].join("\n"));
      const result = await runCli(["--config", config, "drain", "--node", "a", "--to", "b", "--rate", "auto", "--max-rate", "30", "--grace", "3s", "--json"], { PATH: process.env.PATH, HOME: process.env.HOME });
      expect(result.code, result.stderr).to.equal(0);
      expect(result.events.at(-1)).to.include({ event: "summary", targeted: 10, moved: 8, kicked: 2 });
      const moved = result.events.filter((e) => e.event === "moved").map((e) => String(e.jid));
      const back = new Map(result.events.filter((e) => e.event === "back").map((e) => [String(e.jid), Number(e.after_ms)]));
      expect(back.size).to.equal(result.events.filter((e) => e.event === "back").length, "each user once");
      // every moved user logs in to b within a second or two (the job runs on through the others' grace); the two
      // that ignored the packet come back too, on their own, once kicked: they were awaited since their packet
      for (const jid of moved) expect(back.get(jid), jid).to.be.within(0, 3000);
      expect([...back.keys()].every((jid) => fleet.some((m) => m.jid === jid))).to.equal(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("refuses --max-rate without --rate auto, naming the flag (exit 2)", async () => {
    const result = await runCli(["drain", "--to", b.c2sAddress, "--max-rate", "30", "--json"], nodeEnv(a));
    expect(result.code).to.equal(2);
    expect(result.stderr).to.match(/--max-rate/);
  });
});
