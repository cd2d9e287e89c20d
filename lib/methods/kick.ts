import type { Attempt, Method, SessionRef } from "./method.ts";

/** Anything that ends one session by full JID: ServerAdmin (XEP-0133 end-user-session). */
export interface SessionEnder {
  endSession(fullJid: string): Promise<void>;
}

/** XEP-0133 end-user-session: the last resort (ejabberd sends policy-violation "has been kicked"). */
export class KickMethod implements Method {
  readonly name = "kick" as const;

  constructor(private readonly admin: SessionEnder | undefined) {}

  async apply(session: SessionRef, _target: unknown, signal: AbortSignal): Promise<Attempt> {
    if (!this.admin) return { status: "unavailable", reason: "no admin rights on this server (end-user-session)" };
    if (signal.aborted) return { status: "unavailable", reason: "job stopped" };
    await this.admin.endSession(session.jid);
    return { status: "sent" };
  }
}
