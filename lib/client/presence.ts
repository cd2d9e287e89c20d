import type { Client } from "@xmpp/client";
import type { Element } from "@xmpp/xml";
import { NS_SM } from "./xmppjs.ts";

const NS_STREAM = "http://etherx.jabber.org/streams";
const SM_SETTLE_TIMEOUT_MS = 5_000;

export interface PresenceKeeper {
  /** re-send the last broadcast presence after the next fresh login (`online`) */
  arm(): void;
  disarm(): void;
  stop(): void;
}

/**
 * Remembers the client's last broadcast presence (no `to`) and re-sends it once after the next fresh
 * login, since a new session starts unavailable and xmpp.js does not re-send it. A resumed XEP-0198
 * session keeps its presence: xmpp.js emits no `online` for it, so nothing is sent then.
 */
export function presenceKeeper(client: Client): PresenceKeeper {
  let last: Element | undefined;
  let armed = false;
  let smOffered = false;

  const onSend = (el: Element): void => {
    if (el.name === "presence" && el.attrs.to === undefined && (el.attrs.type === undefined || el.attrs.type === "unavailable")) {
      last = el;
    }
  };
  const onElement = (el: Element): void => {
    if (el.is("features", NS_STREAM)) smOffered = el.getChild("sm", NS_SM) !== undefined;
  };
  const onOnline = (): void => {
    if (!armed) return;
    armed = false;
    const presence = last;
    if (!presence || presence.attrs.type === "unavailable") return;
    // xmpp.js emits `online` right after the bind and only then sends <enable/>. A stanza sent in that
    // gap can make it ack one stanza too many, and ejabberd then closes the stream: wait for the answer.
    const ready = smOffered ? smSettled(client) : Promise.resolve();
    ready.then(() => client.send(presence)).catch(() => undefined);
  };

  client.on("send", onSend);
  client.on("element", onElement);
  client.on("online", onOnline);
  return {
    arm: () => (armed = true),
    disarm: () => (armed = false),
    stop() {
      armed = false;
      client.off("send", onSend);
      client.off("element", onElement);
      client.off("online", onOnline);
    },
  };
}

/** Resolves at <enabled/> or <failed/>, at a disconnect, or after a timeout, whichever comes first. */
function smSettled(client: Client): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      client.off("nonza", onNonza);
      client.off("disconnect", done);
      resolve();
    };
    const onNonza = (el: Element): void => {
      if (el.is("enabled", NS_SM) || el.is("failed", NS_SM)) done();
    };
    const timer = setTimeout(done, SM_SETTLE_TIMEOUT_MS);
    client.on("nonza", onNonza);
    client.on("disconnect", done);
  });
}
