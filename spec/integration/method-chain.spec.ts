// The method chain end to end through `cxfr drain` on two real Prosody nodes, node A with its admin socket:
// xmpp.js clients without the cxfr handler refuse the packet, the chain moves on at once to see-other-host, and
// they follow it to node B. Also the default chain: what `cxfr check` lists is what `drain` uses.
import { rmSync, writeFileSync } from "node:fs";
import type { Socket } from "node:net";
import { join } from "node:path";
import { expect } from "chai";
import { runCli, type CliResult } from "../support/cli.ts";
import { loginClient, startServer, type LabClient, type LabServer } from "../support/lab/index.ts";
import { startRoaming, type RoamingClient } from "../support/slixmpp/roaming.ts";
import { specTempDir } from "../support/temp-dir.ts";

const users = ["cara", "dan", "eve", "fay"].map((user) => ({ user, password: `pw-${user}` }));
const env = { PATH: process.env.PATH, HOME: process.env.HOME };
const GRACE_MS = 60_000;

/** Nodes a and b (standalone, public c2s address each); node a with its admin socket. */
function twoNodeConfig(dir: string, a: LabServer, b: LabServer): string {
  const path = join(dir, "two-nodes.yml");
  const node = (name: string, s: LabServer, extra: string[]) => [
    `  - name: ${name}`,
    `    server: "${s.componentAddress}"`,
    `    component: ${s.component}`,
    `    secret: "${s.secret}"`,
    `    public: "${s.c2sAddress}"`,
    ...extra,
  ];
  writeFileSync(path, [`domain: ${a.domain}`, `journal: ${join(dir, "cxfr.db")}`, "nodes:", ...node("a", a, [`    admin_socket: ${a.adminSocket as string}`]), ...node("b", b, []), ""].join("\n"));
  return path;
}

function remotePort(client: LabClient): number | undefined {
  return (client.xmpp as unknown as { socket?: Socket }).socket?.remotePort;
}

function eventsOf(result: CliResult, jid: string): Array<Record<string, unknown>> {
  return result.events.filter((e) => e.jid === jid && e.event !== "planned");
}

