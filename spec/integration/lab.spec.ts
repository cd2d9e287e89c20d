// Proves the test lab (spec/support/lab) against both real servers.
import { readFileSync, readdirSync, existsSync } from "node:fs";
import { expect } from "chai";
import { xml } from "@xmpp/component";
import { connectComponent, stopComponent, type LabComponent } from "../support/lab/component.ts";
import type { Element } from "@xmpp/xml";
import { ejabberdctl, loginClient, startServer, type LabClient, type LabServer, type ServerKind } from "../support/lab/index.ts";
import { isAlive } from "../support/lab/processes.ts";
import { portOpen } from "../support/lab/ports.ts";

const COMMANDS = "http://jabber.org/protocol/commands";
const ADMIN = "http://jabber.org/protocol/admin";
const USERS = [
  { user: "alice", password: "pw-alice" },
  { user: "bob", password: "pw-bob" },
  { user: "carol", password: "pw-carol" },
];

type Comp = LabComponent;

async function commandNodes(comp: Comp, domain: string): Promise<string[]> {
  const res = await comp.iqCaller.request(
    xml("iq", { type: "get", to: domain }, xml("query", { xmlns: "http://jabber.org/protocol/disco#items", node: COMMANDS })),
  );
  const query = res.getChild("query", "http://jabber.org/protocol/disco#items");
  return (query?.getChildren("item") ?? []).map((i: Element) => String(i.attrs.node));
}

/** Live (non-zombie) processes whose command line mentions path. */
function processesMentioning(path: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readFileSync(`/proc/${name}/cmdline`, "utf8").includes(path) && isAlive(Number(name))) pids.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/** Presence as the server sees it: Prosody's get-online-users-list (details), ejabberd's connected_users_info. */
async function presenceLines(server: LabServer, comp: Comp): Promise<string> {
  if (server.kind === "ejabberd") return ejabberdctl(server, ["connected_users_info"]);
  const node = `${ADMIN}#get-online-users-list`;
  const first = await comp.iqCaller.request(
    xml("iq", { type: "set", to: server.domain }, xml("command", { xmlns: COMMANDS, node, action: "execute" })),
  );
  const sessionid = first.getChild("command", COMMANDS)?.attrs.sessionid as string;
  const field = (name: string, value: string): Element => xml("field", { var: name }, xml("value", {}, value));
  const res = await comp.iqCaller.request(
    xml(
      "iq",
      { type: "set", to: server.domain },
      xml(
        "command",
        { xmlns: COMMANDS, node, sessionid, action: "complete" },
        xml("x", { xmlns: "jabber:x:data", type: "submit" }, field("FORM_TYPE", ADMIN), field("max_items", "all"), field("details", "1")),
      ),
    ),
  );
  return res.toString();
}

