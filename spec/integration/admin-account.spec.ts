// The optional c2s admin account: for servers that will not treat the component as an admin, cxfr runs its
// XEP-0133 commands as a logged-in admin user while the component still sends the packets.
import { expect } from "chai";
import xml from "@xmpp/xml";
import { ConnectError, NotAuthorizedError, StanzaError } from "../../lib/errors.ts";
import { AdminAccount, ADMIN_RESOURCE_PREFIX } from "../../lib/link/admin-account.ts";
import { Secret } from "../../lib/secret.ts";
import { dialects } from "../../lib/servers/dialects.ts";
import { ServerAdmin } from "../../lib/servers/server-admin.ts";
import { parseHostPort } from "../../lib/xmpp/address.ts";
import { freePort, loginClient, startServer, type LabClient, type LabServer, type ServerKind } from "../support/lab/index.ts";
import { nodeEnv, runCli, type CliResult } from "../support/cli.ts";

const BOSS = "boss@localhost";
const BOSS_PASSWORD = "boss-secret-7731";
const WRONG_PASSWORD = "wrong-boss-pass-9912";
const users = [
  { user: "boss", password: BOSS_PASSWORD },
  ...["alice", "bob", "carol"].map((user) => ({ user, password: `pw-${user}` })),
];

function checkRow(result: CliResult, id: string): Record<string, unknown> | undefined {
  return result.events.find((e) => e.check === id);
}

