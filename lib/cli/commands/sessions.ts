import { ExitCode } from "../../errors.ts";
import type { LiveSession } from "../../xmpp/admin.ts";
import { bareJid, formatJid, parseJid } from "../../xmpp/jid.ts";
import { openNode } from "../connect.ts";
import type { CommandContext } from "../program.ts";

export async function sessionsCommand(ctx: CommandContext, options: { user?: string }): Promise<number> {
  const filter = options.user !== undefined ? sessionFilter(options.user) : () => true;
  const config = ctx.config();
  const node = ctx.selectNode(config, undefined);
  const session = await openNode(config, node);
  let sessions: LiveSession[];
  try {
    sessions = (await session.admin.listSessions({ details: true })).filter((s) => !session.isOwnSession(s) && filter(s));
  } finally {
    await session.close();
  }
  sessions.sort((a, b) => a.jid.localeCompare(b.jid));
  if (ctx.out.machine) {
    for (const s of sessions) ctx.out.event({ node: node.name, jid: s.jid, ip: s.ip ?? null, show: s.show ?? null, priority: s.priority ?? null });
  } else {
    ctx.out.table(["JID", "IP", "PRESENCE"], sessions.map((s) => [s.jid, s.ip ?? "-", presence(s)]));
    ctx.out.line(`${sessions.length} session${sessions.length === 1 ? "" : "s"} on ${node.name}`);
  }
  return ExitCode.ok;
}

function sessionFilter(input: string): (s: LiveSession) => boolean {
  const jid = parseJid(input, "--user");
  if (jid.resource !== undefined) {
    const full = formatJid(jid);
    return (s) => s.jid === full;
  }
  const bare = bareJid(jid);
  return (s) => s.bare === bare;
}

function presence(s: LiveSession): string {
  if (!s.show) return "-";
  return s.priority === undefined ? s.show : `${s.show}(${s.priority})`;
}
