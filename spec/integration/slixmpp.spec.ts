import { expect } from "chai";
import { startServer, type LabServer, type ServerKind } from "../support/lab/index.ts";
import { startSlixmpp, type SlixmppSession } from "../support/slixmpp/index.ts";
import { nodeEnv, runCli } from "../support/cli.ts";

const users = ["sam", "kim"].map((user) => ({ user, password: `pw-${user}` }));

for (const kind of ["prosody", "ejabberd"] as ServerKind[]) {
  describe(`drain of real slixmpp clients on ${kind}`, function () {
    this.timeout(90_000);
    let a: LabServer;
    let b: LabServer;
    let clients: SlixmppSession[] = [];

    before(async () => {
      [a, b] = await Promise.all([startServer({ kind, name: `${kind}-slix-a`, users }), startServer({ kind, name: `${kind}-slix-b`, users })]);
      clients = await Promise.all(users.map((u) => startSlixmpp(a, `${u.user}@${a.domain}/slix`, u.password)));
    });
    after(async () => {
      await Promise.all(clients.map((c) => c.stop()));
      await Promise.all([a?.stop(), b?.stop()]);
    });

    it("sees their refusal of the packet and kicks them at once", async () => {
      const result = await runCli(["drain", "--to", b.c2sAddress, "--from", "component", "--grace", "30s", "--json"], nodeEnv(a));
      expect(result.code, result.stderr).to.equal(0);
      const rejected = result.events.filter((e) => e.event === "rejected");
      // slixmpp answers IQs it has no handler for with feature-not-implemented
      expect(rejected.map((e) => e.jid).sort()).to.deep.equal(clients.map((c) => c.jid).sort());
      expect(rejected.every((e) => e.condition === "feature-not-implemented")).to.equal(true);
      expect(result.events.at(-1)).to.include({ event: "summary", targeted: 2, kicked: 2, moved: 0 });
      for (const e of result.events.filter((ev) => ev.event === "kicked")) expect(Number(e.after_ms)).to.be.below(15_000);
      for (const c of clients) expect(c.iqs).to.include("urn:xmpp:cxfr");
      await Promise.all(clients.map((c) => c.disconnected));
    });
  });
}
