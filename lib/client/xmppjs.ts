// The few @xmpp/client 0.14 internals this package relies on, typed in one place. None of them is in
// @types/xmpp__client; all are plain (not #private) members of @xmpp/connection 0.14 and
// @xmpp/stream-management 0.14.
import type { EventEmitter } from "node:events";
import type { Socket } from "node:net";
import type { Client } from "@xmpp/client";
import type { Element } from "@xmpp/xml";

export const NS_SM = "urn:xmpp:sm:3";
export const NS_STREAMS = "urn:ietf:params:xml:ns:xmpp-streams";

export interface StreamErrorLike extends Error {
  condition: string;
  element?: Element;
}

export interface ClientInternals {
  socket: Socket | null;
  _detachSocket(): void;
  _detachParser(): void;
  _status(status: string, ...args: unknown[]): void;
  /** called by Connection#_onStreamError for `see-other-host`; Connection#_onElement then disconnects */
  _onSeeOtherHost(error: StreamErrorLike): unknown;
  streamManagement: Client["streamManagement"] & EventEmitter;
}

export function internals(client: Client): ClientInternals {
  return client as unknown as ClientInternals;
}

/** xmpp.js reports problems as `error` events; an `error` event nobody listens to would crash the process. */
export function reportError(client: Client, error: unknown): void {
  if (client.listenerCount("error") > 0) client.emit("error", error instanceof Error ? error : new Error(String(error)));
}
