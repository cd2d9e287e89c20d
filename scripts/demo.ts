// `npm run demo`: the main job on an embedded lab. Two private Prosody nodes serve the same domain;
// 20 users are on node A (half run cxfr/client's transfer handler, half are plain clients that reconnect
// to node B after a disconnect, as behind a load balancer). cxfr checks node A, lists its sessions,
// drains it to node B, and lists both nodes again. Everything stops by PID at the end.
import { spawn } from "node:child_process";
import { startServer, stopAllLabProcesses, type LabServer } from "../spec/support/lab/index.ts";
import { fleetUsers, startFleet, stopFleet, type FleetMember } from "../spec/support/fleet.ts";
import { CXFR_BIN, nodeEnv } from "../spec/support/cli.ts";

function heading(text: string): void {
  process.stdout.write(`\n\x1b[1m== ${text}\x1b[0m\n`);
}

/** Runs bin/cxfr with the terminal attached, without blocking this process (its clients must keep answering). */
function cxfr(args: string[], node: LabServer): Promise<number> {
  process.stdout.write(`$ cxfr ${args.join(" ")}\n`);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CXFR_BIN, ...args], { env: nodeEnv(node), stdio: "inherit" });
    child.on("close", (code) => resolve(code ?? 1));
  });
}

let fleet: FleetMember[] = [];
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
} catch (err) {
  console.error(`demo failed: ${(err as Error).message}`);
  exitCode = 1;
} finally {
  await stopFleet(fleet);
  await stopAllLabProcesses();
}
process.exit(exitCode);
