// cxfr on a real two-member ejabberd 23.01 cluster (spec/support/lab/ejabberd-cluster.ts): status per
// member from the node map, drain of one member, the refusal without a node map, handler clients that
// resume (XEP-0198) on the other member, and the redirect/rebalance scenarios. One cluster per file.
import { expect } from "chai";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Element } from "@xmpp/xml";
import { runCli } from "../support/cli.ts";
import { startDaemon, stopAllDaemons } from "../support/daemon.ts";
import { clusterConfig } from "../support/cluster-config.ts";
import { fleetUsers, percentile, startFleet, stopFleet, type FleetMember } from "../support/fleet.ts";
import { startEjabberdCluster, type LabCluster } from "../support/lab/ejabberd-cluster.ts";
import { loginClient, type LabClient } from "../support/lab/index.ts";
import { placementScenarios, summaryOf, waitUntil } from "../support/placement-scenarios.ts";
import { specTempDir } from "../support/temp-dir.ts";

describe("cxfr on a real ejabberd cluster (two members)", function () {
  this.timeout(120_000);
  let cluster: LabCluster;
  let dir = "";
  let config = "";
  let noMap = "";
  let httpMap = "";
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH };

  before(async function () {
    this.timeout(60_000);
    cluster = await startEjabberdCluster({ name: "spec", httpApi: true, users: [...fleetUsers(40), { user: "watcher", password: "pw-watcher" }] });
    dir = specTempDir("cxfr-cluster");
    env.CXFR_JOURNAL = join(dir, "cxfr.db");
    config = clusterConfig(dir, cluster);
    noMap = clusterConfig(dir, cluster, { nodeMap: false });
    httpMap = clusterConfig(dir, cluster, { nodeMap: "http_api" });
  });
  after(async () => {
    await cluster?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  describe("status and drain --node", () => {
    let onEj1: FleetMember[] = [];
    let onEj2: FleetMember[] = [];
    let watcher: LabClient | undefined;
    const presences: Array<{ from: string; type: string; at: number }> = [];
    const ej = (k: number) => (cluster.members[k] as LabCluster["members"][number]).server;

    before(async function () {
      this.timeout(60_000);
      // the watcher (on ej1) has every ej2 user as a contact, both ways: it sees their presence
      for (let u = 4; u <= 8; u++) {
        await cluster.ctl(0, ["add_rosteritem", "watcher", "localhost", `u${u}`, "localhost", `u${u}`, "lab", "both"]);
        await cluster.ctl(0, ["add_rosteritem", `u${u}`, "localhost", "watcher", "localhost", "watcher", "lab", "both"]);
      }
      watcher = await loginClient({ domain: cluster.domain, c2sAddress: ej(0).c2sAddress }, { user: "watcher", password: "pw-watcher", resource: "w" });
      watcher.xmpp.on("stanza", (el: Element) => {
        if (el.name === "presence") presences.push({ from: String(el.attrs.from), type: String(el.attrs.type ?? "available"), at: Date.now() });
      });
      onEj1 = await startFleet({ on: ej(0), reconnectTo: [ej(0)], handlers: 3, plain: 0, trusted: [cluster.component], firstUser: 1 });
      onEj2 = await startFleet({ on: ej(1), reconnectTo: [ej(1)], handlers: 5, plain: 0, trusted: [cluster.component], firstUser: 4 });
      await waitUntil("the watcher sees the five ej2 users", () => new Set(presences.filter((p) => p.type === "available").map((p) => p.from)).size >= 5);
    });
    after(async () => {
      await stopFleet([...onEj1, ...onEj2]);
      await watcher?.stop();
    });

    it("status: per-member counts equal what each member's clients logged in to", async () => {
      const r = await runCli(["--config", config, "--json", "status"], env);
      expect(r.code, r.stderr).to.equal(0);
      const rows = r.events.filter((e) => typeof e.node === "string");
      // ej1 also holds the watcher
      expect(rows.map((e) => [e.node, e.link, e.kind, e.sessions, e.cluster, e.member_running])).to.deep.equal([
        ["ej1", "up", "ejabberd", 4, "spec", true],
        ["ej2", "up", "ejabberd", 5, "spec", true],
      ]);
      expect(r.events.at(-1)).to.deep.equal({ total: 9, nodes: 2, up: 2 });
      // the same node map over mod_http_api
      const overHttp = await runCli(["--config", httpMap, "--json", "status"], env);
      expect(overHttp.code, overHttp.stderr).to.equal(0);
      expect(overHttp.events.filter((e) => typeof e.node === "string").map((e) => [e.node, e.sessions])).to.deep.equal([["ej1", 4], ["ej2", 5]]);
    });

    it("sessions: each session once, under the member that holds it; --node ej2 lists ej2's only", async () => {
      const all = await runCli(["--config", config, "--json", "sessions"], env);
      expect(all.code, all.stderr).to.equal(0);
      expect(all.events.map((e) => `${String(e.node)} ${String(e.jid)}`)).to.deep.equal([
        ...["u1", "u2", "u3", "watcher"].map((u) => `ej1 ${u}@localhost/${u === "watcher" ? "w" : "fleet"}`),
        ...onEj2.map((m) => `ej2 ${m.jid}`).sort(),
      ]);
      const ej2Only = await runCli(["--config", config, "--json", "--node", "ej2", "sessions"], env);
      expect(ej2Only.events.map((e) => e.jid)).to.deep.equal(onEj2.map((m) => m.jid).sort());
    });

    it("check reports the cluster shape it found", async () => {
      const r = await runCli(["--config", config, "--node", "ej2", "check"], env);
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stdout).to.match(/^cluster\s+ok\s+member ej2 of cluster spec: 2 running nodes .*node map: 5 sessions on ej2/m);
    });

    it("without a node map, drain --node ej2 exits 2 with the config to add, and sends nothing", async () => {
      const r = await runCli(["--config", noMap, "--node", "ej2", "drain", "--to", "ej1"], env);
      expect(r.code).to.equal(2);
      expect(r.stderr.trim().split("\n")).to.have.length(1);
      expect(r.stderr).to.include("clusters[0].node_map: missing").and.include("node_map: { ejabberdctl: { path: /usr/sbin/ejabberdctl, node:");
      expect(r.stdout).to.equal("");
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect([...onEj1, ...onEj2].map((m) => m.packets)).to.deep.equal([0, 0, 0, 0, 0, 0, 0, 0]);
    });

    it("a member configured as a standalone node: status says so, drain exits 2 and sends nothing", async () => {
      const standalone = join(dir, "standalone.yml");
      writeFileSync(standalone, `domain: localhost\nnodes:\n  - { name: solo, server: "${ej(1).componentAddress}", component: ${cluster.component}, secret: "${cluster.secret}", public: "${ej(1).c2sAddress}" }\n`);
      const status = await runCli(["--config", standalone, "--json", "status"], env);
      expect(status.events[0]).to.include({ node: "solo", link: "up", sessions: 9, cluster: null });
      expect(status.events[0]?.note).to.match(/2 running cluster nodes/);
      const r = await runCli(["--config", standalone, "drain", "--to", ej(0).c2sAddress], env);
      expect(r.code).to.equal(2);
      expect(r.stderr).to.match(/^cxfr: error: nodes\[0\]: solo is one of 2 running members of an ejabberd cluster .*declare it under clusters:/);
      expect(r.stderr.trimEnd().split("\n")).to.have.length(1);
      expect([...onEj1, ...onEj2].map((m) => m.packets)).to.deep.equal([0, 0, 0, 0, 0, 0, 0, 0]);
    });

    it("drain --node ej2 moves exactly ej2's sessions; they resume on ej1 (XEP-0198), ej1's clients receive nothing, the contact sees no presence change", async () => {
      const since = Date.now();
      const resumed = new Set<string>();
      for (const m of onEj2) {
        m.client.xmpp.on("nonza", (el: Element) => {
          if (el.is("resumed", "urn:xmpp:sm:3")) resumed.add(m.jid);
        });
      }
      const arrived = new Map<string, number>();
      const poll = setInterval(() => {
        for (const m of onEj2) if (!arrived.has(m.jid) && m.port() === ej(0).c2sPort) arrived.set(m.jid, Date.now());
      }, 5);
      const r = await runCli(["--config", config, "--json", "--node", "ej2", "drain", "--to", "ej1", "--grace", "10s"], env);
      clearInterval(poll);
      expect(r.code, r.stderr).to.equal(0);
      expect(summaryOf(r)).to.include({ targeted: 5, moved: 5, kicked: 0, failed: 0 });
      expect(r.events.filter((e) => e.event === "sent").map((e) => e.jid).sort()).to.deep.equal(onEj2.map((m) => m.jid).sort());
      // checked on the clients' side
      expect(onEj1.map((m) => m.packets)).to.deep.equal([0, 0, 0]);
      expect(onEj2.map((m) => m.packets)).to.deep.equal([1, 1, 1, 1, 1]);
      await waitUntil("every ej2 client on ej1", () => onEj2.every((m) => m.port() === ej(0).c2sPort));
      // XEP-0198: each stream was resumed on ej1 (same session, same full JID), not bound afresh
      expect([...resumed].sort()).to.deep.equal(onEj2.map((m) => m.jid).sort());
      expect(onEj2.map((m) => m.client.xmpp.jid?.toString())).to.deep.equal(onEj2.map((m) => m.jid));
      const status = await runCli(["--config", config, "--json", "status"], env);
      expect(status.events.filter((e) => typeof e.node === "string").map((e) => e.sessions)).to.deep.equal([9, 0]);
      // the contact: no unavailable, no second available for the moved users
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(presences.filter((p) => p.at >= since && onEj2.some((m) => m.jid === p.from))).to.deep.equal([]);
      const gaps = onEj2.map((m) => (arrived.get(m.jid) ?? NaN) - (m.packetAt ?? NaN)).filter(Number.isFinite);
      process.stdout.write(`      [cluster move: packet → connection on ej1, median ${percentile(gaps, 50)} ms, max ${Math.max(...gaps)} ms over ${gaps.length}; contact saw ${presences.filter((p) => p.at >= since).length} presence stanzas]\n`);
    });
  });

  describe("through the daemon", () => {
    let onEj1: FleetMember[] = [];
    let onEj2: FleetMember[] = [];
    const ej = (k: number) => (cluster.members[k] as LabCluster["members"][number]).server;

    before(async function () {
      this.timeout(60_000);
      onEj1 = await startFleet({ on: ej(0), reconnectTo: [ej(0)], handlers: 2, plain: 0, trusted: [cluster.component], firstUser: 20 });
      onEj2 = await startFleet({ on: ej(1), reconnectTo: [ej(1)], handlers: 3, plain: 0, trusted: [cluster.component], firstUser: 22 });
    });
    after(async () => {
      await stopAllDaemons();
      await stopFleet([...onEj1, ...onEj2]);
    });

    it("a drain of ej2 without a node map is 400 naming node, with the config to add; nothing sent", async () => {
      const daemon = await startDaemon(env, { config: noMap });
      const r = await daemon.request("POST", "/v1/jobs", { kind: "drain", node: "ej2", to: ["ej1"] });
      expect(r.status, r.text).to.equal(400);
      expect(r.json.error).to.include({ code: "invalid_input", field: "node" });
      expect((r.json.error as { message: string }).message).to.include("node_map: { ejabberdctl: { path: /usr/sbin/ejabberdctl, node:");
      expect(await daemon.stop()).to.equal(0);
      expect([...onEj1, ...onEj2].map((m) => m.packets)).to.deep.equal([0, 0, 0, 0, 0]);
    });

    it("one link for the cluster; sessions and status per member; a drain of ej2 moves ej2's sessions only", async () => {
      const daemon = await startDaemon(env, { config });
      const listed = (await daemon.request("GET", "/v1/sessions?node=ej2")).json.sessions as Array<{ node: string; jid: string }>;
      expect(listed.map((s) => s.jid).sort()).to.deep.equal(onEj2.map((m) => m.jid).sort());
      const status = (await daemon.request("GET", "/v1/status")).json as { rows: Array<{ node: string; sessions: number; cluster: string }> };
      expect(status.rows.map((r) => [r.node, r.sessions, r.cluster])).to.deep.equal([["ej1", 2, "spec"], ["ej2", 3, "spec"]]);
      const accepted = await daemon.request("POST", "/v1/jobs", { kind: "drain", node: "ej2", to: ["ej1"], grace: "10s" });
      expect(accepted.status, accepted.text).to.equal(202);
      expect((await daemon.events(String(accepted.json.id))).at(-1)).to.include({ event: "summary", targeted: 3, moved: 3, kicked: 0, failed: 0, remaining: 0 });
      // checked on the clients' side
      expect(onEj1.map((m) => m.packets)).to.deep.equal([0, 0]);
      expect(onEj2.map((m) => m.packets)).to.deep.equal([1, 1, 1]);
      await waitUntil("every ej2 client on ej1", () => onEj2.every((m) => m.port() === ej(0).c2sPort));
      expect(await daemon.stop()).to.equal(0);
    });
  });

  describe("redirect and rebalance on the cluster", () => {
    placementScenarios({
      nodes: () => cluster.members.map((m, i) => ({ name: `ej${i + 1}`, server: m.server })),
      config: () => config,
      component: "cxfr.localhost",
    });
  });
});
