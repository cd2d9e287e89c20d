import type { HostPort } from "../xmpp/address.ts";

/**
 * Ways to move (or, last, end) one live session, best first. A job tries them in the order the operator
 * chose (`--method cxfr,see-other-host,reset,close,kick`); each is a module under lib/methods/.
 */
export const METHOD_NAMES = ["cxfr", "see-other-host", "reset", "close", "kick"] as const;
export type MethodName = (typeof METHOD_NAMES)[number];

/** The session a method acts on, as the listing (and, where known, the node map) describes it. */
export interface SessionRef {
  /** Full JID, canonical form. */
  jid: string;
  bare: string;
  resource: string;
  /** Client address and port as the server sees them (for `reset`), when known. */
  ip?: string;
  port?: number;
}

/** What the client answered to an in-band packet (only `cxfr` has one). */
export type Reply =
  | { kind: "acked" }
  /** A definite refusal (feature-not-implemented, service-unavailable, forbidden …): next method at once. */
  | { kind: "rejected"; condition: string }
  /** A temporary error (type wait, e.g. unexpected-request during a move): not a refusal; wait out the grace. */
  | { kind: "wait"; condition: string }
  | { kind: "no-reply" };

/** The result of applying a method to one session. A method that throws ConnectError/TimeoutError did nothing known. */
export type Attempt =
  /** Handed to the server / client; departure is then observed. `reply` settles when the client answers (cxfr). */
  | { status: "sent"; reply?: Promise<Reply> }
  /** This method cannot act on this session (no channel, no permission, no client port …); nothing was done. */
  | { status: "unavailable"; reason: string };

export interface Method {
  readonly name: MethodName;
  apply(session: SessionRef, target: HostPort, signal: AbortSignal): Promise<Attempt>;
}

/** What `cxfr check` reports per channel a method needs (admin socket, ejabberdctl, socket-destroy …). */
export interface ChannelReport {
  channel: string;
  found: boolean;
  usable: boolean;
  why?: string;
  /** The permission or config the channel needs, e.g. "root or CAP_NET_ADMIN". */
  needs?: string;
}
