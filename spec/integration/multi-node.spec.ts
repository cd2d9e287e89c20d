import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "chai";
import { startServer, type LabServer, type ServerKind } from "../support/lab/index.ts";
import { startFleet, stopFleet, fleetUsers, type FleetMember } from "../support/fleet.ts";
import { runCli } from "../support/cli.ts";
import { specTempDir } from "../support/temp-dir.ts";

/** A YAML config naming both lab nodes, the way an operator describes a cluster (DESIGN.md §3). */
function clusterConfig(a: LabServer, b: LabServer): string {
  const dir = specTempDir("cxfr-multi");
  const node = (name: string, s: LabServer) => {
    writeFileSync(join(dir, `${name}.secret`), `${s.secret}\n`, { mode: 0o600 });
    return `  - name: ${name}\n    server: ${s.componentAddress}\n    component: ${s.component}\n    secret_file: ${join(dir, `${name}.secret`)}\n    public: ${s.c2sAddress}\n`;
  };
  const file = join(dir, "cxfr.yml");
  writeFileSync(file, `domain: ${a.domain}\nnodes:\n${node("a", a)}${node("b", b)}pacing: { rate: 100, grace: 3s }\n`);
  return file;
}

for (const kind of ["prosody", "ejabberd"] as ServerKind[]) {
  describe(`a two-node config file against real ${kind}`, function () {
    this.timeout(90_000);
    let a: LabServer;
    let b: LabServer;
    let config: string;
    let fleet: FleetMember[] = [];
    const env = { PATH: process.env.PATH };

    before(async () => {
      const users = fleetUsers(6);
      [a, b] = await Promise.all([startServer({ kind, name: `${kind}-multi-a`, users }), startServer({ kind, name: `${kind}-multi-b`, users })]);
      config = clusterConfig(a, b);
      fleet = await startFleet({ on: a, reconnectTo: [b], handlers: 2, plain: 2, trusted: [a.component] });
    });
    after(async () => {
      await stopFleet(fleet);
      await Promise.all([a?.stop(), b?.stop()]);
    });

    it("check covers every node", async () => {
      const result = await runCli(["--config", config, "check", "--json"], env);
      expect(result.code, result.stderr).to.equal(0);
      const verdicts = result.events.filter((e) => "exit_code" in e).map((e) => [e.node, e.ok]);
      expect(verdicts).to.deep.equal([["a", true], ["b", true]]);
    });

    it("sessions lists every node, each session with its node", async () => {
      const result = await runCli(["--config", config, "sessions", "--json"], env);
      expect(result.code, result.stderr).to.equal(0);
      expect(result.events.map((e) => `${String(e.node)} ${String(e.jid)}`)).to.deep.equal(fleet.map((m) => `a ${m.jid}`).sort());
    });

    it("a drain needs --node when several nodes are configured", async () => {
      const result = await runCli(["--config", config, "drain", "--to", "b"], env);
      expect(result.code).to.equal(2);
      expect(result.stderr.trim()).to.match(/^cxfr: error: --node: several nodes are configured \(a, b\)/);
    });

    it("drains node a to node b by name, using b's public address and the file's pacing", async () => {
      const result = await runCli(["--config", config, "--node", "a", "drain", "--to", "b", "--json"], env);
      expect(result.code, result.stderr).to.equal(0);
      expect(result.events.at(-1)).to.include({ event: "summary", targeted: 4, moved: 2, kicked: 2 });
      expect(new Set(result.events.filter((e) => e.event === "sent").map((e) => e.target))).to.deep.equal(new Set([b.c2sAddress]));
      const after = await runCli(["--config", config, "sessions", "--json"], env);
      expect(after.events.filter((e) => e.node === "a")).to.deep.equal([]);
    });
  });
}
