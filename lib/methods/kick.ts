import type { Attempt, Method, SessionRef } from "./method.ts";

/** What the kick needs of the server: end one session, or several in one command where the server allows it. */
export interface SessionEnder {
  endSession(fullJid: string): Promise<void>;
  endSessions?(fullJids: string[]): Promise<void>;
  readonly endsSessionsInBatches?: boolean;
}

/** Largest list one end-user-session command carries. */
const MAX_BATCH = 100;

/**
 * XEP-0133 end-user-session: the last resort; the client sees a plain close (Prosody) or policy-violation (ejabberd).
 * Kicks asked for in the same turn of the event loop share one command where the server takes a list of JIDs.
 */
export class KickMethod implements Method {
  readonly name = "kick" as const;
  private batch: { jids: string[]; done: Promise<void> } | undefined;

  /** Without `admin` (no admin rights on this server) the method is unavailable. */
  constructor(private readonly admin: SessionEnder | undefined) {}

  async apply(session: SessionRef, _target?: unknown, signal?: AbortSignal): Promise<Attempt> {
    if (!this.admin) return { status: "unavailable", reason: "no admin rights on this server (end-user-session)" };
    if (signal?.aborted) return { status: "unavailable", reason: "job stopped" };
    if (this.admin.endsSessionsInBatches && this.admin.endSessions) await this.inBatch(session.jid);
    else await this.admin.endSession(session.jid);
    return { status: "sent" };
  }

  private inBatch(jid: string): Promise<void> {
    const admin = this.admin as Required<SessionEnder>;
    if (!this.batch || this.batch.jids.length >= MAX_BATCH) {
      const jids: string[] = [];
      const done = new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
        if (this.batch?.jids === jids) this.batch = undefined;
        return admin.endSessions(jids);
      });
      this.batch = { jids, done };
    }
    this.batch.jids.push(jid);
    return this.batch.done;
  }
}
