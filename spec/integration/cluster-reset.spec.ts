// `cxfr drain --node ej2 --method reset,kick` on a real two-member ejabberd 23.01 cluster, each member with its own
// ejabberdctl (client addresses) and socket destroy (this process runs as root): real slixmpp clients with XEP-0198
// lose their connection to ej2, reconnect to ej1 (as a load balancer that stopped sending users to ej2 would make
// them: the roaming client's --then) and resume their session there. One cluster for the file.
import { rmSync } from "node:fs";
import { expect } from "chai";
import { xml } from "@xmpp/client";
import type { Element } from "@xmpp/xml";
import { runCli, startCli } from "../support/cli.ts";
import { clusterConfig } from "../support/cluster-config.ts";
import { startEjabberdCluster, type LabCluster } from "../support/lab/ejabberd-cluster.ts";
import { loginClient, type LabClient } from "../support/lab/index.ts";
import { startRoaming, type RoamingClient } from "../support/slixmpp/roaming.ts";
import { specTempDir } from "../support/temp-dir.ts";

const movers = ["ida", "ike", "ivy"].map((user) => ({ user, password: `pw-${user}` }));
const contact = { user: "bob", password: "pw-bob" };
const env = { PATH: process.env.PATH, HOME: process.env.HOME };

describe("cxfr drain --method reset,kick on a real ejabberd cluster: slixmpp clients resume on the other member", function () {
  this.timeout(120_000);
  let cluster: LabCluster;
  let dir = "";
  let config = "";
  let bob: LabClient | undefined;
  let clients: RoamingClient[] = [];
  /** presence stanzas bob received from the movers: "jid type" */
  const presenceLog: string[] = [];
  const member = (k: number) => (cluster.members[k] as LabCluster["members"][number]).server;

  before(async function () {
    this.timeout(90_000);
    cluster = await startEjabberdCluster({ name: "reset", users: [...movers, contact] });
    dir = specTempDir("cxfr-cluster-reset");
    config = clusterConfig(dir, cluster, { memberCtl: true });
    bob = await loginClient({ domain: cluster.domain, c2sAddress: member(0).c2sAddress }, { ...contact, resource: "watch" });
    bob.xmpp.on("stanza", (st: Element) => {
      if (st.is("presence") && String(st.attrs.from).startsWith("i")) presenceLog.push(`${String(st.attrs.from)} ${String(st.attrs.type ?? "available")}`);
    });
    const bobJid = bob.jid;
    clients = await Promise.all(movers.map((u) => startRoaming(member(1), `${u.user}@${cluster.domain}/slix`, u.password, { sm: true, presenceTo: bobJid, then: member(0).c2sAddress })));
    await Promise.all(clients.map((c) => c.next("sm-enabled", 0)));
    for (let n = 0; presenceLog.length < clients.length && n < 200; n++) await new Promise((r) => setTimeout(r, 25));
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.stop()));
    await bob?.stop();
    await cluster?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("check --node ej2 finds the member's own ejabberdctl and socket destroy, and lists the chain they allow", async () => {
    const r = await runCli(["--config", config, "--json", "--node", "ej2", "check"], env);
    expect(r.code, r.stderr).to.equal(0);
    const last = r.events.at(-1) as { chain: string[]; channels: Array<{ channel: string; usable: boolean }> };
    expect(last.channels.map((c) => [c.channel, c.usable])).to.deep.equal([["ejabberdctl", true], ["socket-destroy", true]]);
    expect(last.chain).to.deep.equal(["cxfr", "see-other-host", "reset", "close", "kick"]);
  });

  it("moves each session by reset: resumed on ej1, no unavailable presence, a message sent meanwhile arrives once, ej2 ends empty", async () => {
    // the contact sees these clients' presence, so an unavailable one would be seen too
    expect([...presenceLog].sort()).to.deep.equal(clients.map((c) => `${c.jid} available`).sort());
    const marks = clients.map((c) => c.events.length);
    const run = startCli(["--config", config, "--json", "--node", "ej2", "drain", "--to", "ej1", "--method", "reset,kick", "--grace", "20s"], env);
    const sends: Array<Promise<void>> = [];
    /** performance.now() when each "during" message went out (the clients' events use the same clock) */
    const sentAt = new Map<number, number>();
    run.onLine((line) => {
      const event = JSON.parse(line.startsWith("{") ? line : "{}") as Record<string, unknown>;
      const i = clients.findIndex((c) => c.jid === event.jid);
      // sent while the client is away: the hibernated session queues it, the resumed one delivers it
      if (event.event !== "applied" || i < 0) return;
      sentAt.set(i, performance.now());
      sends.push((bob as LabClient).xmpp.send(xml("message", { to: event.jid as string, type: "chat" }, xml("body", {}, `during-${i}`))));
    });
    const r = await run.done;
    await Promise.all(sends);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.events.find((e) => e.event === "started")?.methods).to.deep.equal(["reset", "kick"]);
    const summary = r.events.at(-1) as Record<string, unknown>;
    expect(summary).to.include({ event: "summary", targeted: 3, moved: 3, kicked: 0, failed: 0, remaining: 0 });
    expect(summary.by_method).to.deep.equal({ reset: 3 });
    expect(r.events.filter((e) => e.event === "moved").map((e) => [e.jid, e.method]).sort()).to.deep.equal(clients.map((c) => [c.jid, "reset"]).sort());
    expect(r.events.filter((e) => e.event === "applied")).to.have.length(3);

    const gaps: number[] = [];
    let whileAway = 0;
    await Promise.all(clients.map(async (c, i) => {
      const from = marks[i] as number;
      const resumed = await c.next("resumed", from);
      expect(resumed.args, c.jid).to.deep.equal([String(member(0).c2sPort)]);
      gaps.push(Math.round(resumed.at - (await c.next("disconnected", from)).at));
      if ((sentAt.get(i) ?? Infinity) < resumed.at) whileAway++;
      await (bob as LabClient).xmpp.send(xml("message", { to: c.jid, type: "chat" }, xml("body", {}, `after-${i}`)));
      // messages arrive in order: once "after" is here, any copy of "during" would have arrived before it
      await c.next((e) => e.kind === "message" && e.args[1] === `after-${i}`, from);
      const kinds = c.events.slice(from).map((e) => e.kind);
      expect(kinds, c.jid).to.not.include("online");
      expect(kinds, c.jid).to.not.include("stream-error");
      const bodies = c.events.slice(from).filter((e) => e.kind === "message").map((e) => e.args[1]);
      expect(bodies.filter((b) => b === `during-${i}`), c.jid).to.have.length(1);
    }));
    expect(presenceLog.filter((p) => p.endsWith(" unavailable"))).to.deep.equal([]);

    const status = await runCli(["--config", config, "--json", "status"], env);
    expect(status.code, status.stderr).to.equal(0);
    // ej1 holds bob and the three resumed sessions
    expect(status.events.filter((e) => typeof e.node === "string").map((e) => [e.node, e.sessions])).to.deep.equal([["ej1", 4], ["ej2", 0]]);
    console.log(`      ejabberd cluster, reset: offline gap per client (connection lost → <resumed/> on ej1), ms: ${gaps.sort((x, y) => x - y).join(", ")}; "during" messages sent before the resume: ${whileAway} of ${clients.length}`);
  });
});
