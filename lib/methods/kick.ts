import type { Attempt, Method, SessionRef } from "./method.ts";

/** XEP-0133 end-user-session: the last resort; the client sees a plain close (Prosody) or policy-violation (ejabberd). */
export class KickMethod implements Method {
  readonly name = "kick" as const;

  constructor(private readonly admin: { endSession(fullJid: string): Promise<void> }) {}

  async apply(session: SessionRef): Promise<Attempt> {
    await this.admin.endSession(session.jid);
    return { status: "sent" };
  }
}
