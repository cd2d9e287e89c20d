import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { expect } from "chai";
import { xml } from "@xmpp/client";
import type { Element } from "@xmpp/xml";
import { buildMethods } from "../../lib/methods/channels.ts";
import { EjabberdControl } from "../../lib/servers/ejabberd-control.ts";
import { ProsodyControl } from "../../lib/servers/prosody-control.ts";
import type { SessionControl } from "../../lib/servers/session-control.ts";
import { Ejabberdctl } from "../../lib/servers/ejabberdctl.ts";
import { loginClient, startServer, type LabClient, type LabServer } from "../support/lab/index.ts";
import { startRoaming, type RoamingClient } from "../support/slixmpp/roaming.ts";

const movers = ["amy", "ari", "avi"].map((user) => ({ user, password: `pw-${user}` }));
const contact = { user: "bob", password: "pw-bob" };
const live = () => new AbortController().signal;
const PROBE = fileURLToPath(new URL("../support/reset-probe.ts", import.meta.url));

/** The server's TCP sockets to this client port (what `reset` destroys); other labs on this host may reuse the port. */
async function serverSockets(port: number, serverPort: number): Promise<string[]> {
  const { stdout } = await promisify(execFile)("ss", ["-H", "-t", "-n", "state", "established", "dst", "127.0.0.1", "dport", "=", `:${port}`, "sport", "=", `:${serverPort}`]);
  return stdout.split("\n").filter((line) => line.trim() !== "");
}

for (const kind of ["ejabberd", "prosody"] as const) describe(`reset on ${kind}: real slixmpp clients with XEP-0198 resume`, function () {
  this.timeout(120_000);
  let server: LabServer;
  let control: SessionControl;
  let bob: LabClient;
  let clients: RoamingClient[] = [];
  /** presence stanzas bob received from the movers: "jid type" */
  const presenceLog: string[] = [];

  before(async () => {
    server = await startServer({ kind, name: `reset-${kind}`, users: [...movers, contact], smacks: true });
    control = kind === "ejabberd" ? new EjabberdControl(new Ejabberdctl(server.ejabberdctl as NonNullable<LabServer["ejabberdctl"]>)) : new ProsodyControl(server.adminSocket as string);
    bob = await loginClient(server, { ...contact, resource: "watch" });
    bob.xmpp.on("stanza", (st: Element) => {
      if (st.is("presence") && String(st.attrs.from).startsWith("a")) presenceLog.push(`${String(st.attrs.from)} ${String(st.attrs.type ?? "available")}`);
    });
    clients = await Promise.all(movers.map((u) => startRoaming(server, `${u.user}@${server.domain}/slix`, u.password, { sm: true, presenceTo: bob.jid })));
    await Promise.all(clients.map((c) => c.next("sm-enabled", 0)));
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.stop()));
    await bob?.stop();
    await control?.stop();
    await server?.stop();
  });

  it(`without CAP_NET_ADMIN (as nobody) reset is unavailable and the connection is untouched`, async function () {
    if (kind !== "ejabberd") this.skip(); // once is enough: the check does not depend on the server
    const client = clients[0] as RoamingClient;
    const address = await control.clientAddress(client.jid);
    expect(address).to.not.equal(undefined);
    const { ip, port } = address as { ip: string; port: number };
    const { stdout } = await promisify(execFile)("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", process.execPath, "--import", "tsx", PROBE, client.jid, ip, String(port)], { cwd: fileURLToPath(new URL("../..", import.meta.url)) });
    const report = JSON.parse(stdout.trim().split("\n").at(-1) as string) as { channel: { usable: boolean; why: string }; attempt: { status: string; reason: string } };
    expect(report.channel).to.include({ usable: false });
    expect(report.attempt).to.deep.equal({ status: "unavailable", reason: "this process lacks CAP_NET_ADMIN (run as root or grant the capability)" });
    expect(await serverSockets(port, server.c2sPort)).to.have.length(1);
    expect(client.events.map((e) => e.kind)).to.not.include("disconnected");
  });

  it("aborts each connection; each client resumes its session: no unavailable presence, a message sent meanwhile arrives once", async () => {
    // the contact does see these clients' presence, so an unavailable one would be seen too
    for (let n = 0; presenceLog.length < clients.length && n < 200; n++) await new Promise((r) => setTimeout(r, 25));
    expect([...presenceLog].sort()).to.deep.equal(clients.map((c) => `${c.jid} available`).sort());
    const { reset } = buildMethods(control, undefined);
    const marks = clients.map((c) => c.events.length);
    const gaps: number[] = [];
    await Promise.all(clients.map(async (c, i) => {
      expect(await reset.apply({ jid: c.jid, bare: c.jid.split("/")[0] as string, resource: "slix" }, { host: "127.0.0.1" }, live())).to.deep.equal({ status: "sent" });
      // sent while the client is away: ejabberd keeps it in the hibernated session and re-sends it on resume
      await bob.xmpp.send(xml("message", { to: c.jid, type: "chat" }, xml("body", {}, `during-${i}`)));
      const resumed = await c.next("resumed", marks[i] as number);
      const lost = await c.next("disconnected", marks[i] as number);
      gaps.push(Math.round(resumed.at - lost.at));
      await bob.xmpp.send(xml("message", { to: c.jid, type: "chat" }, xml("body", {}, `after-${i}`)));
      // messages arrive in order: once "after" is here, any copy of "during" would have arrived before it
      await c.next((e) => e.kind === "message" && e.args[1] === `after-${i}`, marks[i] as number);
      const kinds = c.events.slice(marks[i]).map((e) => e.kind);
      expect(kinds, c.jid).to.include("disconnected");
      expect(kinds, c.jid).to.not.include("online");
      const bodies = c.events.slice(marks[i]).filter((e) => e.kind === "message").map((e) => e.args[1]);
      expect(bodies.filter((b) => b === `during-${i}`), c.jid).to.have.length(1);
    }));
    expect(presenceLog.filter((p) => p.endsWith(" unavailable"))).to.deep.equal([]);
    expect((await Promise.all(clients.map((c) => control.clientAddress(c.jid)))).every((a) => a !== undefined)).to.equal(true);
    console.log(`      ${kind}: offline gap per client (connection lost → <resumed/>), ms: ${gaps.sort((x, y) => x - y).join(", ")}`);
  });
});