for (const kind of ["prosody", "ejabberd"] as ServerKind[]) {
  describe(`lab: ${kind}`, function () {
    this.timeout(60_000);
    let server: LabServer;
    const clients: LabClient[] = [];
    let comp: Comp | undefined;

    before(async function () {
      server = await startServer({ kind, users: USERS });
    });

    after(async function () {
      await Promise.all(clients.map((c) => c.stop()));
      await stopComponent(comp);
      await server?.stop();
    });

    it("runs the server on loopback ports with a private dir", async function () {
      expect(server.kind).to.equal(kind);
      expect(server.host).to.equal("127.0.0.1");
      expect(server.c2sAddress).to.equal(`127.0.0.1:${server.c2sPort}`);
      expect(server.componentAddress).to.equal(`127.0.0.1:${server.componentPort}`);
      expect(server.domain).to.equal("localhost");
      expect(server.component).to.equal("cxfr.localhost");
      expect(server.secret).to.match(/^[0-9a-f]{32}$/);
      expect(isAlive(server.pid), "server pid alive").to.equal(true);
      expect(existsSync(server.dir)).to.equal(true);
      expect(await portOpen(server.c2sPort)).to.equal(true);
      expect(await portOpen(server.componentPort)).to.equal(true);
    });

    it("logs in registered users, with and without initial presence", async function () {
      const alice = await loginClient(server, { ...USERS[0]!, resource: "r1", presence: { show: "away", priority: 5 } });
      clients.push(alice);
      const bob = await loginClient(server, { ...USERS[1]!, resource: "r2", presence: false });
      clients.push(bob);
      expect(alice.jid).to.equal("alice@localhost/r1");
      expect(bob.jid).to.equal("bob@localhost/r2");
      expect(alice.xmpp.status).to.equal("online");

      comp = await connectComponent(server);
      const seen = await presenceLines(server, comp);
      if (kind === "prosody") {
        expect(seen).to.include("r1: away(5)");
        expect(seen).to.include("r2: unavailable(-)");
      } else {
        expect(seen).to.match(/alice@localhost\/r1\s.*\s5\s.*\saway/);
        expect(seen).to.match(/bob@localhost\/r2\s.*\s-1\s/);
      }
    });

    it("rejects a wrong password", async function () {
      let failed = false;
      await loginClient(server, { user: "carol", password: "wrong", resource: "x" }).then(
        (c) => c.stop(),
        () => (failed = true),
      );
      expect(failed).to.equal(true);
    });

    it("lets the component handshake and, as admin, list admin#end-user-session", async function () {
      comp ??= await connectComponent(server);
      const nodes = await commandNodes(comp, server.domain);
      expect(nodes).to.include(`${ADMIN}#end-user-session`);
    });

    it("allowDomainFrom (default true) lets the component send from the users' domain", async function () {
      comp ??= await connectComponent(server);
      const alice = clients[0]!;
      const got = new Promise<Element>((resolve) => alice.xmpp.on("stanza", (el: Element) => el.is("message") && resolve(el)));
      await comp.send(xml("message", { from: server.domain, to: alice.jid, id: "m1" }, xml("body", {}, "hi")));
      const msg = await got;
      expect(msg.attrs.from).to.equal(server.domain);
      expect(comp.status).to.equal("online");
    });

    it("a second instance of the same kind: componentIsAdmin:false, allowDomainFrom:false, own domains", async function () {
      const other = await startServer({
        kind,
        name: `${kind}-strict`,
        domain: "example.test",
        component: "cxfr.example.test",
        secret: "s3cret",
        componentIsAdmin: false,
        allowDomainFrom: false,
        users: [USERS[0]!],
      });
      let c: Comp | undefined;
      try {
        expect(other.c2sPort).to.not.equal(server.c2sPort);
        expect(other.dir).to.not.equal(server.dir);
        c = await connectComponent(other);
        const nodes = await commandNodes(c, other.domain);
        expect(nodes.filter((n) => n.startsWith(ADMIN))).to.deep.equal([]);
        const alice = await loginClient(other, { ...USERS[0]!, resource: "other" });
        expect(alice.jid).to.equal("alice@example.test/other");
        const closed = new Promise<string>((resolve) => c!.on("error", (e: { condition?: string }) => resolve(String(e.condition))));
        await c.send(xml("message", { from: other.domain, to: alice.jid }, xml("body", {}, "spoof")));
        expect(await closed).to.equal("invalid-from");
        await alice.stop();
      } finally {
        await stopComponent(c);
        await other.stop();
      }
    });

    it("register() adds 60 users in a few seconds, and re-registering updates the password", async function () {
      const many = Array.from({ length: 60 }, (_, n) => ({ user: `u${n}`, password: `pw${n}` }));
      const t0 = Date.now();
      await server.register(many);
      expect(Date.now() - t0).to.be.below(5000);
      await server.register([{ user: "u7", password: "changed" }]);
      const u7 = await loginClient(server, { user: "u7", password: "changed", resource: "r" });
      await u7.stop();
      const u59 = await loginClient(server, { user: "u59", password: "pw59", resource: "r" });
      await u59.stop();
    });

    it("restart() keeps ports and users", async function () {
      const before = { pid: server.pid, c2s: server.c2sPort, comp: server.componentPort };
      await stopComponent(comp);
      comp = undefined;
      await server.restart();
      expect(server.pid).to.not.equal(before.pid);
      expect(isAlive(before.pid)).to.equal(false);
      expect({ c2s: server.c2sPort, comp: server.componentPort }).to.deep.equal({ c2s: before.c2s, comp: before.comp });
      const carol = await loginClient(server, { ...USERS[2]!, resource: "after-restart" });
      clients.push(carol);
      expect(carol.jid).to.equal("carol@localhost/after-restart");
      comp = await connectComponent(server);
      expect(await commandNodes(comp, server.domain)).to.include(`${ADMIN}#end-user-session`);
    });

    it("stop() ends the server: PID gone, ports closed, dir removed, no process left", async function () {
      await Promise.all(clients.splice(0).map((c) => c.stop()));
      await stopComponent(comp);
      comp = undefined;
      const { pid, c2sPort, componentPort, dir } = server;
      await server.stop();
      await server.stop(); // idempotent
      expect(isAlive(pid), "server pid").to.equal(false);
      expect(await portOpen(c2sPort)).to.equal(false);
      expect(await portOpen(componentPort)).to.equal(false);
      expect(existsSync(dir)).to.equal(false);
      expect(processesMentioning(dir)).to.deep.equal([]);
    });
  });
}
