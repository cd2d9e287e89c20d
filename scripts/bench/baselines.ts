// What operators do today without cxfr, measured on the same lab nodes: a shell loop of one
// `prosodyctl shell c2s:close(…)` or `ejabberdctl kick_session …` per session, and ejabberd's own
// `stop_kindly` (everyone at once, by stopping the node).
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { ejabberdctl, type LabServer } from "../../spec/support/lab/index.ts";

const run = promisify(execFile);

/** Lua string literal for a JID (the shell evaluates Lua). */
const luaString = (s: string): string => `"${s.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;

export interface LoopResult {
  sessions: number;
  elapsedMs: number;
  msPerSession: number;
  perSecond: number;
}

async function loop(jids: string[], one: (jid: string) => Promise<unknown>): Promise<LoopResult> {
  const started = performance.now();
  for (const jid of jids) await one(jid); // one after the other, as `for j in …; do …; done` would
  const elapsedMs = performance.now() - started;
  return { sessions: jids.length, elapsedMs, msPerSession: elapsedMs / jids.length, perSecond: (jids.length / elapsedMs) * 1000 };
}

/** `prosodyctl --config … shell 'c2s:close("jid")'` per session (needs mod_admin_shell, which the lab loads). */
export function prosodyctlLoop(server: LabServer, jids: string[]): Promise<LoopResult> {
  const config = join(server.dir, "prosody.cfg.lua");
  return loop(jids, (jid) => run("prosodyctl", ["--config", config, "shell", `c2s:close(${luaString(jid)})`], { timeout: 30_000 }));
}

/** `ejabberdctl kick_session user host resource reason` per session. */
export function ejabberdctlLoop(server: LabServer, jids: string[]): Promise<LoopResult> {
  return loop(jids, (jid) => {
    const at = jid.indexOf("@");
    const slash = jid.indexOf("/");
    return ejabberdctl(server, ["kick_session", jid.slice(0, at), jid.slice(at + 1, slash), jid.slice(slash + 1), "bench"]);
  });
}

/** `ejabberdctl stop_kindly 0 text`: announces, then stops the node; resolves when the command returns. */
export async function stopKindly(server: LabServer): Promise<{ elapsedMs: number }> {
  const started = performance.now();
  await ejabberdctl(server, ["stop_kindly", "0", "This node is stopping"]).catch(() => undefined); // the node it talks to goes away
  return { elapsedMs: performance.now() - started };
}