/** Which of the clients were back online within `ms`. */
async function backWithin(backOnline: Array<Promise<void>>, ms: number): Promise<boolean[]> {
  const back = backOnline.map(() => false);
  backOnline.forEach((p, i) => void p.then(() => (back[i] = true)));
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([Promise.all(backOnline), new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
  return back;
}

function summaryOf(result: CliResult): Record<string, unknown> {
  const summary = result.events.at(-1);
  expect(summary?.event, result.stderr).to.equal("summary");
  return summary as Record<string, unknown>;
}

describe("cxfr drain with a method chain on two real Prosody nodes (node A's admin socket)", function () {
  this.timeout(90_000);
  let a: LabServer;
  let b: LabServer;
  let dir = "";
  let config = "";

  before(async () => {
    [a, b] = await Promise.all([startServer({ kind: "prosody", name: "chain-a", users }), startServer({ kind: "prosody", name: "chain-b", users })]);
    dir = specTempDir("cxfr-chain");
    config = join(dir, "cxfr.yml");
    writeFileSync(config, [
      `domain: ${a.domain}`,
      `journal: ${join(dir, "cxfr.db")}`,
      "nodes:",
      "  - name: a",
      `    server: "${a.componentAddress}"`,
      `    component: ${a.component}`,
      `    secret: "${a.secret}"`,
      `    admin_socket: ${a.adminSocket as string}`,
      "",
    ].join("\n"));
  });
  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function clientsOnA(names: typeof users): Promise<{ clients: LabClient[]; backOnline: Array<Promise<void>> }> {
    const clients = await Promise.all(names.map((u) => loginClient(a, { user: u.user, password: u.password, resource: "js" })));
    // no reconnect of their own: a client on B got there by following see-other-host
    const backOnline = clients.map((c) => new Promise<void>((resolve) => c.xmpp.on("online", () => resolve())));
    return { clients, backOnline };
  }

  async function listedOnA(): Promise<string[]> {
    const r = await runCli(["--config", config, "sessions", "--json"], env);
    expect(r.code, r.stderr).to.equal(0);
    return r.events.map((e) => String(e.jid));
  }

  it("--method cxfr,see-other-host,kick: a client that refuses the packet is moved by see-other-host at once, not after the grace", async () => {
    const { clients, backOnline } = await clientsOnA(users.slice(0, 3));
    try {
      const r = await runCli(["--config", config, "drain", "--to", b.c2sAddress, "--method", "cxfr,see-other-host,kick", "--grace", `${GRACE_MS / 1000}s`, "--from", "component", "--json"], env);
      expect(r.code, r.stderr).to.equal(0);
      expect(r.events.find((e) => e.event === "started")?.methods).to.deep.equal(["cxfr", "see-other-host", "kick"]);
      expect(summaryOf(r)).to.include({ targeted: 3, moved: 3, kicked: 0, failed: 0, remaining: 0 });
      expect(summaryOf(r).by_method).to.deep.equal({ "see-other-host": 3 });
      for (const c of clients) {
        const mine = eventsOf(r, c.jid);
        // the packet, the client's refusal, see-other-host applied, then observed gone from A
        expect(mine.map((e) => [e.event, e.method ?? e.condition ?? null]), c.jid).to.deep.equal([
          ["sent", "cxfr"],
          ["rejected", "service-unavailable"],
          ["applied", "see-other-host"],
          ["moved", "see-other-host"],
        ]);
        expect(mine[2]?.target).to.equal(b.c2sAddress);
        // after_ms counts from the packet: far below the 60 s grace the chain did not wait for
        expect(Number(mine[3]?.after_ms), c.jid).to.be.below(GRACE_MS / 4);
      }
      console.log(`      packet → moved by see-other-host, ms (grace ${GRACE_MS / 1000} s): ${r.events.filter((e) => e.event === "moved").map((e) => Number(e.after_ms)).sort((x, y) => x - y).join(", ")}`);
      // every client follows to B: Prosody waits for the client's close, so no redirect meets a reset socket
      const back = await backWithin(backOnline, 15_000);
      expect(back, "back online within 15 s").to.deep.equal(clients.map(() => true));
      for (const c of clients) expect(remotePort(c), c.jid).to.equal(b.c2sPort);
      expect(await listedOnA()).to.deep.equal([]);
    } finally {
      await Promise.all(clients.map((c) => c.stop()));
    }
  });

  it("without --method: check lists the chain the admin socket allows, and drain uses it", async () => {
    const check = await runCli(["--config", config, "check", "--json"], env);
    expect(check.code, check.stderr).to.equal(0);
    const chain = (check.events.at(-1) as { chain: string[] }).chain;
    expect(chain).to.deep.equal(["cxfr", "see-other-host", "reset", "close", "kick"]);
    const { clients, backOnline } = await clientsOnA(users.slice(3));
    try {
      // a short grace: a client that does not follow would not wait out a long grace per method
      const r = await runCli(["--config", config, "drain", "--to", b.c2sAddress, "--grace", "5s", "--deadline", "60s", "--from", "component", "--json"], env);
      expect(r.code, r.stderr).to.equal(0);
      expect(r.events.find((e) => e.event === "started")?.methods).to.deep.equal(chain);
      const summary = summaryOf(r) as { targeted: number; moved: number; by_method?: Record<string, number> };
      expect(summary.moved, JSON.stringify(summary)).to.equal(summary.targeted);
      expect(summary.by_method?.["see-other-host"], JSON.stringify(summary)).to.be.at.least(1);
      expect(await backWithin(backOnline, 15_000), "back online within 15 s").to.deep.equal(clients.map(() => true));
      for (const c of clients) expect(remotePort(c), c.jid).to.equal(b.c2sPort);
      expect(await listedOnA()).to.deep.equal([]);
    } finally {
      await Promise.all(clients.map((c) => c.stop()));
    }
  });
});

describe("reset between two independent Prosody nodes with mod_smacks: the session left on A is ended once the client is back on B", function () {
  this.timeout(90_000);
  const movers = ["gus", "hal"].map((user) => ({ user, password: `pw-${user}` }));
  let a: LabServer;
  let b: LabServer;
  let dir = "";
  let config = "";
  let clients: RoamingClient[] = [];

  before(async () => {
    [a, b] = await Promise.all([startServer({ kind: "prosody", name: "chain-sm-a", users: movers, smacks: true }), startServer({ kind: "prosody", name: "chain-sm-b", users: movers, smacks: true })]);
    dir = specTempDir("cxfr-chain-sm");
    config = twoNodeConfig(dir, a, b);
    // after a lost connection each client goes to B, as a load balancer that stopped sending users to A would send it
    clients = await Promise.all(movers.map((u) => startRoaming(a, `${u.user}@${a.domain}/slix`, u.password, { sm: true, then: b.c2sAddress })));
    await Promise.all(clients.map((c) => c.next("sm-enabled", 0)));
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.stop()));
    await Promise.all([a?.stop(), b?.stop()]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("drain --to b --method reset,kick: each client logs in on B, its hibernated session on A is closed, outcomes say reset", async () => {
    const marks = clients.map((c) => c.events.length);
    const r = await runCli(["--config", config, "--node", "a", "drain", "--to", "b", "--method", "reset,kick", "--grace", "30s", "--json"], env);
    expect(r.code, r.stderr).to.equal(0);
    expect(summaryOf(r)).to.include({ targeted: 2, moved: 2, kicked: 0, failed: 0, remaining: 0 });
    expect(summaryOf(r).by_method).to.deep.equal({ reset: 2 });
    const gaps: number[] = [];
    for (const [i, c] of clients.entries()) {
      expect(eventsOf(r, c.jid).map((e) => [e.event, e.method])).to.deep.equal([["applied", "reset"], ["leftover", "close"], ["moved", "reset"]]);
      expect(Number(eventsOf(r, c.jid)[2]?.after_ms)).to.be.below(30_000 / 2);
      // no resume on an independent node: a fresh login with the same resource
      const online = await c.next("online", marks[i] as number);
      expect(online.args).to.deep.equal([c.jid, String(b.c2sPort)]);
      gaps.push(Math.round(online.at - (await c.next("disconnected", marks[i] as number)).at));
      const kinds = c.events.slice(marks[i]).map((e) => e.kind);
      expect(kinds).to.include("disconnected");
      expect(kinds).to.not.include("resumed");
      expect(kinds).to.not.include("stream-error");
    }
    const onA = await runCli(["--config", config, "--node", "a", "sessions", "--json"], env);
    expect(onA.events.map((e) => e.jid)).to.deep.equal([]);
    const onB = await runCli(["--config", config, "--node", "b", "sessions", "--json"], env);
    expect(onB.events.map((e) => String(e.jid)).sort()).to.deep.equal(clients.map((c) => c.jid).sort());
    console.log(`      Prosody, independent nodes, reset: offline gap per client (connection lost → online on B, fresh login), ms: ${gaps.sort((x, y) => x - y).join(", ")}`);
  });
});
