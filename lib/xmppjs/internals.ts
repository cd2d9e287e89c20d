// The few @xmpp/client 0.14 internals cxfr relies on, typed in one place, below both lib/link (the admin
// account) and lib/client (the published handler). None of them is in @types/xmpp__client; all are plain
// (not #private) members of @xmpp/connection 0.14 and @xmpp/stream-management 0.14.
import type { EventEmitter } from "node:events";
import type { Socket } from "node:net";
import type { Client } from "@xmpp/client";
import type { Element } from "@xmpp/xml";

export const NS_SM = "urn:xmpp:sm:3";
export const NS_STREAMS = "urn:ietf:params:xml:ns:xmpp-streams";
const NS_STREAM_FEATURES = "http://etherx.jabber.org/streams";
const SM_SETTLE_TIMEOUT_MS = 5_000;

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

export interface SmNegotiation {
  /**
   * Resolves once the current stream's XEP-0198 negotiation is settled (<enabled/> or <failed/>), at once when
   * the server did not offer it, and at the latest at a disconnect or after 5 s. xmpp.js emits `online` right
   * after the bind and only then sends <enable/>; a stanza sent in that gap can make it ack one stanza too many,
   * and ejabberd then closes the stream.
   */
  settled(): Promise<void>;
  stop(): void;
}

export function smNegotiation(client: Client): SmNegotiation {
  let offered = false;
  let settled = false;
  const waiters = new Set<() => void>();
  const wake = () => {
    for (const w of waiters) w();
    waiters.clear();
  };
  const onElement = (el: Element): void => {
    if (el.is("features", NS_STREAM_FEATURES)) {
      offered = el.getChild("sm", NS_SM) !== undefined;
      settled = false;
    } else if (el.is("enabled", NS_SM) || el.is("failed", NS_SM)) {
      settled = true;
      wake();
    }
  };
  client.on("element", onElement);
  client.on("disconnect", wake);
  return {
    settled: () =>
      !offered || settled
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            const timer = setTimeout(done, SM_SETTLE_TIMEOUT_MS);
            function done() {
              clearTimeout(timer);
              waiters.delete(done);
              resolve();
            }
            waiters.add(done);
          }),
    stop() {
      client.off("element", onElement);
      client.off("disconnect", wake);
      wake();
    },
  };
}
