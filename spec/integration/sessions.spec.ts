import { expect } from "chai";
import { loginClient, startServer, type LabClient, type LabServer, type ServerKind } from "../support/lab/index.ts";
import { nodeEnv, runCli } from "../support/cli.ts";

const users = ["alice", "bob", "carol", "dave"].map((user) => ({ user, password: `pw-${user}` }));

/** Several users, several resources each, one session that never sent presence. */
const logins = [
  { user: "alice", resource: "laptop", presence: { show: "away", priority: 5 } },
  { user: "alice", resource: "phone", presence: {} },
  { user: "alice", resource: "tablet: spare", presence: {} },
  { user: "bob", resource: "desk", presence: { show: "dnd", priority: -1 } },
  { user: "bob", resource: "mobile", presence: {} },
  { user: "carol", resource: "silent", presence: false as const },
];

for (const kind of ["prosody", "ejabberd"] as ServerKind[]) {
  describe(`cxfr sessions against real ${kind}`, function () {
    this.timeout(60_000);
    let server: LabServer;
    const clients: LabClient[] = [];

    before(async () => {
      server = await startServer({ kind, name: `${kind}-sessions`, users });
      for (const l of logins) clients.push(await loginClient(server, { user: l.user, password: `pw-${l.user}`, resource: l.resource, presence: l.presence }));
    });
    after(async () => {
      await Promise.all(clients.map((c) => c.stop()));
      await server?.stop();
    });

    it("lists exactly the sessions the lab logged in", async () => {
      const result = await runCli(["sessions", "--json"], nodeEnv(server));
      expect(result.code, result.stderr).to.equal(0);
      const listed = result.events.map((e) => e.jid).sort();
      expect(listed).to.deep.equal(clients.map((c) => c.jid).sort());
      for (const e of result.events) expect(e.ip).to.equal("127.0.0.1");
    });

    if (kind === "prosody") {
      it("shows presence and priority, and no presence for a silent session", async () => {
        const result = await runCli(["sessions", "--json"], nodeEnv(server));
        const byJid = new Map(result.events.map((e) => [e.jid, e]));
        expect(byJid.get("alice@localhost/laptop")).to.include({ show: "away", priority: 5 });
        expect(byJid.get("bob@localhost/desk")).to.include({ show: "dnd", priority: -1 });
        expect(byJid.get("carol@localhost/silent")).to.include({ show: "unavailable", priority: null });
      });
    }

    it("filters by account and by session with --user", async () => {
      const account = await runCli(["sessions", "--json", "--user", "alice@localhost"], nodeEnv(server));
      expect(account.events.map((e) => e.jid).sort()).to.deep.equal(["alice@localhost/laptop", "alice@localhost/phone", "alice@localhost/tablet: spare"]);
      const one = await runCli(["sessions", "--json", "--user", "bob@localhost/mobile"], nodeEnv(server));
      expect(one.events.map((e) => e.jid)).to.deep.equal(["bob@localhost/mobile"]);
    });
  });
}
