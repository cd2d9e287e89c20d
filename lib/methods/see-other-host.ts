import type { SessionControl } from "../servers/session-control.ts";
import type { HostPort } from "../xmpp/address.ts";
import type { Attempt, Method, SessionRef } from "./method.ts";

/**
 * RFC 6120 §4.9.3.19: ends the stream with <see-other-host>HOST[:PORT]</see-other-host>, which xmpp.js,
 * slixmpp and Conversations follow to the named server. Sent through the server host's own tool.
 */
export class SeeOtherHostMethod implements Method {
  readonly name = "see-other-host" as const;

  constructor(private readonly control: SessionControl | undefined) {}

  async apply(session: SessionRef, target: HostPort, signal: AbortSignal): Promise<Attempt> {
    if (!this.control) return { status: "unavailable", reason: "no admin channel configured for this node (admin_socket or ejabberdctl)" };
    if (signal.aborted) return { status: "unavailable", reason: "job stopped" };
    const problem = this.control.seeOtherHostProblem(target);
    if (problem) return { status: "unavailable", reason: problem };
    const result = await this.control.seeOtherHost(session.jid, target);
    return result.done ? { status: "sent" } : { status: "unavailable", reason: result.why };
  }
}
