// Starts a private lab server by hand, for poking at it with a client or the CLI:
//   npx tsx scripts/lab.ts prosody|ejabberd [user:password ...]
// Prints the addresses, component domain and secret; Ctrl-C stops it and removes its dir.
import { startServer, stopAllLabProcesses, type ServerKind } from "../spec/support/lab/index.ts";

const [kind, ...specs] = process.argv.slice(2);
if (kind !== "prosody" && kind !== "ejabberd") {
  console.error("usage: tsx scripts/lab.ts prosody|ejabberd [user:password ...]");
  process.exit(2);
}
const users = specs.map((s) => {
  const i = s.indexOf(":");
  return i > 0 ? { user: s.slice(0, i), password: s.slice(i + 1) } : { user: s, password: s };
});

const t0 = Date.now();
const server = await startServer({ kind: kind as ServerKind, users });
console.log(
  JSON.stringify(
    {
      kind: server.kind,
      pid: server.pid,
      started_ms: Date.now() - t0,
      domain: server.domain,
      c2s: server.c2sAddress,
      componentServer: server.componentAddress,
      component: server.component,
      secret: server.secret,
      dir: server.dir,
      users: users.map((u) => u.user),
    },
    null,
    2,
  ),
);
console.log("Ctrl-C to stop");
process.removeAllListeners("SIGINT");
process.once("SIGINT", () => {
  stopAllLabProcesses().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
