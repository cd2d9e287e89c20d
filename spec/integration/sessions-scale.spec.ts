import { expect } from "chai";
import { loginClient, startServer, type LabClient, type LabServer, type ServerKind } from "../support/lab/index.ts";
import { fleetUsers } from "../support/fleet.ts";
import { nodeEnv, runCli } from "../support/cli.ts";

// Prosody's get-online-users-list offers max_items presets up to 200; cxfr asks for "all".
const SESSIONS = 320;

for (const kind of ["prosody", "ejabberd"] as ServerKind[]) {
  describe(`cxfr sessions with ${SESSIONS} sessions on real ${kind}`, function () {
    this.timeout(120_000);
    let server: LabServer;
    const clients: LabClient[] = [];

    before(async () => {
      const users = fleetUsers(SESSIONS / 2);
      server = await startServer({ kind, name: `${kind}-scale`, users });
      for (let i = 0; i < users.length; i += 40) {
        const batch = users.slice(i, i + 40).flatMap((u) => ["one", "two"].map((resource) => loginClient(server, { ...u, resource, presence: {} })));
        clients.push(...(await Promise.all(batch)));
      }
    });
    after(async () => {
      await Promise.all(clients.map((c) => c.stop()));
      await server?.stop();
    });

    it("lists every one of them, no truncation", async () => {
      const result = await runCli(["sessions", "--json"], nodeEnv(server));
      expect(result.code, result.stderr).to.equal(0);
      expect(result.events.map((e) => e.jid).sort()).to.deep.equal(clients.map((c) => c.jid).sort());
    });
  });
}
