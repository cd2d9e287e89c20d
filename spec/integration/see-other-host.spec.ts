import type { Socket } from "node:net";
import { expect } from "chai";
import type { Element } from "@xmpp/xml";
import { buildMethods } from "../../lib/methods/channels.ts";
import { EjabberdControl } from "../../lib/servers/ejabberd-control.ts";
import { Ejabberdctl } from "../../lib/servers/ejabberdctl.ts";
import { ProsodyControl } from "../../lib/servers/prosody-control.ts";
import { ProsodyShell } from "../../lib/servers/prosody-shell.ts";
import { loginClient, startServer, type LabClient, type LabServer } from "../support/lab/index.ts";
import { startRoaming, type RoamingClient } from "../support/slixmpp/roaming.ts";

const NS_STREAMS = "urn:ietf:params:xml:ns:xmpp-streams";
const users = ["ana", "ben", "cy", "sam", "kim"].map((user) => ({ user, password: `pw-${user}` }));
const live = () => new AbortController().signal;

/** Sessions on a Prosody node, counted through its admin socket. */
async function sessionCount(server: LabServer): Promise<number> {
  const shell = await ProsodyShell.connect(server.adminSocket as string);
  try {
    const result = await shell.run(">local n=0 for _ in pairs(prosody.full_sessions) do n=n+1 end return n");
    return Number(result.text.replace(/^Result: /, ""));
  } finally {
    await shell.close();
  }
}

function remotePort(client: LabClient): number | undefined {
  return (client.xmpp as unknown as { socket?: Socket }).socket?.remotePort;
}

describe("see-other-host through Prosody's admin socket, two nodes", function () {
  this.timeout(90_000);
  let a: LabServer;
  let b: LabServer;
  let control: ProsodyControl;

  before(async () => {
    [a, b] = await Promise.all([startServer({ kind: "prosody", name: "soh-a", users }), startServer({ kind: "prosody", name: "soh-b", users })]);
    control = new ProsodyControl(a.adminSocket as string);
  });
  after(async () => {
    await control?.stop();
    await Promise.all([a?.stop(), b?.stop()]);
  });

  it("xmpp.js clients without the cxfr handler receive a well-formed see-other-host and end on node B", async () => {
    const clients = await Promise.all(users.slice(0, 3).map((u) => loginClient(a, { user: u.user, password: u.password, resource: "js" })));
    try {
      const errors = clients.map((c) => new Promise<Element>((resolve) => c.xmpp.on("element", (el: Element) => el.is("error", "http://etherx.jabber.org/streams") && resolve(el))));
      const backOnline = clients.map((c) => new Promise<void>((resolve) => c.xmpp.on("online", () => resolve())));
      const { "see-other-host": method } = buildMethods(control, undefined);
      for (const c of clients) {
        expect(await method.apply({ jid: c.jid, bare: c.jid.split("/")[0] as string, resource: "js" }, { host: "127.0.0.1", port: b.c2sPort }, live())).to.deep.equal({ status: "sent" });
      }
      for (const error of await Promise.all(errors)) {
        expect(error.getChildElements().map((el) => el.name)).to.deep.equal(["see-other-host"]);
        expect(error.getChild("see-other-host", NS_STREAMS)?.text()).to.equal(`127.0.0.1:${b.c2sPort}`);
      }
      await Promise.all(backOnline);
      for (const c of clients) expect(remotePort(c)).to.equal(b.c2sPort);
      expect(await sessionCount(a)).to.equal(0);
      expect(await sessionCount(b)).to.equal(3);
    } finally {
      await Promise.all(clients.map((c) => c.stop()));
    }
  });

  it("keeps the connection open after the error until the client closes its stream (no reset for the client's </stream:stream>)", async () => {
    const client = await loginClient(a, { user: "kim", password: "pw-kim", resource: "quiet" });
    const socket = (client.xmpp as unknown as { socket: Socket }).socket;
    try {
      // this client does not answer the error (@xmpp/connection 0.14 answers it in disconnect()): only what the
      // server does is seen
      (client.xmpp as unknown as { disconnect: () => Promise<void> }).disconnect = async () => undefined;
      const received: string[] = [];
      socket.on("data", (chunk: Buffer) => received.push(chunk.toString("utf8")));
      const serverEnded = new Promise<void>((resolve) => socket.once("end", () => resolve()));
      const reset = new Promise<string>((resolve) => socket.once("error", (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message)));
      const { "see-other-host": method } = buildMethods(control, undefined);
      expect(await method.apply({ jid: client.jid, bare: `kim@${a.domain}`, resource: "quiet" }, { host: "127.0.0.1", port: b.c2sPort }, live())).to.deep.equal({ status: "sent" });
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const text = received.join("");
      expect(text).to.match(new RegExp(`<see-other-host xmlns=['"]${NS_STREAMS}['"]>127\\.0\\.0\\.1:${b.c2sPort}</see-other-host>`));
      expect(text.trimEnd().endsWith("</stream:stream>"), text).to.equal(true);
      expect(text.indexOf("see-other-host")).to.be.below(text.indexOf("</stream:stream>"));
      expect(socket.readableEnded, "the server closed the TCP connection before the client closed its stream").to.equal(false);
      expect(await control.clientAddress(client.jid), "listed while the server waits for the client's close").to.not.equal(undefined);
      socket.write("</stream:stream>");
      const outcome = await Promise.race([serverEnded.then(() => "ended"), reset]);
      expect(outcome).to.equal("ended");
      expect(await control.clientAddress(client.jid)).to.equal(undefined);
    } finally {
      socket.destroy();
      await client.stop().catch(() => undefined);
    }
  });

  it("real slixmpp clients (1.8.3) get it well-formed, but reconnect to their account's domain, not to node B", async () => {
    const clients: RoamingClient[] = await Promise.all(users.slice(3).map((u) => startRoaming(a, `${u.user}@${a.domain}/slix`, u.password)));
    try {
      const { "see-other-host": method } = buildMethods(control, undefined);
      const marks = clients.map((c) => c.events.length);
      for (const c of clients) {
        expect(await method.apply({ jid: c.jid, bare: c.jid.split("/")[0] as string, resource: "slix" }, { host: "127.0.0.1", port: b.c2sPort }, live())).to.deep.equal({ status: "sent" });
      }
      for (const [i, c] of clients.entries()) {
        const error = await c.next("stream-error", marks[i] as number);
        expect(error.args).to.deep.equal(["see-other-host", `127.0.0.1:${b.c2sPort}`]);
        // slixmpp stores the new address, then its reconnect calls ClientXMPP.connect() without one, which resets it
        // to the JID's domain and port 5222 (SRV, then A/AAAA): behind a load balancer that is the fleet, not node B
        // (nothing listens on localhost:5222 in the lab; were something there, the client would log in there)
        const next = await c.next(["connect-failed", "online"], marks[i] as number);
        expect(next.args.at(-1)).to.equal("5222");
        expect(c.events.slice(marks[i]).some((e) => e.kind === "online" && e.args[1] === String(b.c2sPort))).to.equal(false);
      }
      expect(await sessionCount(a)).to.equal(0);
    } finally {
      await Promise.all(clients.map((c) => c.stop()));
    }
  });

  it("close ends a session with system-shutdown, and a reconnecting slixmpp client comes back", async () => {
    const client = await startRoaming(a, `sam@${a.domain}/closing`, "pw-sam");
    try {
      const mark = client.events.length;
      expect(await buildMethods(control, undefined).close.apply({ jid: client.jid, bare: `sam@${a.domain}`, resource: "closing" }, { host: "127.0.0.1" }, live())).to.deep.equal({ status: "sent" });
      expect((await client.next("stream-error", mark)).args[0]).to.equal("system-shutdown");
      expect((await client.next("online", mark)).args[1]).to.equal(String(a.c2sPort));
    } finally {
      await client.stop();
    }
  });

  it("reports a session that is not there as unavailable", async () => {
    const attempt = await buildMethods(control, undefined)["see-other-host"].apply({ jid: `nobody@${a.domain}/x`, bare: `nobody@${a.domain}`, resource: "x" }, { host: "127.0.0.1", port: b.c2sPort }, live());
    expect(attempt).to.deep.equal({ status: "unavailable", reason: "no such session on this node" });
  });
});

