import { Parser, XMLError, type Element } from "@xmpp/xml";
import { StanzaError } from "../errors.ts";

export const NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas";

export interface StanzaErrorInfo {
  condition: string;
  type: string;
  text?: string;
}

/**
 * Reads the `<error/>` of an `<iq type='error'>` (or the `<error/>` element itself). A missing or unreadable error
 * gives `undefined-condition`, so callers always have something to report.
 */
export function parseStanzaError(el: Element): StanzaErrorInfo {
  const error = el.name === "error" ? el : el.getChild("error");
  if (!error) return { condition: "undefined-condition", type: "cancel" };
  const conditionEl =
    error.getChildElements().find((child) => child.name !== "text" && child.getNS() === NS_STANZAS) ??
    error.getChildElements().find((child) => child.name !== "text");
  const text = error.getChildText("text", NS_STANZAS) ?? undefined;
  return {
    condition: conditionEl?.name ?? "undefined-condition",
    type: typeof error.attrs.type === "string" ? error.attrs.type : "cancel",
    ...(text && { text }),
  };
}

export function stanzaErrorOf(el: Element): StanzaError {
  const { condition, type, text } = parseStanzaError(el);
  return new StanzaError(condition, type, text);
}

/** Parses one complete XML element (surrounding whitespace allowed); throws XMLError on anything else. */
export function parseXml(s: string): Element {
  const parser = new Parser();
  let root: Element | undefined;
  let closedWithChildren: number | undefined;
  let failure: Error | undefined;
  const fail = (message: string) => {
    failure ??= new XMLError(message);
  };
  // @xmpp/xml's stream parser hands out the root's children one by one instead of attaching them.
  parser.on("start", (el: Element) => {
    root = el;
  });
  parser.on("element", (el: Element) => {
    if (closedWithChildren !== undefined) fail("content after the root element");
    else root?.append(el);
  });
  parser.on("end", () => {
    closedWithChildren = root?.children.length;
  });
  parser.on("error", (error: Error) => {
    failure ??= error;
  });
  try {
    // The stream parser reports text before the root as an error (leading whitespace is harmless here), and only
    // emits text when the next "<" arrives: the empty comment flushes trailing text so it can be rejected.
    parser.write(`${s.trimStart()}<!---->`);
  } catch (error) {
    // The underlying parser throws a TypeError on a stray closing tag.
    fail(`malformed XML: ${(error as Error).message}`);
  }
  if (failure) throw failure;
  if (!root) throw new XMLError("no element found");
  if (closedWithChildren === undefined) throw new XMLError(`<${root.name}> is not closed`);
  const trailing = root.children.splice(closedWithChildren);
  if (trailing.some((node) => typeof node !== "string" || node.trim() !== "")) {
    throw new XMLError("content after the root element");
  }
  return root;
}
