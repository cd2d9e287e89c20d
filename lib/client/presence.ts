import type { Client } from "@xmpp/client";
import type { Element } from "@xmpp/xml";
import { smNegotiation } from "../xmppjs/internals.ts";

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
  const sm = smNegotiation(client);

  const onSend = (el: Element): void => {
    if (el.name === "presence" && el.attrs.to === undefined && (el.attrs.type === undefined || el.attrs.type === "unavailable")) {
      last = el;
    }
  };
  const onOnline = (): void => {
    if (!armed) return;
    armed = false;
    const presence = last;
    if (!presence || presence.attrs.type === "unavailable") return;
    sm.settled().then(() => client.send(presence)).catch(() => undefined);
  };

  client.on("send", onSend);
  client.on("online", onOnline);
  return {
    arm: () => (armed = true),
    disarm: () => (armed = false),
    stop() {
      armed = false;
      client.off("send", onSend);
      sm.stop();
      client.off("online", onOnline);
    },
  };
}