describe("see-other-host through ejabberdctl send_stanza_c2s, two ejabberd nodes", function () {
  this.timeout(120_000);
  let a: LabServer;
  let b: LabServer;
  let control: EjabberdControl;

  before(async () => {
    [a, b] = await Promise.all([startServer({ kind: "ejabberd", name: "soh-ej-a", users }), startServer({ kind: "ejabberd", name: "soh-ej-b", users })]);
    control = new EjabberdControl(new Ejabberdctl(a.ejabberdctl as NonNullable<LabServer["ejabberdctl"]>));
  });
  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
  });

  it("carries IPv4 host:port as [address]:port; xmpp.js follows it to node B unless its socket errors first", async () => {
    const clients = await Promise.all(users.slice(0, 3).map((u) => loginClient(a, { user: u.user, password: u.password, resource: "js" })));
    try {
      const errors = clients.map((c) => new Promise<Element>((resolve) => c.xmpp.on("element", (el: Element) => el.is("error", "http://etherx.jabber.org/streams") && resolve(el))));
      // @xmpp/connection 0.14 _onSeeOtherHost waits for "disconnect" with a promise that an "error" event rejects:
      // ejabberd closes the TCP connection at once after the stream error, so the client's own </stream:stream>
      // can meet a closed socket (ECONNRESET) first, and then the redirect is dropped
      const fates = clients.map((c) => new Promise<string>((resolve) => {
        c.xmpp.on("online", () => resolve(`online:${remotePort(c)}`));
        c.xmpp.on("error", (err: Error) => resolve(`error:${(err as NodeJS.ErrnoException).code ?? err.message}`));
      }));
      const { "see-other-host": method } = buildMethods(control, undefined);
      for (const c of clients) {
        expect(await method.apply({ jid: c.jid, bare: c.jid.split("/")[0] as string, resource: "js" }, { host: "127.0.0.1", port: b.c2sPort }, live())).to.deep.equal({ status: "sent" });
      }
      for (const error of await Promise.all(errors)) expect(error.getChild("see-other-host", NS_STREAMS)?.text()).to.equal(`127.0.0.1:${b.c2sPort}`);
      const outcomes = await Promise.all(fates);
      for (const fate of outcomes) expect(fate).to.be.oneOf([`online:${b.c2sPort}`, "error:ECONNRESET", "error:EPIPE"]);
      console.log(`      xmpp.js after ejabberd's see-other-host: ${outcomes.join(", ")}`);
      for (const c of clients) expect(await control.clientAddress(c.jid)).to.equal(undefined);
    } finally {
      await Promise.all(clients.map((c) => c.stop()));
    }
  });

  it("reports a host name with a non-default port as unavailable, and the session stays", async () => {
    const client = await loginClient(a, { user: "sam", password: "pw-sam", resource: "stay" });
    try {
      const attempt = await buildMethods(control, undefined)["see-other-host"].apply({ jid: client.jid, bare: `sam@${a.domain}`, resource: "stay" }, { host: "node-b.example.com", port: 5223 }, live());
      expect(attempt).to.have.property("status", "unavailable");
      expect(await control.clientAddress(client.jid)).to.not.equal(undefined);
    } finally {
      await client.stop();
    }
  });
});
