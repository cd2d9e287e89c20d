import type { Socket } from "node:net";
import type { Client } from "@xmpp/client";
import xml from "@xmpp/xml";
import { formatHostPort, type HostPort } from "../xmpp/address.ts";
import { internals, NS_SM } from "./xmppjs.ts";

/** How the session continued on the new server: XEP-0198 resumption, or a fresh login (resource bind). */
export type Outcome = "resumed" | "bound";

const READY_TIMEOUT_MS = 15_000;
const OLD_STREAM_CLOSE_MS = 2_000;

export function serviceOf(target: Required<HostPort>): string {
  return `xmpp://${formatHostPort(target)}`;
}

/**
 * Moves a live session to `service` and makes it the client's service, so that later ordinary
 * reconnects go there too. If the new server cannot be reached or the login there fails, the old
 * service is restored and the error thrown (the client's own reconnect, if on, then goes back).
 *
 * Without a resumable XEP-0198 session the old stream is closed cleanly first (the server ends that
 * session at once) and the client logs in again on the new server.
 *
 * With one, a clean close would end the session, so the old stream is set aside still open and the
 * new connection tries <resume/>. A server sharing sessions with the old one (an ejabberd cluster)
 * resumes it and replaces the old stream: contacts see no presence change, queued stanzas are
 * re-sent. Any other answers <failed/> (item-not-found), xmpp.js binds a fresh session, and only then
 * is the old stream acked and closed, so the old server ends its session instead of keeping it
 * resumable (and the user's presence there) for minutes. If the move fails, the old socket is
 * dropped uncleanly so that the old server keeps the session resumable for a reconnect there.
 */
export async function relocate(client: Client, service: string): Promise<Outcome> {
  const previous = client.options.service;
  client.options.service = service;
  const sm = internals(client).streamManagement;
  const old = sm.enabled && sm.id ? setAside(client) : undefined;
  if (!old) {
    // The close follows our small IQ reply at once; with Nagle on it would wait ~40 ms for the ACK.
    internals(client).socket?.setNoDelay(true);
    await client.disconnect();
  }
  try {
    const outcome = await connectAndLogin(client, service);
    if (old) {
      if (outcome === "resumed") old.socket.destroy();
      else closeOldStream(old);
    }
    return outcome;
  } catch (error) {
    client.options.service = previous;
    old?.socket.destroy();
    throw error;
  }
}

/** For a stream the server is closing (see-other-host): once it is down, logs in on `service`. */
export async function reconnectAfterClose(client: Client, service: string): Promise<Outcome> {
  const previous = client.options.service;
  client.options.service = service;
  try {
    if (client.status !== "disconnect") await untilDisconnected(client);
    return await connectAndLogin(client, service);
  } catch (error) {
    client.options.service = previous;
    throw error;
  }
}

interface OldStream {
  socket: Socket;
  /** stanzas this client handled on the old stream (XEP-0198 `h`) */
  handled: number;
}

/** Takes the open connection away from the client without closing its stream. */
function setAside(client: Client): OldStream | undefined {
  const c = internals(client);
  const socket = c.socket;
  if (!socket) return undefined;
  const handled = c.streamManagement.inbound;
  c._detachParser();
  c._detachSocket();
  socket.on("error", () => undefined);
  // Tells xmpp.js (stream management stops its ack timers, keeps its resumption id) and the
  // application that this connection is over.
  c._status("disconnect", { clean: true, reason: "transfer" });
  return { socket, handled };
}

function closeOldStream(old: OldStream): void {
  const { socket } = old;
  const timer = setTimeout(() => socket.destroy(), OLD_STREAM_CLOSE_MS);
  timer.unref();
  socket.once("close", () => clearTimeout(timer));
  socket.end(`${xml("a", { xmlns: NS_SM, h: String(old.handled) }).toString()}</stream:stream>`);
}

async function connectAndLogin(client: Client, service: string): Promise<Outcome> {
  const ready = untilReady(client);
  try {
    const { domain, lang } = client.options;
    await client.connect(service);
    await client.open({ domain: domain ?? "", lang });
  } catch (error) {
    ready.cancel();
    internals(client).socket?.destroy();
    throw error;
  }
  try {
    return await ready.promise;
  } catch (error) {
    // e.g. authentication failed there: the half-open stream is of no use
    internals(client).socket?.destroy();
    throw error;
  }
}

function untilReady(client: Client): { promise: Promise<Outcome>; cancel(): void } {
  const sm = internals(client).streamManagement;
  let cancel = (): void => undefined;
  const promise = new Promise<Outcome>((resolve, reject) => {
    const settle = (outcome: Outcome | Error) => (): void => {
      clearTimeout(timer);
      sm.off("resumed", onResumed);
      client.off("online", onOnline);
      client.off("disconnect", onClosed);
      client.off("offline", onClosed);
      if (outcome instanceof Error) reject(outcome);
      else resolve(outcome);
    };
    const onResumed = settle("resumed");
    const onOnline = settle("bound");
    const onClosed = settle(new Error(`connection to ${client.options.service} closed before the session was ready`));
    const timer = setTimeout(settle(new Error(`no session on ${client.options.service} after ${READY_TIMEOUT_MS} ms`)), READY_TIMEOUT_MS);
    cancel = settle(new Error("cancelled"));
    sm.on("resumed", onResumed);
    client.on("online", onOnline);
    client.on("disconnect", onClosed);
    client.on("offline", onClosed);
  });
  promise.catch(() => undefined);
  return { promise, cancel };
}

function untilDisconnected(client: Client): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off("disconnect", done);
      reject(new Error("the old connection did not close"));
    }, READY_TIMEOUT_MS);
    const done = (): void => {
      clearTimeout(timer);
      resolve();
    };
    client.once("disconnect", done);
  });
}
