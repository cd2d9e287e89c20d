// The redirect/rebalance acceptance scenarios, run the same way on three Prosody nodes and on an
// ejabberd cluster: 40 handler clients (cxfr/client) start on the first node; cxfr moves them.
import { dirname, join } from "node:path";
import { expect } from "chai";
import { homeOf } from "../../lib/jobs/home.ts";
import { runCli, type CliResult } from "./cli.ts";
import { startFleet, stopFleet, type FleetMember } from "./fleet.ts";
import type { LabServer } from "./lab/index.ts";

export interface ScenarioNode {
  name: string;
  server: LabServer;
}

export interface ScenarioSetup {
  nodes: () => ScenarioNode[];
  config: () => string;
  component: string;
}

const USERS = 40;

export function summaryOf(r: CliResult): Record<string, unknown> {
  const summary = r.events.findLast((e) => e.event === "summary");
  if (!summary) throw new Error(`no summary (exit ${String(r.code)}): ${r.stderr}${r.stdout.slice(-500)}`);
  return summary;
}

export async function waitUntil(what: string, cond: () => boolean, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export function placementScenarios(setup: ScenarioSetup): void {
  let fleet: FleetMember[] = [];
  // the journal beside the config, in the spec's temp dir
  const env = () => ({ PATH: process.env.PATH, CXFR_JOURNAL: join(dirname(setup.config()), "cxfr.db") });
  const cxfr = (args: string[]) => runCli(["--config", setup.config(), "--json", ...args, "--grace", "10s"], env());
  const nodeAt = (m: FleetMember) => setup.nodes().find((n) => n.server.c2sPort === m.port())?.name;
  const counts = () => Object.fromEntries(setup.nodes().map((n) => [n.name, fleet.filter((m) => nodeAt(m) === n.name).length]));
  const freshFleet = async () => {
    await stopFleet(fleet);
    const first = (setup.nodes()[0] as ScenarioNode).server;
    fleet = await startFleet({ on: first, reconnectTo: [first], handlers: USERS, plain: 0, trusted: [setup.component] });
  };
  after(async () => {
    await stopFleet(fleet);
  });

  it(`rebalance --to NODE --count 10 moves exactly 10 of ${USERS}; a second run moves none`, async () => {
    await freshFleet();
    const to = (setup.nodes()[1] as ScenarioNode).name;
    const first = await cxfr(["rebalance", "--to", to, "--count", "10"]);
    expect(first.code, first.stderr).to.equal(0);
    expect(summaryOf(first)).to.include({ targeted: 10, moved: 10, kicked: 0, failed: 0 });
    await waitUntil("10 clients on the target", () => counts()[to] === 10);
    const second = await cxfr(["rebalance", "--to", to, "--count", "10"]);
    expect(second.code, second.stderr).to.equal(0);
    expect(summaryOf(second)).to.include({ targeted: 0, moved: 0 });
    expect(counts()[to]).to.equal(10);
  });

  it(`rebalance --even from ${USERS}/0/… ends within the default tolerance (10% of the mean)`, async () => {
    await freshFleet();
    const r = await cxfr(["rebalance", "--even"]);
    expect(r.code, r.stderr).to.equal(0);
    const n = setup.nodes().length;
    const mean = USERS / n;
    expect(summaryOf(r).moved).to.equal(USERS - Math.ceil(mean));
    await waitUntil("every client settled", () => fleet.every((m) => nodeAt(m) !== undefined));
    for (const count of Object.values(counts())) expect(Math.abs(count - mean)).to.be.at.most(Math.max(0.1 * mean, 1));
    const status = await runCli(["--config", setup.config(), "--json", "status"], env());
    const rows = status.events.filter((e) => typeof e.node === "string");
    expect(Object.fromEntries(rows.map((e) => [e.node, e.sessions]))).to.deep.equal(counts());
  });

  it("redirect --ring leaves every user on their home node, and a second --dry-run plans 0", async () => {
    const r = await cxfr(["redirect", "--ring"]);
    expect(r.code, r.stderr).to.equal(0);
    const weighted = setup.nodes().map((n) => ({ name: n.name, weight: 1 }));
    await waitUntil("every client home", () => fleet.every((m) => nodeAt(m) === homeOf(m.jid.split("/")[0] as string, weighted)));
    const again = await cxfr(["redirect", "--ring", "--dry-run"]);
    expect(again.code, again.stderr).to.equal(0);
    expect(summaryOf(again).targeted).to.equal(0);
    expect(again.events.filter((e) => e.event === "planned")).to.have.length(0);
  });
}
