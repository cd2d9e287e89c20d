// Runs the reset method once, as whatever user starts this script (specs start it as `nobody` through setpriv),
// and prints {"channel": …, "attempt": …} as JSON. Usage: node --import tsx reset-probe.ts JID IP PORT
import { buildMethods, probeSocketDestroy } from "../../lib/methods/channels.ts";

const [jid = "", ip = "", port = ""] = process.argv.slice(2);
const channel = await probeSocketDestroy();
const { reset } = buildMethods(undefined, undefined);
const attempt = await reset.apply({ jid, bare: jid.split("/")[0] ?? jid, resource: jid.split("/")[1] ?? "", ip, port: Number(port) }, { host: "127.0.0.1" }, new AbortController().signal);
console.log(JSON.stringify({ channel, attempt }));
