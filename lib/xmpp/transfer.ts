import xml, { type Element } from "@xmpp/xml";
import { InputError } from "../errors.ts";
import { formatHostPort, parseHostPort, type HostPort } from "./address.ts";
import { domainProblem } from "./jid.ts";

/** XEP-0051 (Connection Transfer) and the namespace its earlier versions used. */
export const NS_CXFR = "urn:xmpp:cxfr";
export const NS_SRVXFR = "jabber:iq:srvxfr";

export interface TransferRequest {
  to: string;
  from: string;
  domain: string;
  server: HostPort;
  id?: string;
  namespace?: string;
}

export interface TransferOffer {
  namespace: string;
  id: string;
  from: string;
  to: string;
  domain: string;
  server: HostPort;
}

/** Builds the packet without validating: values come from parsed input and the builder escapes them. */
export function buildTransferIq(req: TransferRequest): Element {
  const attrs: Record<string, string> = { type: "set", to: req.to };
  if (req.id !== undefined) attrs.id = req.id;
  attrs.from = req.from;
  return xml(
    "iq",
    attrs,
    xml(
      "query",
      { xmlns: req.namespace ?? NS_CXFR },
      xml("domain", {}, req.domain),
      xml("server", {}, formatHostPort(req.server)),
    ),
  );
}

function transferQuery(iq: Element): Element | undefined {
  return iq.getChild("query", NS_CXFR) ?? iq.getChild("query", NS_SRVXFR);
}

/**
 * The transfer offered by an incoming `<iq type='set'>`, or null when the IQ is something else or its
 * domain/server are missing or invalid. A missing `from` is returned as "" (RFC 6120: it came from the
 * receiver's own account or server).
 */
export function parseTransferIq(iq: Element): TransferOffer | null {
  if (iq.name !== "iq" || iq.attrs.type !== "set" || typeof iq.attrs.id !== "string") return null;
  const query = transferQuery(iq);
  if (!query) return null;
  // Senders may pretty-print, so surrounding whitespace in these two values is not significant.
  const domain = query.getChildText("domain")?.trim();
  const serverText = query.getChildText("server")?.trim();
  if (!domain || !serverText || domainProblem(domain)) return null;
  let server: HostPort;
  try {
    server = parseHostPort(serverText, "server");
  } catch (error) {
    if (error instanceof InputError) return null;
    throw error;
  }
  return {
    namespace: query.getNS() ?? NS_CXFR,
    id: iq.attrs.id,
    from: typeof iq.attrs.from === "string" ? iq.attrs.from : "",
    to: typeof iq.attrs.to === "string" ? iq.attrs.to : "",
    domain,
    server,
  };
}
