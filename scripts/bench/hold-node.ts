// A lab node with N raw sessions, held until SIGINT/SIGTERM, for timing one command by hand:
//   tsx scripts/bench/hold-node.ts [--kind prosody|ejabberd] [--n 1000] > env.sh; . env.sh; /usr/bin/time -v bin/cxfr sessions --json
// Prints the CXFR_* environment (secret included: lab only) on stdout once the sessions are online.
import { parseArgs } from "node:util";
import { startServer, stopAllLabProcesses, type ServerKind } from "../../spec/support/lab/index.ts";
import { startLoad } from "./load.ts";
import { cxfrEnv } from "./measure.ts";

const { values: args } = parseArgs({ options: { kind: { type: "string" }, n: { type: "string" } } });
const kind = (args.kind ?? "prosody") as ServerKind;
const n = Number(args.n ?? 1000);
if (!(Number.isInteger(n) && n > 0)) throw new Error(`--n: a whole number > 0 (got ${String(args.n)})`);
const users = Array.from({ length: n }, (_, i) => ({ user: `b${i}`, password: `pw-b${i}` }));

const node = await startServer({ kind, name: `hold-${kind}`, users });
const endpoint = { host: node.host, port: node.c2sPort, domain: node.domain };
const load = await startLoad({ source: endpoint, target: endpoint, behaviour: "plain", users });
const env = Object.entries(cxfrEnv(node, "hold.db")).filter(([k]) => k.startsWith("CXFR_"));
process.stdout.write(`${env.map(([k, v]) => `export ${k}='${String(v)}'`).join("\n")}\n`);
// npx and tsx wrappers do not pass SIGTERM on: name the process that stops the node
process.stderr.write(`hold-node: ${load.sessions.length} sessions on ${node.name}; kill -TERM ${process.pid} to stop\n`);
const stop = async (): Promise<void> => {
  load.stop();
  await node.stop();
  await stopAllLabProcesses();
  process.exit(0);
};
process.once("SIGINT", () => void stop());
process.once("SIGTERM", () => void stop());
