import { InputError } from "../../errors.ts";
import { canonicalJid, parseFullJid } from "../../xmpp/jid.ts";
import { readJobSettings, type JobFlags } from "../job-options.ts";
import type { CommandContext } from "../program.ts";
import { runJobCommand } from "../run-job.ts";

/** Sends the transfer packet to the given sessions and reports what became of each. */
export async function transferCommand(ctx: CommandContext, jids: string[], flags: JobFlags): Promise<number> {
  const wanted = new Set(jids.map((j) => canonicalJid(parseFullJid(j, "JID"))));
  const config = ctx.config();
  const node = ctx.selectNode(config, undefined);
  const settings = readJobSettings(flags, config, { fallback: "none" });
  return runJobCommand(ctx.out, config, node, {
    kind: "transfer",
    flags,
    settings,
    selects: (s) => wanted.has(canonicalJid(s.jid)),
    follow: false,
    validate: async (session) => {
      const online = new Set((await session.admin.listSessions()).map((s) => canonicalJid(s.jid)));
      const missing = [...wanted].filter((j) => !online.has(j));
      if (missing.length > 0) throw new InputError("JID", `${missing.join(", ")} ${missing.length === 1 ? "is" : "are"} not online on node ${node.name}`);
    },
  });
}
