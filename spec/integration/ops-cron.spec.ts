import { spawn } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect } from "chai";
import { startServer, type LabServer } from "../support/lab/index.ts";
import { fleetUsers, startFleet, stopFleet, type FleetMember } from "../support/fleet.ts";
import { CXFR_BIN, runCli } from "../support/cli.ts";
import { specTempDir } from "../support/temp-dir.ts";

const SCRIPT = fileURLToPath(new URL("../../ops/cron/weekly-restart.sh", import.meta.url));

describe("ops/cron/weekly-restart.sh as written, against two real Prosody nodes, without a TTY", function () {
  this.timeout(180_000);
  let a: LabServer;
  let b: LabServer;
  let fleet: FleetMember[] = [];
  let dir: string;

  before(async () => {
    const users = fleetUsers(4);
    [a, b] = await Promise.all([startServer({ kind: "prosody", name: "cron-a", users }), startServer({ kind: "prosody", name: "cron-b", users })]);
    dir = specTempDir("cxfr-cron");
    fleet = await startFleet({ on: a, reconnectTo: [b], handlers: 4, plain: 0, trusted: [a.component, b.component] });
  });
  after(async () => {
    await stopFleet(fleet);
    await Promise.all([a?.stop(), b?.stop()]);
  });

  it("drains A, runs the restart command, waits for A, then rebalances; each step judged by its exit code", async () => {
    const node = (name: string, s: LabServer) => {
      writeFileSync(join(dir, `${name}.secret`), `${s.secret}\n`);
      return `  - name: ${name}\n    server: ${s.componentAddress}\n    component: ${s.component}\n    secret_file: ${join(dir, `${name}.secret`)}\n    public: ${s.c2sAddress}\n`;
    };
    const config = join(dir, "cxfr.yml");
    writeFileSync(config, `domain: ${a.domain}\njournal: ${join(dir, "cxfr.db")}\nnodes:\n${node("a", a)}${node("b", b)}`);
    // the operator's restart command: here it asks the spec to restart lab node A and waits until it has
    const requested = join(dir, "restart-requested");
    const restarted = join(dir, "restarted");
    const env = {
      PATH: process.env.PATH,
      CXFR: CXFR_BIN,
      CXFR_CONFIG: config,
      NODE: "a",
      TARGETS: "b",
      DRAIN_ARGS: "--grace 2s --rate 100",
      REBALANCE_ARGS: "rebalance --even --grace 2s",
      BACK_TIMEOUT: "120",
      RESTART_COMMAND: `touch ${requested} && while [ ! -e ${restarted} ]; do sleep 0.2; done`,
    };
    const child = spawn("sh", [SCRIPT], { env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (c: Buffer) => (output += c.toString()));
    child.stderr.on("data", (c: Buffer) => (output += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    let restartedAt = 0;
    const watcher = (async () => {
      while (!existsSync(requested)) {
        if (child.exitCode !== null) return;
        await new Promise((r) => setTimeout(r, 100));
      }
      await a.restart();
      restartedAt = Date.now();
      writeFileSync(restarted, "");
    })();
    const code = await exited;
    await watcher;

    expect(restartedAt, output).to.be.greaterThan(0);
    expect(output, output).to.match(/draining a to b[\s\S]*drain j-[0-9a-f]{8}: targeted 4, moved 4, kicked 0, failed 0, skipped 0, remaining 0[\s\S]*restarting a[\s\S]*a is back; rebalancing/);
    expect(output.includes("\u001b["), "plain lines, no control codes").to.equal(false);
    const help = await runCli(["--help"]);
    if (/^\s+rebalance\b/m.test(help.stdout)) {
      expect(code, output).to.equal(0);
      // the drain sent one packet each; the rebalance sends one more only to those it moves back to A
      const rebalanced = /rebalance j-[0-9a-f]{8}: targeted (\d+), moved \1, kicked 0, failed 0, skipped 0, remaining 0/.exec(output);
      expect(rebalanced, output).to.not.equal(null);
      const movedBack = Number(rebalanced?.[1]);
      expect(movedBack, output).to.equal(2);
      expect(fleet.reduce((n, m) => n + m.packets, 0), output).to.equal(fleet.length + movedBack);
      for (const m of fleet) expect(m.packets, m.jid).to.be.within(1, 2);
    } else {
      for (const m of fleet) expect(m.packets, m.jid).to.equal(1);
      // `rebalance` is not in this build yet: the script stops with its exit code
      expect(code, output).to.equal(2);
      expect(output).to.match(/unknown command 'rebalance'[\s\S]*done \(rebalance exit 2\)/);
    }
  });

  it("stops before the restart when the drain fails (exit code passed on)", async () => {
    const env = { PATH: process.env.PATH, CXFR: CXFR_BIN, CXFR_CONFIG: join(dir, "cxfr.yml"), NODE: "zz", TARGETS: "b", RESTART_COMMAND: `touch ${join(dir, "must-not-run")}` };
    const child = spawn("sh", [SCRIPT], { env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (c: Buffer) => (output += c.toString()));
    child.stderr.on("data", (c: Buffer) => (output += c.toString()));
    const code = await new Promise<number | null>((resolve) => child.on("exit", (c) => resolve(c)));
    expect(code, output).to.equal(2);
    expect(output).to.match(/drain failed \(exit 2\); zz is not restarted/);
    expect(existsSync(join(dir, "must-not-run"))).to.equal(false);
  });
});
