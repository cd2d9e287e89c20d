import type { HostPort } from "../xmpp/address.ts";

/** What one server-side channel reports after acting on a session. */
export type ControlResult = { done: true } | { done: false; why: string };

export interface ClientAddress {
  ip: string;
  port: number;
  /**
   * The server's local port of that connection, or the ports it may be (the node's c2s listeners), when the
   * channel knows them: on a host running several servers one client address and port can reach each of them.
   */
  serverPorts?: number[];
}

/**
 * Acting on one live session through the server host's own tool (Prosody's admin socket, ejabberdctl): the
 * operations the see-other-host, close and reset methods need, one implementation per server.
 */
export interface SessionControl {
  /** The channel's name in `cxfr check` ("admin-socket", "ejabberdctl"). */
  readonly channel: string;
  /** Why this target cannot be expressed through this channel, or undefined when it can. */
  seeOtherHostProblem(target: HostPort): string | undefined;
  /** Ends the stream with <see-other-host>target</see-other-host>. */
  seeOtherHost(jid: string, target: HostPort): Promise<ControlResult>;
  /** Ends the stream with <system-shutdown/> (RFC 6120 §4.9.3.20: clients reconnect soon). */
  shutdown(jid: string): Promise<ControlResult>;
  /** The client's address and port as the server sees them, or undefined when the session is not there. */
  clientAddress(jid: string): Promise<ClientAddress | undefined>;
  stop(): Promise<void>;
}
