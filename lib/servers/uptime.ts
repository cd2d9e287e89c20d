import xml from "@xmpp/xml";
import type { IqRequester } from "../xmpp/commands.ts";

const NS_LAST = "jabber:iq:last";

/** Seconds since the server started (XEP-0012 to the server's domain: Prosody mod_uptime, ejabberd mod_last); undefined when it will not say. */
export async function serverUptimeSeconds(request: IqRequester, domain: string): Promise<number | undefined> {
  try {
    const result = await request(xml("iq", { type: "get", to: domain }, xml("query", { xmlns: NS_LAST })));
    const seconds = Number(result.getChild("query", NS_LAST)?.attrs.seconds);
    return Number.isFinite(seconds) && seconds >= 0 ? seconds : undefined;
  } catch {
    return undefined;
  }
}

/** Whether the server started after `wallMs` (with a second of slack for the uptime's rounding); undefined when unknown. */
export async function restartedSince(request: IqRequester, domain: string, wallMs: number): Promise<boolean | undefined> {
  const seconds = await serverUptimeSeconds(request, domain);
  if (seconds === undefined) return undefined;
  return Date.now() - seconds * 1000 > wallMs - 1000;
}
