import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "chai";
import { startServer, type LabServer, type ServerKind } from "../support/lab/index.ts";
import { runCli, type CliResult } from "../support/cli.ts";
import { specTempDir } from "../support/temp-dir.ts";

const dir = specTempDir("cxfr-check-channels");

/** A one-node config file with the server host's channel for this kind (DESIGN.md §3 keys). */
function config(server: LabServer, channel: string): string {
  const path = join(dir, `${server.name}-${channel.length}.yml`);
  writeFileSync(path, [
    `domain: ${server.domain}`,
    "nodes:",
    `  - name: a`,
    `    server: ${server.componentAddress}`,
    `    component: ${server.component}`,
    `    secret: ${server.secret}`,
    `    ${channel}`,
    "",
  ].join("\n"));
  return path;
}

function row(result: CliResult, id: string): Record<string, unknown> | undefined {
  return result.events.find((e) => e.check === id);
}

const env = { PATH: process.env.PATH, HOME: process.env.HOME };

for (const kind of ["prosody", "ejabberd"] as ServerKind[]) {
  describe(`cxfr check reports the server host's channels on real ${kind}`, function () {
    this.timeout(90_000);
    let server: LabServer;
    const channelName = kind === "prosody" ? "admin-socket" : "ejabberdctl";

    before(async () => {
      server = await startServer({ kind, name: `${kind}-check-channels` });
    });
    after(async () => {
      await server?.stop();
    });

    it("with the channel configured: usable, and the default chain offers every method", async () => {
      const ctl = server.ejabberdctl;
      const channel = kind === "prosody" ? `admin_socket: ${server.adminSocket}` : `ejabberdctl: { path: ${ctl?.path}, node: ${ctl?.node}, config_dir: ${ctl?.configDir} }`;
      const result = await runCli(["--config", config(server, channel), "check", "--json"], env);
      expect(result.code, result.stderr).to.equal(0);
      expect(row(result, `channel:${channelName}`)).to.include({ status: "ok" });
      expect(row(result, "channel:socket-destroy")).to.include({ status: "ok" });
      const last = result.events.at(-1) as { chain: string[]; channels: Array<{ channel: string; usable: boolean }> };
      expect(last.chain).to.deep.equal(["cxfr", "see-other-host", "reset", "close", "kick"]);
      expect(last.channels.map((c) => [c.channel, c.usable])).to.deep.equal([[channelName, true], ["socket-destroy", true]]);
    });

    it("with a wrong channel setting: says why and what it needs; the chain falls back to cxfr and kick", async () => {
      const channel = kind === "prosody" ? `admin_socket: ${join(dir, "missing.sock")}` : `ejabberdctl: { node: nosuchnode@localhost, config_dir: ${server.ejabberdctl?.configDir} }`;
      const result = await runCli(["--config", config(server, channel), "check", "--json"], env);
      expect(result.code, result.stderr).to.equal(0);
      const item = row(result, `channel:${channelName}`);
      expect(item).to.include({ status: "warn" });
      expect(String(item?.detail)).to.match(kind === "prosody" ? /missing\.sock: ENOENT.*needs mod_admin_shell/ : /found, not usable: .*needs root or the ejabberd user/);
      expect((result.events.at(-1) as { chain: string[] }).chain).to.deep.equal(["cxfr", "kick"]);
    });
  });
}
