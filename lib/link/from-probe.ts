import xml from "@xmpp/xml";
import type { Element } from "@xmpp/xml";
import type { Link } from "./link.ts";

export type FromDomainVerdict = "allowed" | "forbidden" | "unknown";

/**
 * Sends a stanza from the users' domain to ourselves. Delivered: allowed. The server closes the stream with
 * invalid-from when it is not; then we wait for the link to come back so the caller can go on.
 */
export async function probeFromDomain(link: Link, domain: string): Promise<FromDomainVerdict> {
  const id = `cxfr-from-probe-${Date.now()}`;
  const verdict = new Promise<FromDomainVerdict>((resolve) => {
    const timer = setTimeout(() => finish("unknown"), 4000);
    const onStanza = (el: Element) => {
      if (el.name === "message" && el.attrs.id === id) finish("allowed");
    };
    const onStreamError = (condition: string) => {
      if (condition === "invalid-from") finish("forbidden");
    };
    function finish(v: FromDomainVerdict) {
      clearTimeout(timer);
      link.off("stanza", onStanza);
      link.off("stream-error", onStreamError);
      resolve(v);
    }
    link.on("stanza", onStanza);
    link.on("stream-error", onStreamError);
  });
  await link.send(xml("message", { from: domain, to: link.component, id, type: "headline" })).catch(() => undefined);
  const result = await verdict;
  if (result === "forbidden") await link.waitOnline(15_000).catch(() => undefined);
  return result;
}

