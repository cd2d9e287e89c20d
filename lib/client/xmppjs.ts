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

/**
 * xmpp.js 0.14 passes the URL hostname of `xmpp://[2001:db8::1]:5222` to net.connect with its brackets
 * (it strips them only for [::1]), which fails with ENOTFOUND. Strips them for every IPv6 literal.
 * Returns a function that undoes it.
 */
export function connectToIPv6Literals(client: Client): () => void {
  const c = client as unknown as { socketParameters(service: string): { host?: string } | undefined };
  const socketParameters = c.socketParameters;
  return override(c, "socketParameters", (service: string) => {
    const params = socketParameters.call(client, service);
    if (params?.host?.startsWith("[") && params.host.endsWith("]")) params.host = params.host.slice(1, -1);
    return params;
  });
}

/** Sets a method on this one object, shadowing the prototype's; returns a function that undoes it. */
export function override<T extends object, K extends keyof T>(target: T, key: K, value: T[K]): () => void {
  const had = Object.prototype.hasOwnProperty.call(target, key);
  const previous = target[key];
  target[key] = value;
  return () => {
    if (had) target[key] = previous;
    else delete target[key];
  };
}