for (const kind of ["prosody", "ejabberd"] as ServerKind[]) {
  describe(`admin account (c2s) against real ${kind}`, function () {
    this.timeout(60_000);
    let server: LabServer;
    const clients: LabClient[] = [];
    const adminEnv = (extra: Record<string, string> = {}) =>
      nodeEnv(server, { CXFR_ADMIN_JID: BOSS, CXFR_ADMIN_PASSWORD: BOSS_PASSWORD, CXFR_ADMIN_SERVER: server.c2sAddress, ...extra });

    before(async () => {
      server = await startServer({ kind, name: `${kind}-admin-account`, componentIsAdmin: false, adminUsers: [BOSS], users });
      for (const [user, resource] of [["alice", "laptop"], ["alice", "phone"], ["bob", "desk"], ["boss", "desk"]] as const) {
        clients.push(await loginClient(server, { user, password: user === "boss" ? BOSS_PASSWORD : `pw-${user}`, resource }));
      }
    });
    after(async () => {
      await Promise.all(clients.map((c) => c.stop()));
      await server?.stop();
    });

    it("logs in, runs admin commands, sees its own session, and maps errors to typed errors", async () => {
      const account = new AdminAccount({ jid: BOSS, password: new Secret(BOSS_PASSWORD), server: parseHostPort(server.c2sAddress, "c2s"), iqTimeoutMs: 5000 });
      await account.start();
      try {
        expect(account.state).to.equal("online");
        expect(account.address).to.match(new RegExp(`^${BOSS}/${ADMIN_RESOURCE_PREFIX}[0-9a-f]{8}$`));
        const admin = new ServerAdmin((iq) => account.request(iq), server.domain, dialects[kind]);
        const listed = (await admin.listSessions()).map((s) => s.jid);
        expect(listed).to.include(account.address).and.to.include.members(clients.map((c) => c.jid));
        const refused = await account.request(xml("iq", { type: "get", to: server.domain }, xml("query", { xmlns: "urn:cxfr:no-such-namespace" }))).catch((e: unknown) => e);
        expect(refused).to.be.instanceOf(StanzaError);
      } finally {
        await account.stop();
      }
      await account.request(xml("iq", { type: "get", to: server.domain })).then(
        () => expect.fail("request after stop() resolved"),
        (err: unknown) => expect(err).to.be.instanceOf(ConnectError),
      );
    });

    it("AdminAccount.start() rejects a wrong password with NotAuthorizedError and a refused port with ConnectError", async () => {
      const wrong = new AdminAccount({ jid: BOSS, password: new Secret(WRONG_PASSWORD), server: parseHostPort(server.c2sAddress, "c2s") });
      const denied = await wrong.start().catch((e: unknown) => e);
      expect(denied).to.be.instanceOf(NotAuthorizedError);
      expect((denied as NotAuthorizedError).message).to.equal(`admin account ${BOSS}: login refused (not-authorized)`);
      expect((denied as NotAuthorizedError).exitCode).to.equal(3);
      expect(wrong.state).to.equal("stopped");

      const closed = new AdminAccount({ jid: BOSS, password: new Secret(BOSS_PASSWORD), server: { host: "127.0.0.1", port: await freePort() } });
      const refused = await closed.start().catch((e: unknown) => e);
      expect(refused).to.be.instanceOf(ConnectError);
      expect((refused as ConnectError).message).to.include("connection refused");
    });

    it("cxfr check passes with the admin account although the component is not an admin", async () => {
      const result = await runCli(["check", "--json"], adminEnv());
      expect(result.code, result.stdout + result.stderr).to.equal(0);
      expect(checkRow(result, "admin-account")?.status).to.equal("ok");
      expect(String(checkRow(result, "admin-account")?.detail)).to.match(new RegExp(`^logged in as ${BOSS}`));
      expect(checkRow(result, "admin")?.status).to.equal("ok");
      expect(String(checkRow(result, "admin")?.detail)).to.include(BOSS);
      expect(checkRow(result, "sessions")?.status).to.equal("ok");
      expect(result.events.at(-1)).to.include({ kind, ok: true, exit_code: 0 });
      expect(result.stdout + result.stderr).not.to.include(BOSS_PASSWORD);
    });

    it("cxfr sessions lists the clients, including the account's other sessions, but not cxfr's own", async () => {
      const result = await runCli(["sessions", "--json"], adminEnv());
      expect(result.code, result.stderr).to.equal(0);
      const listed = result.events.map((e) => String(e.jid)).sort();
      expect(listed).to.deep.equal(clients.map((c) => c.jid).sort());
      expect(listed.some((jid) => jid.includes(`/${ADMIN_RESOURCE_PREFIX}`))).to.equal(false);
    });

    it("a wrong admin password: exit 3, one clear line, the password never printed", async () => {
      const check = await runCli(["check", "--json"], adminEnv({ CXFR_ADMIN_PASSWORD: WRONG_PASSWORD }));
      expect(check.code).to.equal(3);
      expect(checkRow(check, "admin-account")).to.include({ status: "fail", detail: `admin account ${BOSS}: login refused (not-authorized)` });
      expect(check.stdout + check.stderr).not.to.include(WRONG_PASSWORD);

      const sessions = await runCli(["sessions"], adminEnv({ CXFR_ADMIN_PASSWORD: WRONG_PASSWORD }));
      expect(sessions.code).to.equal(3);
      expect(sessions.stderr.trim().split("\n")).to.have.length(1);
      expect(sessions.stderr).to.include(`admin account ${BOSS}: login refused (not-authorized)`);
      expect(sessions.stdout + sessions.stderr).not.to.include(WRONG_PASSWORD);
    });

    it("an account without admin rights: exit 3 with the server config naming the account", async () => {
      const result = await runCli(["check", "--json"], nodeEnv(server, { CXFR_ADMIN_JID: "alice@localhost", CXFR_ADMIN_PASSWORD: "pw-alice", CXFR_ADMIN_SERVER: server.c2sAddress }));
      expect(result.code).to.equal(3);
      expect(checkRow(result, "admin-account")?.status).to.equal("ok");
      const admin = checkRow(result, "admin");
      expect(admin?.status).to.equal("fail");
      expect(String(admin?.detail)).to.include("alice@localhost has no admin rights");
      expect(String(admin?.fix)).to.include(kind === "prosody" ? 'admins = { "alice@localhost" }' : "user: [alice@localhost]");
    });

    it("an unreachable admin server: exit 3, connection refused", async () => {
      const result = await runCli(["check", "--json"], adminEnv({ CXFR_ADMIN_SERVER: `127.0.0.1:${await freePort()}` }));
      expect(result.code).to.equal(3);
      expect(checkRow(result, "admin-account")?.status).to.equal("fail");
      expect(String(checkRow(result, "admin-account")?.detail)).to.include("connection refused");
    });

    it("cxfr drain ends sessions through the account and leaves the account alone", async () => {
      const result = await runCli(["drain", "--json", "--to", server.c2sAddress, "--grace", "1s", "--from", "component", "--announce", "moving"], adminEnv());
      expect(result.code, result.stdout + result.stderr).to.equal(0);
      const touched = new Set(result.events.filter((e) => e.jid !== undefined).map((e) => String(e.jid)));
      expect([...touched].sort()).to.deep.equal(clients.filter((c) => !c.jid.startsWith("boss@")).map((c) => c.jid).sort());
      expect(result.events.some((e) => e.event === "announced")).to.equal(true);
      expect(result.events.at(-1)).to.include({ event: "summary", targeted: 3, kicked: 3, failed: 0, remaining: 0 });
      const after = await runCli(["sessions", "--json"], adminEnv());
      expect(after.events.map((e) => e.jid)).to.deep.equal([`${BOSS}/desk`]);
    });

    it("without the admin account the same server fails the check (component not admin)", async () => {
      const result = await runCli(["check", "--json"], nodeEnv(server));
      expect(result.code).to.equal(3);
      expect(checkRow(result, "admin-account")).to.equal(undefined);
      const admin = checkRow(result, "admin");
      expect(admin?.status).to.equal("fail");
      expect(String(admin?.fix)).to.include(kind === "prosody" ? 'admins = { "cxfr.localhost" }' : "server: [cxfr.localhost]");
    });
  });
}
