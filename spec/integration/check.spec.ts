import { expect } from "chai";
import { startServer, type LabServer, type ServerKind } from "../support/lab/index.ts";
import { freePort } from "../support/lab/index.ts";
import { nodeEnv, runCli, type CliResult } from "../support/cli.ts";

function checkRow(result: CliResult, id: string): Record<string, unknown> | undefined {
  return result.events.find((e) => e.check === id);
}

for (const kind of ["prosody", "ejabberd"] as ServerKind[]) {
  describe(`cxfr check against real ${kind}`, function () {
    this.timeout(60_000);
    let good: LabServer;
    let locked: LabServer;

    before(async () => {
      [good, locked] = await Promise.all([
        startServer({ kind, name: `${kind}-check-good` }),
        startServer({ kind, name: `${kind}-check-locked`, componentIsAdmin: false, allowDomainFrom: false }),
      ]);
    });
    after(async () => {
      await Promise.all([good?.stop(), locked?.stop()]);
    });

    it("passes with a correct config and reports the server, admin rights and methods", async () => {
      const result = await runCli(["check", "--json"], nodeEnv(good));
      expect(result.code, result.stderr).to.equal(0);
      expect(checkRow(result, "handshake")?.status).to.equal("ok");
      expect(checkRow(result, "server")?.detail).to.match(new RegExp(kind, "i"));
      expect(checkRow(result, "admin")?.status).to.equal("ok");
      expect(checkRow(result, "from-domain")?.status).to.equal("ok");
      const last = result.events.at(-1) as Record<string, unknown>;
      expect(last).to.include({ kind, from_domain: "allowed", ok: true, exit_code: 0 });
      expect(last.methods).to.include("kick");
      expect(result.stdout + result.stderr).not.to.include(good.secret);
    });

    it("prints a readable table on a terminal-less run without --json", async () => {
      const result = await runCli(["check"], nodeEnv(good));
      expect(result.code).to.equal(0);
      expect(result.stdout).to.match(/^CHECK\s+STATUS\s+DETAIL/m);
      expect(result.stdout).to.match(/^handshake\s+ok\s+component cxfr\.localhost accepted/m);
    });

    it("fails with exit 3 and says the secret is wrong", async () => {
      const result = await runCli(["check", "--json"], nodeEnv(good, { CXFR_COMPONENT_SECRET: "not-the-secret" }));
      expect(result.code).to.equal(3);
      const handshake = checkRow(result, "handshake");
      expect(handshake?.status).to.equal("fail");
      expect(String(handshake?.detail)).to.match(/wrong component secret/);
      expect(result.stdout + result.stderr).not.to.include("not-the-secret");
    });

    it("fails with exit 3 when the component is not an admin, printing the server config to add", async () => {
      const result = await runCli(["check", "--json"], nodeEnv(locked));
      expect(result.code).to.equal(3);
      const admin = checkRow(result, "admin");
      expect(admin?.status).to.equal("fail");
      expect(String(admin?.fix)).to.include(kind === "prosody" ? 'admins = { "cxfr.localhost" }' : "server: [cxfr.localhost]");
    });

    it("reports sending from the users' domain as forbidden, and the link comes back", async () => {
      const result = await runCli(["check", "--json"], nodeEnv(locked));
      const from = checkRow(result, "from-domain");
      expect(from?.status).to.equal("warn");
      expect(String(from?.detail)).to.include("invalid-from").and.to.include("link back online");
      expect(String(from?.fix)).to.include(kind === "prosody" ? "validate_from_addresses = false" : "check_from: false");
      expect(result.events.at(-1)).to.include({ from_domain: "forbidden" });
    });

    it("fails with exit 3 when the server is down", async () => {
      const port = await freePort();
      const result = await runCli(["check", "--json"], nodeEnv({ componentAddress: `127.0.0.1:${port}`, component: good.component, secret: good.secret, domain: good.domain }));
      expect(result.code).to.equal(3);
      expect(checkRow(result, "tcp")).to.include({ status: "fail" });
      expect(String(checkRow(result, "tcp")?.detail)).to.include("connection refused");
    });

    it("fails when --from domain is required but forbidden", async () => {
      const result = await runCli(["check", "--json"], nodeEnv(locked, { CXFR_FROM: "domain" }));
      expect(result.code).to.equal(3);
      expect(checkRow(result, "from-domain")?.status).to.equal("fail");
    });
  });
}
