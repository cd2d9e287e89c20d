// redirect and rebalance as journaled jobs, one-shot and through the daemon, on three real Prosody nodes:
// the job row and its sessions, holds on every node, cxfr cancel, the HTTP body kinds and GET /v1/status.
import { rmSync } from "node:fs";
import { join } from "node:path";
import { expect } from "chai";
import { homeOf } from "../../lib/jobs/home.ts";
import { killAtFirstPacket, runCli, startCli } from "../support/cli.ts";
import { fleetConfig } from "../support/cluster-config.ts";
import { startDaemon, stopAllDaemons } from "../support/daemon.ts";
import { fleetUsers, startFleet, stopFleet, type FleetMember } from "../support/fleet.ts";
import { startProsodyFleet, type FleetNode } from "../support/lab/prosody-fleet.ts";
import { summaryOf, waitUntil } from "../support/placement-scenarios.ts";
import { specTempDir } from "../support/temp-dir.ts";

describe("redirect and rebalance as journaled jobs (three Prosody nodes)", function () {
  this.timeout(90_000);
  let nodes: FleetNode[] = [];
  let fleet: FleetMember[] = [];
  let dir = "";
  let config = "";
  let env: NodeJS.ProcessEnv = {};
  const cxfr = (args: string[]) => runCli(["--config", config, ...args], env);
  const nodeAt = (m: FleetMember) => nodes.find((n) => n.server.c2sPort === m.port())?.name;
  const counts = () => Object.fromEntries(nodes.map((n) => [n.name, fleet.filter((m) => nodeAt(m) === n.name).length]));

  before(async () => {
    nodes = await startProsodyFleet({ size: 3, users: fleetUsers(6), label: "jobs" });
    dir = specTempDir("cxfr-planned-jobs");
    config = fleetConfig(dir, nodes);
    env = { PATH: process.env.PATH, CXFR_JOURNAL: join(dir, "cxfr.db") };
    fleet = await startFleet({ on: (nodes[0] as FleetNode).server, reconnectTo: [(nodes[0] as FleetNode).server], handlers: 6, plain: 0, trusted: ["cxfr.localhost"] });
  });
  after(async () => {
    await stopAllDaemons();
    await stopFleet(fleet);
    await Promise.all(nodes.map((n) => n.server.stop()));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("one-shot rebalance: holds every node (a drain of one is refused naming it), shows its sessions, cxfr cancel stops it; run again it moves 3", async () => {
    const held = startCli(["--config", config, "--json", "rebalance", "--to", "b", "--count", "3", "--wait", "60s"], env);
    let id = "";
    held.onLine((line) => {
      if (!id && line.includes('"event":"waiting"')) id = String((JSON.parse(line) as { job: string }).job);
    });
    await waitUntil("the rebalance waits before its first packet", () => id !== "", 20_000);
    const refused = await cxfr(["--node", "c", "drain", "--to", "a"]);
    expect(refused.code).to.equal(2);
    expect(refused.stderr.trim()).to.match(new RegExp(`^cxfr: error: node c \\(127\\.0\\.0\\.1:\\d+\\) is held by job ${id} \\(rebalance, running, pid \\d+\\)`));
    const shown = await cxfr(["jobs", id, "--json"]);
    expect(shown.events.filter((e) => e.state === "queued").map((e) => e.target)).to.deep.equal(["b", "b", "b"]);
    expect(shown.events.at(-1)).to.include({ job: id, kind: "rebalance", state: "running" });
    expect(shown.events.at(-1)?.nodes).to.deep.equal(["a", "b", "c"]);
    expect((await cxfr(["cancel", id])).stdout.trim()).to.equal(`job ${id}: cancelling`);
    const cancelled = await held.done;
    expect(cancelled.code, cancelled.stderr).to.equal(130);
    expect((await cxfr(["jobs", id, "--json"])).events.at(-1)).to.include({ state: "cancelled", targeted: 3, remaining: 3 });
    for (const m of fleet) expect(m.packets, m.jid).to.equal(0);

    const again = await cxfr(["--json", "rebalance", "--to", "b", "--count", "3", "--grace", "10s"]);
    expect(again.code, again.stderr).to.equal(0);
    const summary = summaryOf(again);
    expect(summary).to.include({ targeted: 3, moved: 3, failed: 0, remaining: 0 });
    const sessions = (await cxfr(["jobs", String(summary.job), "--json"])).events.filter((e) => e.jid !== undefined);
    expect(sessions.map((s) => [s.state, s.target, s.moved_by])).to.deep.equal([0, 1, 2].map(() => ["moved", "b", "cxfr"]));
    await waitUntil("3 clients on b", () => counts().b === 3);
  });

  it("the daemon takes redirect and rebalance bodies (400 naming the field when wrong), runs them, and --api runs them too", async () => {
    const daemon = await startDaemon(env, { config });
    const packetsBefore = fleet.map((m) => m.packets);
    const bad: Array<[Record<string, unknown>, string]> = [
      [{ kind: "rebalance", to: "b" }, "count"],
      [{ kind: "rebalance", to: "zz", count: 1 }, "to"],
      [{ kind: "rebalance", to: "b", fraction: 1.5 }, "fraction"],
      [{ kind: "rebalance", even: true, tolerance: -1 }, "tolerance"],
      [{ kind: "rebalance", even: true, count: 2 }, "even"],
      [{ kind: "redirect" }, "map"],
      [{ kind: "redirect", map: "u1@localhost,a\nu2@localhost,zz\n" }, "map"],
      [{ kind: "redirect", ring: true, node: "a" }, "node"],
      [{ kind: "redirect", ring: "yes" }, "ring"],
    ];
    for (const [body, field] of bad) {
      const r = await daemon.request("POST", "/v1/jobs", body);
      expect(r.status, JSON.stringify(body)).to.equal(400);
      expect((r.json.error as { field?: string }).field, JSON.stringify(body)).to.equal(field);
    }
    expect(((await daemon.request("POST", "/v1/jobs", { kind: "redirect", map: "jid,node\nu1@localhost,a\nu9@localhost,zz\n" })).json.error as { message: string }).message).to.match(/^map: map line 3: no node named "zz"/);
    expect(fleet.map((m) => m.packets), "a refused body sends nothing").to.deep.equal(packetsBefore);

    // from 3/3/0, an even rebalance gives one from a and one from b to c
    expect(counts()).to.deep.equal({ a: 3, b: 3, c: 0 });
    const accepted = await daemon.request("POST", "/v1/jobs", { kind: "rebalance", even: true, grace: "10s" });
    expect(accepted.status, accepted.text).to.equal(202);
    const events = await daemon.events(String(accepted.json.id));
    expect(events.find((e) => e.event === "plan")).to.deep.include({ kind: "rebalance", planned: 2, counts: { a: 3, b: 3, c: 0 }, goal: { a: 2, b: 2, c: 2 } });
    expect(events.at(-1)).to.include({ event: "summary", targeted: 2, moved: 2, failed: 0, remaining: 0 });
    await waitUntil("2/2/2", () => JSON.stringify(counts()) === JSON.stringify({ a: 2, b: 2, c: 2 }));

    const viaApi = await runCli(["--api", daemon.url, "--json", "redirect", "--ring", "--grace", "10s"], { ...env, CXFR_API_TOKEN: daemon.token });
    expect(viaApi.code, viaApi.stderr).to.equal(0);
    const summary = summaryOf(viaApi);
    const weighted = nodes.map((n) => ({ name: n.name, weight: 1 }));
    await waitUntil("every client home", () => fleet.every((m) => nodeAt(m) === homeOf(m.jid.split("/")[0] as string, weighted)));
    const job = (await daemon.request("GET", `/v1/jobs/${String(summary.job)}?sessions=1`)).json;
    expect(job).to.include({ kind: "redirect", state: "done", moved: summary.moved, failed: 0 });
    expect((job.sessions as unknown[]).length).to.equal(summary.targeted);

    const status = (await daemon.request("GET", "/v1/status")).json as { rows: Array<{ node: string; link: string; sessions: number }>; total: { total: number; up: number } };
    expect(Object.fromEntries(status.rows.map((r) => [r.node, r.sessions]))).to.deep.equal(counts());
    expect(status.total).to.include({ total: 6, up: 3 });
    expect(await daemon.stop()).to.equal(0);
  });

  it("kill -9 of a one-shot rebalance mid-run, then cxfr jobs resume ID: every planned session ends on the target with one packet", async () => {
    const planned = fleet.filter((m) => nodeAt(m) !== "c");
    expect(planned.length, "sessions to move").to.be.at.least(2);
    const packetsBefore = new Map(fleet.map((m) => [m.jid, m.packets]));
    const id = await killAtFirstPacket(["--config", config, "--json", "rebalance", "--to", "c", "--fraction", "1", "--rate", "1", "--burst", "1", "--grace", "10s"], env);
    expect(id).to.match(/^j-/);
    const resumed = await cxfr(["--json", "jobs", "resume", id]);
    expect(resumed.code, resumed.stderr).to.equal(0);
    // every planned session was journaled before the kill: the resumed engines start from all of them
    expect(resumed.events.filter((e) => e.event === "started").reduce((n, e) => n + Number(e.resumed), 0)).to.equal(planned.length);
    expect(summaryOf(resumed)).to.include({ job: id, targeted: planned.length, moved: planned.length, failed: 0, remaining: 0 });
    await waitUntil("every client on c", () => fleet.every((m) => nodeAt(m) === "c"));
    for (const m of fleet) expect(m.packets - (packetsBefore.get(m.jid) ?? 0), m.jid).to.equal(planned.includes(m) ? 1 : 0);
    expect((await cxfr(["jobs", id, "--json"])).events.at(-1)).to.include({ state: "done", moved: planned.length });
  });

  it("kill -9 of the daemon mid-rebalance, start again: it resumes the job, every session ends on the target with one packet", async () => {
    const packetsBefore = new Map(fleet.map((m) => [m.jid, m.packets]));
    const sent = () => fleet.filter((m) => m.packets > (packetsBefore.get(m.jid) ?? 0)).length;
    let daemon = await startDaemon(env, { config });
    const accepted = await daemon.request("POST", "/v1/jobs", { kind: "rebalance", to: "a", fraction: 1, rate: 1, burst: 1, grace: "10s" });
    expect(accepted.status, accepted.text).to.equal(202);
    const id = String(accepted.json.id);
    await waitUntil("a first packet", () => sent() >= 1);
    await daemon.stop("SIGKILL");
    daemon = await startDaemon(env, { config, token: daemon.token });
    await waitUntil("the resumed job finished", () => sent() === fleet.length, 30_000);
    const events = await daemon.events(id);
    expect(events.at(-1)).to.include({ event: "summary", targeted: 6, moved: 6, failed: 0, remaining: 0 });
    await waitUntil("every client on a", () => fleet.every((m) => nodeAt(m) === "a"));
    for (const m of fleet) expect(m.packets - (packetsBefore.get(m.jid) ?? 0), m.jid).to.equal(1);
    expect((await daemon.request("GET", `/v1/jobs/${id}`)).json).to.include({ state: "done", moved: 6 });
    expect(await daemon.stop()).to.equal(0);
  });
});
