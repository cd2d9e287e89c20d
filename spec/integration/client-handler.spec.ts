// cxfr/client against real servers: two independent nodes of one domain ("localhost", same users),
// a component on node A sending the transfer packet, the client moving to node B.
import { expect } from "chai";
import type { Socket } from "node:net";
import { xml } from "@xmpp/component";
import { connectComponent, stopComponent, type LabComponent } from "../support/lab/component.ts";
import type { Client } from "@xmpp/client";
import type { Element } from "@xmpp/xml";
import { handleTransfers, type TransferHandler, type TransferHandlerOptions, type TransferInfo } from "../../lib/client/index.ts";
import { buildTransferIq, NS_SRVXFR } from "../../lib/xmpp/transfer.ts";
import { freePort, loginClient, startServer, type LabClient, type LabServer, type ServerKind } from "../support/lab/index.ts";

const users = [
  { user: "alice", password: "pw-alice" },
  { user: "bob", password: "pw-bob" },
];
const NS_STREAMS = "urn:ietf:params:xml:ns:xmpp-streams";
const NS_SM = "urn:xmpp:sm:3";

type Comp = LabComponent;

const remotePort = (c: Client): number | undefined => (c as unknown as { socket: Socket | null }).socket?.remotePort;

function nextEvent<T = unknown>(emitter: { once(e: string, f: (v: T) => void): unknown; off(e: string, f: (v: T) => void): unknown }, event: string, ms = 10_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, on);
      reject(new Error(`no ${event} within ${ms} ms`));
    }, ms);
    const on = (v: T): void => {
      clearTimeout(timer);
      resolve(v);
    };
    emitter.once(event, on);
  });
}

