import { expect } from "chai";
import { startServer, loginClient, type LabServer, type ServerKind } from "../support/lab/index.ts";
import { fleetUsers, percentile, startFleet, stopFleet, type FleetMember } from "../support/fleet.ts";
import { nodeEnv, runCli, startCli } from "../support/cli.ts";
import { startProxy } from "../support/proxy.ts";

const USERS_PER_TEST = 40;
const TESTS = 12;

async function until(what: string, test: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await test())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function listed(server: LabServer): Promise<string[]> {
  const result = await runCli(["sessions", "--json"], nodeEnv(server));
  if (result.code !== 0) throw new Error(`cxfr sessions failed: ${result.stderr}`);
  return result.events.map((e) => String(e.jid));
}

function summaryOf(events: Array<Record<string, unknown>>): Record<string, unknown> {
  const summary = events.at(-1);
  expect(summary?.event).to.equal("summary");
  return summary as Record<string, unknown>;
}

for (const kind of ["prosody", "ejabberd"] as ServerKind[]) {
  describe(`cxfr drain between two real ${kind} nodes`, function () {
    this.timeout(120_000);
    let a: LabServer;
    let b: LabServer;
    let fleet: FleetMember[] = [];
    let nextUser = 1;
    const takeUsers = (n: number) => {
      const first = nextUser;
      nextUser += n;
      return first;
    };

    before(async () => {
      const users = fleetUsers(USERS_PER_TEST * TESTS);
      [a, b] = await Promise.all([
        startServer({ kind, name: `${kind}-drain-a`, users }),
        startServer({ kind, name: `${kind}-drain-b`, users }),
      ]);
    });
    afterEach(async () => {
      await stopFleet(fleet);
      fleet = [];
    });
    after(async () => {
      await Promise.all([a?.stop(), b?.stop()]);
    });

    it("empties node A: handler clients move to B, plain clients are kicked after the grace and come back on B", async () => {
      fleet = await startFleet({ on: a, reconnectTo: [b], handlers: 15, plain: 15, trusted: [a.component], firstUser: takeUsers(30) });
      const result = await runCli(["drain", "--to", b.c2sAddress, "--grace", "3s", "--rate", "100", "--announce", "Node A <restarts> & comes back", "--json"], nodeEnv(a));
      expect(result.code, result.stderr).to.equal(0);
      for (const m of fleet) expect(m.headlines, m.jid).to.deep.equal(["Node A <restarts> & comes back"]);
      expect(summaryOf(result.events)).to.include({ kind: "drain", targeted: 30, moved: 15, kicked: 15, failed: 0, remaining: 0 });
      expect(await listed(a)).to.deep.equal([]);

      const handlers = fleet.filter((m) => m.kind === "handler");
      const plain = fleet.filter((m) => m.kind === "plain");
      for (const m of handlers) {
        expect(m.handler?.transfers, m.jid).to.equal(1);
        expect(m.port(), m.jid).to.equal(b.c2sPort);
      }
      const kicked = new Set(result.events.filter((e) => e.event === "kicked").map((e) => e.jid));
      expect([...kicked].sort()).to.deep.equal(plain.map((m) => m.jid).sort());
      for (const e of result.events.filter((ev) => ev.event === "kicked")) expect(Number(e.after_ms)).to.be.at.least(3000);
      await until("plain clients back on a node", () => plain.every((m) => m.port() === b.c2sPort));
      for (const m of fleet) expect(m.packets, m.jid).to.equal(1);

      const gaps = handlers.map((m) => (m.backOnlineAt as number) - (m.leftAt as number));
      console.log(`      ${kind}: handler clients offline gap (left A → online on B): median ${percentile(gaps, 50)} ms, p95 ${percentile(gaps, 95)} ms, n=${gaps.length}`);
      expect(gaps.every((g) => g >= 0)).to.equal(true);
    });

    it("kicks at once a client that answers the packet with an error (from the component)", async () => {
      fleet = await startFleet({ on: a, reconnectTo: [b], handlers: 1, plain: 2, trusted: [a.component], firstUser: takeUsers(3) });
      const result = await runCli(["drain", "--to", b.c2sAddress, "--grace", "20s", "--from", "component", "--json"], nodeEnv(a));
      expect(result.code, result.stderr).to.equal(0);
      expect(summaryOf(result.events)).to.include({ targeted: 3, moved: 1, kicked: 2 });
      const rejected = result.events.filter((e) => e.event === "rejected");
      expect(rejected.map((e) => e.condition)).to.deep.equal(["service-unavailable", "service-unavailable"]);
      expect(result.events.filter((e) => e.event === "acked")).to.have.length(1);
      for (const e of result.events.filter((ev) => ev.event === "kicked")) expect(Number(e.after_ms)).to.be.below(15_000);
    });

    it("--fallback none leaves plain clients on A and exits 1 with them counted as remaining", async () => {
      fleet = await startFleet({ on: a, reconnectTo: [b], handlers: 3, plain: 3, trusted: [a.component], firstUser: takeUsers(6) });
      const result = await runCli(["drain", "--to", b.c2sAddress, "--grace", "2s", "--fallback", "none", "--json"], nodeEnv(a));
      expect(result.code).to.equal(1);
      expect(summaryOf(result.events)).to.include({ targeted: 6, moved: 3, kicked: 0, remaining: 3 });
      const plain = fleet.filter((m) => m.kind === "plain");
      expect((await listed(a)).sort()).to.deep.equal(plain.map((m) => m.jid).sort());
      for (const m of plain) expect(m.port()).to.equal(a.c2sPort);
    });

    it("holds the pace: with --rate 10 --burst 2 no second sees more than 12 packets", async () => {
      fleet = await startFleet({ on: a, reconnectTo: [b], handlers: 30, plain: 0, trusted: [a.component], firstUser: takeUsers(30) });
      const result = await runCli(["drain", "--to", b.c2sAddress, "--rate", "10", "--burst", "2", "--jitter", "0", "--json"], nodeEnv(a));
      expect(result.code, result.stderr).to.equal(0);
      const sent = result.events.filter((e) => e.event === "sent").map((e) => Date.parse(String(e.ts)));
      expect(sent).to.have.length(30);
      for (const start of sent) expect(sent.filter((t) => t >= start && t < start + 1000).length).to.be.at.most(12);
      expect(Math.max(...sent) - Math.min(...sent)).to.be.at.least(2500);
    });

    it("--method kick ends the sessions without sending a packet", async () => {
      fleet = await startFleet({ on: a, reconnectTo: [b], handlers: 0, plain: 3, firstUser: takeUsers(3) });
      const result = await runCli(["drain", "--to", b.c2sAddress, "--method", "kick", "--json"], nodeEnv(a));
      expect(result.code, result.stderr).to.equal(0);
      expect(summaryOf(result.events)).to.include({ targeted: 3, moved: 0, kicked: 3 });
      expect(result.events.some((e) => e.event === "sent")).to.equal(false);
      for (const m of fleet) expect(m.packets, m.jid).to.equal(0);
      expect(await listed(a)).to.deep.equal([]);
    });

    it("--dry-run prints the plan and changes nothing on the server", async () => {
      fleet = await startFleet({ on: a, reconnectTo: [b], handlers: 2, plain: 2, trusted: [a.component], firstUser: takeUsers(4) });
      const before = (await listed(a)).sort();
      const result = await runCli(["drain", "--to", b.c2sAddress, "--dry-run", "--json"], nodeEnv(a));
      expect(result.code, result.stderr).to.equal(0);
      expect(result.events.filter((e) => e.event === "planned").map((e) => e.jid).sort()).to.deep.equal(fleet.map((m) => m.jid).sort());
      expect(result.events.some((e) => e.event === "sent" || e.event === "kick")).to.equal(false);
      await new Promise((r) => setTimeout(r, 500));
      expect((await listed(a)).sort()).to.deep.equal(before);
      for (const m of fleet) expect(m.packets).to.equal(0);
    });

    it("honours --exclude and drains a session that logs in during the drain", async () => {
      fleet = await startFleet({ on: a, reconnectTo: [b], handlers: 4, plain: 0, trusted: [a.component], firstUser: takeUsers(5) });
      const keep = fleet[0] as FleetMember;
      const lateUser = `u${nextUser - 1}`;
      const run = startCli(["drain", "--to", b.c2sAddress, "--exclude", keep.jid.split("/")[0] as string, "--rate", "2", "--burst", "1", "--grace", "3s", "--json"], nodeEnv(a));
      let late: Awaited<ReturnType<typeof loginClient>> | undefined;
      run.onLine((line) => {
        if (!late && line.includes('"event":"sent"')) {
          void loginClient(a, { user: lateUser, password: `pw-${lateUser}`, resource: "late", presence: {} }).then((c) => (late = c));
        }
      });
      const result = await run.done;
      try {
        expect(result.code, result.stderr).to.equal(0);
        expect(late, "late client logged in").to.not.equal(undefined);
        const outcomes = new Map(result.events.filter((e) => e.event === "moved" || e.event === "kicked").map((e) => [e.jid, e.event]));
        expect(outcomes.has(keep.jid)).to.equal(false);
        expect(outcomes.get(`${lateUser}@localhost/late`)).to.equal("kicked");
        expect(await listed(a)).to.deep.equal([keep.jid]);
        expect(keep.packets).to.equal(0);
      } finally {
        await late?.stop();
      }
    });

    it("stops cleanly on SIGTERM: no new packets, summary printed, exit 130", async () => {
      fleet = await startFleet({ on: a, reconnectTo: [b], handlers: 8, plain: 0, trusted: [a.component], firstUser: takeUsers(8) });
      const run = startCli(["drain", "--to", b.c2sAddress, "--rate", "1", "--burst", "1", "--json"], nodeEnv(a));
      let signalledAt = 0;
      run.onLine((line) => {
        if (!signalledAt && line.includes('"event":"sent"')) {
          signalledAt = Date.now();
          process.kill(run.pid, "SIGTERM");
        }
      });
      const result = await run.done;
      expect(result.code, result.stderr).to.equal(130);
      const summary = summaryOf(result.events);
      expect(Number(summary.remaining)).to.be.greaterThan(0);
      const sentAfter = result.events.filter((e) => e.event === "sent" && Date.parse(String(e.ts)) > signalledAt + 50);
      expect(sentAfter).to.deep.equal([]);
      expect(fleet.filter((m) => m.packets > 0).length).to.equal(Number(summary.moved));
    });

    it("cxfr transfer moves the named sessions only", async () => {
      fleet = await startFleet({ on: a, reconnectTo: [b], handlers: 2, plain: 0, trusted: [a.component], firstUser: takeUsers(2) });
      const [moving, staying] = fleet as [FleetMember, FleetMember];
      const result = await runCli(["transfer", moving.jid, "--to", b.c2sAddress, "--grace", "5s", "--json"], nodeEnv(a));
      expect(result.code, result.stderr).to.equal(0);
      expect(summaryOf(result.events)).to.include({ kind: "transfer", targeted: 1, moved: 1 });
      expect(moving.port()).to.equal(b.c2sPort);
      expect(staying.packets).to.equal(0);
      expect(await listed(a)).to.deep.equal([staying.jid]);
      const unknown = await runCli(["transfer", "nobody@localhost/x", "--to", b.c2sAddress], nodeEnv(a));
      expect(unknown.code).to.equal(2);
      expect(unknown.stderr.trim()).to.equal("cxfr: error: JID: nobody@localhost/x is not online on node default");
    });

    it("goes on after node A itself restarts mid-drain: each client gets one packet and ends on B", async () => {
      fleet = await startFleet({ on: a, reconnectTo: [b], handlers: 10, plain: 0, trusted: [a.component], firstUser: takeUsers(10) });
      const run = startCli(["drain", "--to", b.c2sAddress, "--rate", "2", "--burst", "1", "--grace", "5s", "--json"], nodeEnv(a));
      let restarted: Promise<void> | undefined;
      run.onLine((line) => {
        if (!restarted && line.includes('"event":"moved"')) restarted = a.restart();
      });
      const result = await run.done;
      await restarted;
      const story = JSON.stringify(result.events.filter((e) => e.event !== "scan"), null, 0);
      expect(result.code, `${result.stderr} ${story}`).to.equal(0);
      expect(result.events.some((e) => e.event === "link" && e.state === "down")).to.equal(true);
      const summary = summaryOf(result.events);
      expect(summary, story).to.include({ moved: 10, kicked: 0, failed: 0, remaining: 0 });
      expect(summary.targeted).to.equal(10 + Number(summary.skipped));
      await until("every client on B", () => fleet.every((m) => m.port() === b.c2sPort));
      for (const m of fleet) expect(m.packets, m.jid).to.equal(1);
      expect(await listed(a)).to.deep.equal([]);
    });

    it("survives the component link dropping mid-drain: nothing is sent twice and the counts are right", async () => {
      fleet = await startFleet({ on: a, reconnectTo: [b], handlers: 10, plain: 10, trusted: [a.component], firstUser: takeUsers(20) });
      const proxy = await startProxy({ host: "127.0.0.1", port: a.componentPort });
      try {
        const run = startCli(["drain", "--to", b.c2sAddress, "--rate", "5", "--burst", "1", "--grace", "2s", "--json"], nodeEnv(a, { CXFR_SERVER: proxy.address }));
        let sent = 0;
        let cutDone: Promise<void> | undefined;
        run.onLine((line) => {
          if (line.includes('"event":"sent"') && ++sent === 6) cutDone = proxy.cut(1500);
        });
        const result = await run.done;
        await cutDone;
        expect(result.code, result.stderr).to.equal(0);
        expect(result.events.some((e) => e.event === "link" && e.state === "down")).to.equal(true);
        expect(summaryOf(result.events)).to.include({ targeted: 20, moved: 10, kicked: 10, failed: 0, remaining: 0 });
        const sentTo = result.events.filter((e) => e.event === "sent").map((e) => e.jid);
        expect(new Set(sentTo).size).to.equal(sentTo.length);
        await until("plain clients back on B", () => fleet.every((m) => m.port() === b.c2sPort));
        for (const m of fleet) expect(m.packets, m.jid).to.be.at.most(1);
      } finally {
        await proxy.close();
      }
    });
  });
}
