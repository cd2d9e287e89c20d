// `npm run demo`: the main job on an embedded lab. Two private Prosody nodes serve the same domain;
// 20 users are on node A (half run cxfr/client's transfer handler, half are plain clients that reconnect
// to node B after a disconnect, as behind a load balancer). cxfr checks node A, lists its sessions,
// drains it to node B, and lists both nodes again. Then the same on a real two-member ejabberd cluster:
// status per member, drain one member, rebalance --even, status again. Everything stops by PID at the end.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startEjabberdCluster, type LabCluster } from "../spec/support/lab/ejabberd-cluster.ts";
import { clusterConfig } from "../spec/support/cluster-config.ts";
import { startServer, stopAllLabProcesses, type LabServer } from "../spec/support/lab/index.ts";
import { fleetUsers, startFleet, stopFleet, type FleetMember } from "../spec/support/fleet.ts";
import { CXFR_BIN, nodeEnv } from "../spec/support/cli.ts";

function heading(text: string): void {
  process.stdout.write(`\n\x1b[1m== ${text}\x1b[0m\n`);
}

/** Runs bin/cxfr with the terminal attached, without blocking this process (its clients must keep answering). */
function cxfr(args: string[], node: LabServer | { config: string }): Promise<number> {
  process.stdout.write(`$ cxfr ${args.join(" ")}\n`);
  const env = "config" in node ? { PATH: process.env.PATH } : nodeEnv(node);
  const argv = "config" in node ? ["--config", node.config, ...args] : args;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CXFR_BIN, ...argv], { env, stdio: "inherit" });
    child.on("close", (code) => resolve(code ?? 1));
  });
}

let fleet: FleetMember[] = [];
let clusterFleet: FleetMember[] = [];
let cluster: LabCluster | undefined;
const dir = mkdtempSync(join(tmpdir(), "cxfr-demo-"));
let exitCode = 0;
try {
  heading("starting two private Prosody nodes (same domain, same 20 accounts)");
  const users = fleetUsers(20);
  const [a, b] = await Promise.all([startServer({ kind: "prosody", name: "demo-a", users }), startServer({ kind: "prosody", name: "demo-b", users })]);
  console.log(`node A: clients ${a.c2sAddress}, component listener ${a.componentAddress}`);
  console.log(`node B: clients ${b.c2sAddress}`);

  heading("logging in 20 users on node A (10 with the cxfr/client handler, 10 plain)");
  fleet = await startFleet({ on: a, reconnectTo: [b], handlers: 10, plain: 10, trusted: [a.component] });
  console.log(`${fleet.length} sessions online on node A`);

  heading("cxfr check: can transfers work on node A?");
  await cxfr(["check"], a);

  heading("cxfr sessions on node A");
  await cxfr(["sessions", "--json"], a);

  heading("cxfr drain: move everyone from A to B (grace 5 s, then kick)");
  exitCode = await cxfr(["drain", "--to", b.c2sAddress, "--grace", "5s", "--rate", "20", "--announce", "Node A goes down for maintenance; you will be moved."], a);

  heading("afterwards");
  const onB = () => fleet.filter((m) => m.port() === b.c2sPort).length;
  for (let i = 0; i < 100 && onB() < fleet.length; i++) await new Promise((r) => setTimeout(r, 100));
  const handlers = fleet.filter((m) => m.kind === "handler");
  console.log(`handler clients on B: ${handlers.filter((m) => m.port() === b.c2sPort).length}/${handlers.length} (each got ${handlers.map((m) => m.packets).join("/")} packet)`);
  console.log(`plain clients back on B after the kick: ${fleet.filter((m) => m.kind === "plain" && m.port() === b.c2sPort).length}/${fleet.length - handlers.length}`);
  await cxfr(["sessions"], a);

  heading("a real two-member ejabberd cluster (one session table; node map from ejabberdctl)");
  cluster = await startEjabberdCluster({ name: "demo", users: fleetUsers(20) });
  const [ej1, ej2] = cluster.members.map((m) => m.server) as [LabServer, LabServer];
  const config = { config: clusterConfig(dir, cluster) };
  console.log(`member ej1: clients ${ej1.c2sAddress}; member ej2: clients ${ej2.c2sAddress}; one component link to ej1`);
  clusterFleet = [
    ...(await startFleet({ on: ej1, reconnectTo: [ej1], handlers: 10, plain: 0, trusted: [cluster.component], firstUser: 1 })),
    ...(await startFleet({ on: ej2, reconnectTo: [ej2], handlers: 10, plain: 0, trusted: [cluster.component], firstUser: 11 })),
  ];
  console.log("10 handler clients on each member");

  heading("cxfr status: sessions per member, from the node map");
  await cxfr(["status"], config);

  heading("cxfr drain --node ej2 --to ej1: only ej2's sessions move; they resume (XEP-0198) on ej1");
  exitCode = Math.max(exitCode, await cxfr(["--node", "ej2", "drain", "--to", "ej1", "--grace", "5s"], config));
  await cxfr(["status"], config);

  heading("cxfr rebalance --even: from 20/0 back to within 10% of the mean");
  exitCode = Math.max(exitCode, await cxfr(["rebalance", "--even", "--grace", "5s"], config));
  await cxfr(["status"], config);
} catch (err) {
  console.error(`demo failed: ${(err as Error).message}`);
  exitCode = 1;
} finally {
  await stopFleet(fleet);
  await stopFleet(clusterFleet);
  await cluster?.stop();
  await stopAllLabProcesses();
  rmSync(dir, { recursive: true, force: true });
}
process.exit(exitCode);