async function waitUntil(what: string, cond: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** "result", or the error condition the server/client answered a ping to `jid` with. */
async function ping(comp: Comp, jid: string): Promise<string> {
  try {
    await comp.iqCaller.request(xml("iq", { type: "get", to: jid }, xml("ping", { xmlns: "urn:xmpp:ping" })), 5000);
    return "result";
  } catch (err) {
    return (err as { condition?: string }).condition ?? String(err);
  }
}

function transferIq(to: string, from: string, port: number, namespace?: string): Element {
  return buildTransferIq({ to, from, domain: "localhost", server: { host: "127.0.0.1", port }, ...(namespace && { namespace }) });
}

/** Everything the client wrote, and the <failed/>/<resumed/> it got, from now on. */
function record(c: Client): { sent: Element[]; received: Element[] } {
  const log = { sent: [] as Element[], received: [] as Element[] };
  c.on("send", (el: Element) => log.sent.push(el));
  c.on("nonza", (el: Element) => log.received.push(el));
  return log;
}

function gapLog(label: string, ms: number): void {
  // measured numbers land in the spec output, for the README's Performance section
  process.stdout.write(`      [${label}: ${ms} ms from packet to session on the new node]\n`);
}

describe("cxfr/client handleTransfers against two real Prosody nodes", function () {
  this.timeout(60_000);
  let a: LabServer;
  let b: LabServer;
  let compA: Comp;
  let compB: Comp;
  let alice: LabClient | undefined;
  let handler: TransferHandler | undefined;
  let seen: { transfers: TransferInfo[]; refused: Array<{ from: string; reason: string }> };

  before(async () => {
    [a, b] = await Promise.all(
      ["a", "b"].map((n) => startServer({ kind: "prosody", name: `xfer-${n}`, domain: "localhost", allowDomainFrom: true, users })),
    ) as [LabServer, LabServer];
    [compA, compB] = await Promise.all([connectComponent(a), connectComponent(b)]);
  });
  after(async () => {
    await Promise.all([stopComponent(compA), stopComponent(compB)]);
    await Promise.all([a?.stop(), b?.stop()]);
  });

  /** alice/r1 on node A; the handler is installed before the first presence, as an application would. */
  async function login(opts: TransferHandlerOptions, reconnect = false): Promise<LabClient> {
    const c = await loginClient(a, { user: "alice", password: "pw-alice", resource: "r1", reconnect, presence: false });
    alice = c;
    seen = { transfers: [], refused: [] };
    handler = handleTransfers(c.xmpp, {
      ...opts,
      onTransfer: (i) => seen.transfers.push(i),
      onRefused: (i) => seen.refused.push(i),
    });
    await c.xmpp.send(xml("presence"));
    return c;
  }
  afterEach(async () => {
    handler?.stop();
    await alice?.stop();
    alice = undefined;
  });

  it("moves to node B on a packet from a trusted component: result first, same resource, presence re-sent", async () => {
    const c = await login({ trusted: [a.component] });
    expect(remotePort(c.xmpp)).to.equal(a.c2sPort);
    const log = record(c.xmpp);
    const online = nextEvent(c.xmpp, "online");
    const t0 = Date.now();
    const reply = await compA.iqCaller.request(transferIq(c.jid, a.component, b.c2sPort), 5000);
    expect(reply.attrs.type).to.equal("result");
    await online;
    gapLog("prosody A -> B, trusted component", Date.now() - t0);

    expect(remotePort(c.xmpp)).to.equal(b.c2sPort);
    expect(c.xmpp.jid?.toString()).to.equal("alice@localhost/r1");
    expect(c.xmpp.options.service).to.equal(`xmpp://127.0.0.1:${b.c2sPort}`);
    expect(await ping(compB, c.jid)).to.equal("result");
    expect(await ping(compA, c.jid)).to.equal("service-unavailable");
    expect(handler?.transfers).to.equal(1);
    expect(seen.transfers).to.deep.equal([{ from: a.component, server: { host: "127.0.0.1", port: b.c2sPort }, domain: "localhost", namespace: "urn:xmpp:cxfr" }]);
    // the reply went out on A before the stream was closed; after the login on B, presence again
    const replyAt = log.sent.findIndex((el) => el.name === "iq" && el.attrs.type === "result");
    await waitUntil("presence re-sent", () => log.sent.some((el) => el.name === "presence"));
    const presenceAt = log.sent.findIndex((el) => el.name === "presence");
    expect(replyAt).to.be.greaterThan(-1);
    expect(presenceAt).to.be.greaterThan(replyAt);
  });

  it("later ordinary reconnects go to the new node", async () => {
    const c = await login({ trusted: [a.component] });
    const online = nextEvent(c.xmpp, "online");
    await compA.iqCaller.request(transferIq(c.jid, a.component, b.c2sPort), 5000);
    await online;
    c.xmpp.reconnect.start();
    const again = nextEvent(c.xmpp, "online");
    (c.xmpp as unknown as { socket: Socket }).socket.destroy();
    await again;
    expect(remotePort(c.xmpp)).to.equal(b.c2sPort);
  });

  it("moves on a packet from the user's own domain (legacy jabber:iq:srvxfr too)", async () => {
    const c = await login({});
    const online = nextEvent(c.xmpp, "online");
    const t0 = Date.now();
    // Prosody drops the client's reply to "localhost", so the component cannot wait for it
    await compA.send(buildTransferIq({ id: "from-domain", to: c.jid, from: "localhost", domain: "localhost", server: { host: "127.0.0.1", port: b.c2sPort }, namespace: NS_SRVXFR }));
    await online;
    gapLog("prosody A -> B, from the domain", Date.now() - t0);
    expect(remotePort(c.xmpp)).to.equal(b.c2sPort);
    expect(seen.transfers.map((t) => [t.from, t.namespace])).to.deep.equal([["localhost", NS_SRVXFR]]);
    expect(await ping(compB, c.jid)).to.equal("result");
  });

  it("refuses a packet from a JID it does not trust: forbidden, and stays on node A", async () => {
    const c = await login({});
    let moved = false;
    c.xmpp.on("disconnect", () => (moved = true));
    const err = await compA.iqCaller.request(transferIq(c.jid, a.component, b.c2sPort), 5000).then(
      () => undefined,
      (e: { condition?: string; type?: string }) => e,
    );
    expect(err).to.include({ condition: "forbidden" });
    await new Promise((r) => setTimeout(r, 300));
    expect(moved).to.equal(false);
    expect(remotePort(c.xmpp)).to.equal(a.c2sPort);
    expect(handler?.transfers).to.equal(0);
    expect(seen.refused.map((r) => r.from)).to.deep.equal([a.component]);
    expect(await ping(compA, c.jid)).to.equal("result");
  });

  it("refuses a packet without a valid <server>: bad-request", async () => {
    const c = await login({ trusted: [a.component] });
    const iq = xml("iq", { type: "set", to: c.jid, from: a.component }, xml("query", { xmlns: "urn:xmpp:cxfr" }, xml("domain", {}, "localhost")));
    const err = await compA.iqCaller.request(iq, 5000).then(
      () => undefined,
      (e: { condition?: string }) => e,
    );
    expect(err).to.include({ condition: "bad-request" });
    expect(remotePort(c.xmpp)).to.equal(a.c2sPort);
  });

  it("a transfer to a server nobody listens on: error reported, service restored, back on node A", async () => {
    const c = await login({ trusted: [a.component] }, true);
    const errors: Error[] = [];
    c.xmpp.on("error", (e: Error) => errors.push(e));
    const back = nextEvent(c.xmpp, "online");
    await compA.iqCaller.request(transferIq(c.jid, a.component, await freePort()), 5000);
    await back;
    expect(remotePort(c.xmpp)).to.equal(a.c2sPort);
    expect(c.xmpp.options.service).to.equal(`xmpp://${a.c2sAddress}`);
    expect(errors.map((e) => (e as { code?: string }).code)).to.include("ECONNREFUSED");
    expect(await ping(compA, c.jid)).to.equal("result");
  });

  it("connects to IPv6 literals other than [::1] (xmpp.js 0.14 keeps their brackets)", async () => {
    const c = await login({});
    const params = (s: string): unknown => (c.xmpp as unknown as { socketParameters(s: string): unknown }).socketParameters(s);
    expect(params("xmpp://[2001:db8::1]:5333")).to.deep.equal({ host: "2001:db8::1", port: 5333 });
    handler?.stop();
    expect(params("xmpp://[2001:db8::1]:5333")).to.deep.equal({ host: "[2001:db8::1]", port: 5333 });
  });

  describe("see-other-host stream errors (synthetic: stock Prosody cannot send a valid one)", () => {
    const streamError = (host?: string): Element =>
      xml("stream:error", { "xmlns:stream": "http://etherx.jabber.org/streams" }, xml("see-other-host", { xmlns: NS_STREAMS }, ...(host ? [host] : [])));
    const inject = (c: Client, el: Element): void => (c as unknown as { _onElement(e: Element): void })._onElement(el);

    it("an empty <see-other-host/> is a plain disconnect: no crash, reconnects to the same node", async () => {
      const c = await login({}, true);
      const errors: Error[] = [];
      c.xmpp.on("error", (e: Error) => errors.push(e));
      const again = nextEvent(c.xmpp, "online");
      inject(c.xmpp, streamError());
      await again;
      expect(remotePort(c.xmpp)).to.equal(a.c2sPort);
      expect(c.xmpp.options.service).to.equal(`xmpp://${a.c2sAddress}`);
      expect(seen.refused.map((r) => r.reason)).to.deep.equal(["see-other-host names no host"]);
      expect(errors.map((e) => (e as { condition?: string }).condition)).to.include("see-other-host");
      expect(handler?.transfers).to.equal(0);
    });

    it("a valid one is followed, and the new host sticks for later reconnects", async () => {
      const c = await login({}, true);
      const moved = nextEvent(c.xmpp, "online");
      inject(c.xmpp, streamError(`127.0.0.1:${b.c2sPort}`));
      await moved;
      expect(remotePort(c.xmpp)).to.equal(b.c2sPort);
      expect(handler?.transfers).to.equal(1);
      expect(seen.transfers[0]).to.include({ namespace: NS_STREAMS });
      const again = nextEvent(c.xmpp, "online");
      (c.xmpp as unknown as { socket: Socket }).socket.destroy();
      await again;
      expect(remotePort(c.xmpp)).to.equal(b.c2sPort);
    });
  });
});

describe("cxfr/client handleTransfers against real ejabberd (XEP-0198)", function () {
  this.timeout(90_000);
  let a: LabServer;
  let b: LabServer;
  let compA: Comp;
  let compB: Comp;
  const clients: LabClient[] = [];
  const handlers: TransferHandler[] = [];

  before(async function () {
    if (process.getuid?.() !== 0) this.skip(); // Debian's ejabberdctl runs only as root (see the lab)
    [a, b] = await Promise.all(
      ["a", "b"].map((n) => startServer({ kind: "ejabberd" as ServerKind, name: `xfer-ej-${n}`, domain: "localhost", users })),
    ) as [LabServer, LabServer];
    [compA, compB] = await Promise.all([connectComponent(a), connectComponent(b)]);
  });
  after(async () => {
    await Promise.all([stopComponent(compA), stopComponent(compB)]);
    await Promise.all([a?.stop(), b?.stop()]);
  });
  afterEach(async () => {
    handlers.splice(0).forEach((h) => h.stop());
    await Promise.all(clients.splice(0).map((c) => c.stop()));
  });

  /** alice on node A with XEP-0198 enabled; presence only after <enabled/> (see the lab's client.ts). */
  async function login(resource: string, trusted?: string[]): Promise<LabClient> {
    const c = await loginClient(a, { user: "alice", password: "pw-alice", resource, presence: false });
    clients.push(c);
    if (trusted) handlers.push(handleTransfers(c.xmpp, { trusted }));
    await waitUntil("stream management enabled", () => c.xmpp.streamManagement.enabled);
    await c.xmpp.send(xml("presence"));
    return c;
  }

  it("resumes the session where the server shares it (same node): no presence flap, no fresh login", async () => {
    // A second ejabberd node of a real cluster would share the session table; the lab's nodes cannot
    // be clustered, so the session is "moved" to the node that holds it, through a new connection.
    const watcher = await login("watcher");
    const flaps: string[] = [];
    watcher.xmpp.on("stanza", (el: Element) => {
      if (el.name === "presence" && el.attrs.from === "alice@localhost/r1") flaps.push(el.attrs.type ?? "available");
    });
    const c = await login("r1", [a.component]);
    await waitUntil("r1's initial presence at the watcher", () => flaps.length > 0);
    flaps.length = 0;
    let freshLogin = false;
    c.xmpp.on("online", () => (freshLogin = true));
    const oldPort = (c.xmpp as unknown as { socket: Socket }).socket.localPort;
    const resumed = nextEvent(c.xmpp.streamManagement as never, "resumed");
    const t0 = Date.now();
    await compA.iqCaller.request(transferIq(c.jid, a.component, a.c2sPort), 5000);
    await resumed;
    gapLog("ejabberd, XEP-0198 resume", Date.now() - t0);
    expect((c.xmpp as unknown as { socket: Socket }).socket.localPort).to.not.equal(oldPort);
    expect(c.xmpp.status).to.equal("online");
    await new Promise((r) => setTimeout(r, 500));
    expect(freshLogin).to.equal(false);
    expect(flaps).to.deep.equal([]);
    expect(await ping(compA, c.jid)).to.equal("result");
  });

  it("a transfer to a server nobody listens on: back on node A by resumption", async () => {
    const c = await loginClient(a, { user: "alice", password: "pw-alice", resource: "r3", presence: false, reconnect: true });
    clients.push(c);
    handlers.push(handleTransfers(c.xmpp, { trusted: [a.component] }));
    await waitUntil("stream management enabled", () => c.xmpp.streamManagement.enabled);
    await c.xmpp.send(xml("presence"));
    const resumed = nextEvent(c.xmpp.streamManagement as never, "resumed");
    await compA.iqCaller.request(transferIq(c.jid, a.component, await freePort()), 5000);
    await resumed;
    expect(remotePort(c.xmpp)).to.equal(a.c2sPort);
    expect(c.xmpp.options.service).to.equal(`xmpp://${a.c2sAddress}`);
    expect(await ping(compA, c.jid)).to.equal("result");
  });

  it("on an independent node: resumption fails (item-not-found), fresh login there, old session ended", async () => {
    const c = await login("r2", [a.component]);
    const log = record(c.xmpp);
    const online = nextEvent(c.xmpp, "online");
    const t0 = Date.now();
    await compA.iqCaller.request(transferIq(c.jid, a.component, b.c2sPort), 5000);
    await online;
    gapLog("ejabberd A -> B, resume failed, fresh login", Date.now() - t0);
    expect(remotePort(c.xmpp)).to.equal(b.c2sPort);
    expect(log.sent.some((el) => el.is("resume", NS_SM))).to.equal(true);
    const failed = log.received.find((el) => el.is("failed", NS_SM));
    expect(failed?.getChild("item-not-found")).to.not.equal(undefined);
    await waitUntil("presence re-sent", () => log.sent.some((el) => el.name === "presence"));
    await waitUntil("stream management enabled on B", () => c.xmpp.streamManagement.enabled);
    expect(await ping(compB, c.jid)).to.equal("result");
    // closed cleanly on A rather than left resumable there
    expect(await ping(compA, c.jid)).to.equal("service-unavailable");
  });
});
