// Logged-in @xmpp/client sessions for specs.
// - PLAIN is forced through a credentials callback: over plaintext TCP xmpp.js would pick
//   SCRAM-SHA-1, whose PBKDF2 costs ~1–2 s per login; PLAIN takes ~10 ms on loopback.
// - Where the server offers XEP-0198 (ejabberd), xmpp.js emits `online` right after the bind and
//   only then sends <enable/>; initial presence sent in that gap can make the client ack one stanza
//   too many, and ejabberd closes the stream. So presence waits for <enabled/> (or <failed/>).
import { randomUUID } from "node:crypto";
import { client, xml, type Client } from "@xmpp/client";
import type { Element } from "@xmpp/xml";

const SM = "urn:xmpp:sm:3";

export interface LabClient {
  jid: string;
  xmpp: Client;
  stop(): Promise<void>;
}

export interface LoginOptions {
  user: string;
  password: string;
  resource: string;
  /** default: plain <presence/>; false: send none */
  presence?: { show?: string; priority?: number } | false;
  /** default false: xmpp.reconnect is stopped */
  reconnect?: boolean;
}

function presenceStanza(p: { show?: string; priority?: number }): Element {
  const children: Element[] = [];
  if (p.show !== undefined) children.push(xml("show", {}, p.show));
  if (p.priority !== undefined) children.push(xml("priority", {}, String(p.priority)));
  return xml("presence", {}, ...children);
}

export async function loginClient(server: { domain: string; c2sAddress: string }, opts: LoginOptions): Promise<LabClient> {
  const xmpp = client({
    service: `xmpp://${server.c2sAddress}`,
    domain: server.domain,
    resource: opts.resource,
    credentials: (auth) => auth({ username: opts.user, password: opts.password }, "PLAIN", xml("user-agent", { id: randomUUID() })),
  });
  if (!opts.reconnect) xmpp.reconnect.stop();
  // errors are surfaced by start() and by the specs' own listeners; an unhandled 'error' would crash
  xmpp.on("error", () => undefined);

  // XEP-0198 negotiation of the current stream: offered? settled (<enabled/> or <failed/>)?
  let smOffered = false;
  let smSettled: () => void = () => undefined;
  let smDone = Promise.resolve();
  xmpp.on("element", (el: Element) => {
    if (el.is("features", "http://etherx.jabber.org/streams") && el.getChild("sm", SM) && !smOffered) {
      smOffered = true;
      smDone = new Promise((resolve) => (smSettled = resolve));
    } else if (el.is("enabled", SM) || el.is("failed", SM)) {
      smSettled();
    }
  });
  xmpp.on("disconnect", () => {
    smOffered = false;
    smSettled();
  });

  const presence = opts.presence === undefined ? {} : opts.presence;
  const sendPresence = async (): Promise<void> => {
    if (presence === false) return;
    if (smOffered) await Promise.race([smDone, new Promise((r) => setTimeout(r, 5000))]);
    await xmpp.send(presenceStanza(presence));
  };
  if (opts.reconnect) {
    // a fresh session after a reconnect has no presence until we send it again
    let first = true;
    xmpp.on("online", () => {
      if (first) {
        first = false;
        return;
      }
      sendPresence().catch(() => undefined);
    });
  }

  try {
    const address = await xmpp.start();
    await sendPresence();
    return { jid: address.toString(), xmpp, stop: () => stopClient(xmpp) };
  } catch (err) {
    await stopClient(xmpp);
    throw err;
  }
}

/** Stops reconnect, then the client; never throws, never hangs more than ~2 s. */
export async function stopClient(xmpp: Client): Promise<void> {
  try {
    xmpp.reconnect.stop();
  } catch {
    // not started
  }
  await Promise.race([xmpp.stop().catch(() => undefined), new Promise((r) => setTimeout(r, 2000))]);
  try {
    (xmpp as unknown as { socket?: { destroy?: () => void } }).socket?.destroy?.();
  } catch {
    // already closed
  }
}
