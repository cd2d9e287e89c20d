import type { SessionControl } from "../servers/session-control.ts";
import type { Attempt, Method, SessionRef } from "./method.ts";

/**
 * Ends the session with <system-shutdown/> (RFC 6120 §4.9.3.20), which clients treat as "reconnect soon",
 * unlike the kick's policy-violation. Only where the server's tool can choose the condition.
 */
export class CloseMethod implements Method {
  readonly name = "close" as const;

  constructor(private readonly control: SessionControl | undefined) {}

  async apply(session: SessionRef, _target: unknown, signal: AbortSignal): Promise<Attempt> {
    if (!this.control) return { status: "unavailable", reason: "no admin channel configured for this node (admin_socket or ejabberdctl)" };
    if (signal.aborted) return { status: "unavailable", reason: "job stopped" };
    const result = await this.control.shutdown(session.jid);
    return result.done ? { status: "sent" } : { status: "unavailable", reason: result.why };
  }
}
