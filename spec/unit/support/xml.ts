import { escapeXML, escapeXMLText, type Element } from "@xmpp/xml";
import { parseXml, stanzaErrorOf } from "../../../lib/xmpp/stanza.ts";
import type { IqRequester } from "../../../lib/xmpp/commands.ts";

type AttrFilter = (el: Element, name: string) => boolean;

/** `id` differs per run and is set by the link's iq caller, not by the protocol layer. */
export const ignoreId: AttrFilter = (_el, name) => name === "id";

/** The xmpp.js-written Prosody probes sent FORM_TYPE without type='hidden'; we add it (see forms.ts). */
export const ignoreIdAndFormTypeType: AttrFilter = (el, name) =>
  name === "id" || (el.name === "field" && el.attrs.var === "FORM_TYPE" && name === "type");

/** Attribute order and quoting vary between writers; compare elements by name, sorted attributes and children. */
export function canonicalXml(el: Element, ignore: AttrFilter = () => false): string {
  const attrs = Object.keys(el.attrs)
    .filter((name) => el.attrs[name] !== undefined && !ignore(el, name))
    .sort()
    .map((name) => ` ${name}="${escapeXML(String(el.attrs[name]))}"`)
    .join("");
  const children = el.children
    .map((child) => (typeof child === "string" ? escapeXMLText(child) : canonicalXml(child, ignore)))
    .join("");
  return `<${el.name}${attrs}>${children}</${el.name}>`;
}

/**
 * A requester that answers each request with the next scripted reply, like the link does: error replies
 * reject with StanzaError. Records what was sent.
 */
export function scriptedRequester(replies: string[]): { request: IqRequester; sent: Element[] } {
  const queue = [...replies];
  const sent: Element[] = [];
  const request: IqRequester = async (iq) => {
    sent.push(iq);
    const reply = queue.shift();
    if (reply === undefined) throw new Error(`unexpected request: ${iq.toString()}`);
    const el = parseXml(reply);
    if (el.attrs.type === "error") throw stanzaErrorOf(el);
    return el;
  };
  return { request, sent };
}

/** Runs `fn` and returns what it threw, failing when it returns normally. */
export function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error("expected the call to throw");
}

export async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected the promise to reject");
}