describe("reset on Prosody (no mod_smacks in the lab): the client loses its connection and logs in again", function () {
  this.timeout(60_000);
  let server: LabServer;
  let control: ProsodyControl;

  before(async () => {
    server = await startServer({ kind: "prosody", name: "reset-pr", users: movers });
    control = new ProsodyControl(server.adminSocket as string);
  });
  after(async () => {
    await control?.stop();
    await server?.stop();
  });

  it("finds the client's address through the admin socket and aborts only that connection", async () => {
    const client = await startRoaming(server, `amy@${server.domain}/slix`, "pw-amy");
    const other = await startRoaming(server, `ari@${server.domain}/slix`, "pw-ari");
    try {
      const address = await control.clientAddress(client.jid);
      expect(address).to.deep.include({ ip: "127.0.0.1", serverPorts: [server.c2sPort] });
      const mark = client.events.length;
      expect(await buildMethods(control, undefined).reset.apply({ jid: client.jid, bare: `amy@${server.domain}`, resource: "slix" }, { host: "127.0.0.1" }, live())).to.deep.equal({ status: "sent" });
      await client.next("disconnected", mark);
      expect((await client.next("online", mark)).args[1]).to.equal(String(server.c2sPort));
      expect(client.events.slice(mark).map((e) => e.kind)).to.not.include("stream-error");
      expect(other.events.map((e) => e.kind)).to.not.include("disconnected");
    } finally {
      await Promise.all([client.stop(), other.stop()]);
    }
  });
});

describe("reset between two independent ejabberd nodes (no cluster): the client cannot resume on the other", function () {
  this.timeout(120_000);
  let a: LabServer;
  let b: LabServer;
  let controlA: EjabberdControl;

  before(async () => {
    [a, b] = await Promise.all([startServer({ kind: "ejabberd", name: "reset-ind-a", users: movers }), startServer({ kind: "ejabberd", name: "reset-ind-b", users: movers })]);
    controlA = new EjabberdControl(new Ejabberdctl(a.ejabberdctl as NonNullable<LabServer["ejabberdctl"]>));
  });
  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
  });

  it("logs in afresh on node B, while node A keeps the hibernated session listed until it is ended", async () => {
    const client = await startRoaming(a, `amy@${a.domain}/slix`, "pw-amy", { sm: true, then: `127.0.0.1:${b.c2sPort}` });
    try {
      await client.next("sm-enabled", 0);
      const mark = client.events.length;
      expect(await buildMethods(controlA, undefined).reset.apply({ jid: client.jid, bare: `amy@${a.domain}`, resource: "slix" }, { host: "127.0.0.1" }, live())).to.deep.equal({ status: "sent" });
      const online = await client.next("online", mark);
      expect(online.args).to.deep.equal([client.jid, String(b.c2sPort)]);
      expect(client.events.slice(mark).map((e) => e.kind)).to.not.include("resumed");
      // still listed on A (hibernated, waiting for a resume that will not come): a drain must end it itself
      expect(await controlA.clientAddress(client.jid)).to.not.equal(undefined);
      expect(await controlA.shutdown(client.jid)).to.deep.equal({ done: true });
      const fresh = new Ejabberdctl(a.ejabberdctl as NonNullable<LabServer["ejabberdctl"]>);
      expect((await fresh.connectedUsersInfo()).map((u) => u.jid)).to.not.include(client.jid);
      expect(client.events.slice(mark).map((e) => e.kind)).to.not.include("stream-error");
    } finally {
      await client.stop();
    }
  });
});
