import type { Client } from "@xmpp/client";
import { parseHostPort, type HostPort } from "../xmpp/address.ts";
import { internals, override, type StreamErrorLike } from "../xmppjs/internals.ts";

/**
 * Replaces xmpp.js's handling of an RFC 6120 `<see-other-host>` stream error. xmpp.js 0.14 follows a
 * well-formed one but throws from an async handler, killing the process, on an empty one (what
 * Prosody's `c2s:close(jid, text, "see-other-host")` sends). Here a host that does not parse is
 * `refuse`d and the stream error ends the connection like any other (xmpp.js disconnects right after
 * this hook; its reconnect, if on, goes back to the same service). A valid one goes to `follow`.
 * Returns a function that puts xmpp.js's own handling back.
 */
export function guardSeeOtherHost(
  client: Client,
  follow: (target: HostPort) => void,
  refuse: (reason: string, error: StreamErrorLike) => void,
): () => void {
  return override(internals(client), "_onSeeOtherHost", (error: StreamErrorLike): void => {
    const text = error.element?.getChildText("see-other-host")?.trim() ?? "";
    let target: HostPort;
    try {
      target = parseHostPort(text, "see-other-host");
    } catch (problem) {
      refuse(text === "" ? "see-other-host names no host" : (problem as Error).message, error);
      return;
    }
    follow(target);
  });
}
