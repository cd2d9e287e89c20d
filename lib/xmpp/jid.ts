import { InputError } from "../errors.ts";
import { hostnameProblem, isIPv6 } from "./address.ts";

export interface Jid {
  local?: string;
  domain: string;
  resource?: string;
}

export type FullJid = Jid & { local: string; resource: string };

/** RFC 7622 §3.1: each part is at most 1023 bytes of UTF-8. */
const MAX_PART_BYTES = 1023;

const LOCALPART_FORBIDDEN = /[\p{Cc}\p{Cf}\p{Z}\s"&'/:<>@]/u;
/** RFC 7622 §3.4 (PRECIS OpaqueString): no control characters, and no bidi controls (U+202E would reverse how a JID reads). */
const RESOURCE_FORBIDDEN = /[\p{Cc}\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/u;

const INVISIBLE_G = /[\p{Cc}\p{Cf}]/gu;

/** JSON-quoted text for an error message, with format characters (bidi controls) written as U+XXXX. */
export function quoteVisibly(text: string): string {
  return JSON.stringify(text).replace(INVISIBLE_G, (c) => visible(c).slice(1, -1));
}

/** A character for an error message: printable ones quoted, controls and format characters as "U+202E". */
function visible(char: string): string {
  return /[\p{Cc}\p{Cf}\p{Z}]/u.test(char) ? `"U+${(char.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, "0")}"` : JSON.stringify(char);
}

function partTooLong(part: string): boolean {
  return Buffer.byteLength(part, "utf8") > MAX_PART_BYTES;
}

/** Domains already found valid: a listing names the same one for every session. */
const validDomains = new Set<string>();
const VALID_DOMAINS_KEPT = 64;

/** Why `domain` is not a valid domainpart (hostname, IPv4, or bracketed IPv6), or undefined when it is one. */
export function domainProblem(domain: string): string | undefined {
  if (validDomains.has(domain)) return undefined;
  const problem = checkDomain(domain);
  if (problem === undefined) {
    if (validDomains.size >= VALID_DOMAINS_KEPT) validDomains.clear();
    validDomains.add(domain);
  }
  return problem;
}

function checkDomain(domain: string): string | undefined {
  if (domain === "") return "has an empty domain";
  if (partTooLong(domain)) return `has a domain longer than ${MAX_PART_BYTES} bytes`;
  if (domain.startsWith("[")) {
    const inner = domain.endsWith("]") ? domain.slice(1, -1) : undefined;
    return inner !== undefined && isIPv6(inner) ? undefined : `has a domain ${quoteVisibly(domain)} that is not a [IPv6] literal`;
  }
  const problem = hostnameProblem(domain);
  return problem && `has a domain ${quoteVisibly(domain)} that ${problem}`;
}

/**
 * Splits and validates a JID per RFC 7622: the resource is everything after the first "/", the localpart everything
 * before the first "@" that precedes it. Nothing is trimmed or case-folded.
 */
export function parseJid(input: string, field: string): Jid {
  if (typeof input !== "string") throw new InputError(field, "must be a string such as user@example.com");
  const fail = (reason: string): never => {
    throw new InputError(field, `${quoteVisibly(input)} ${reason}`);
  };
  if (input === "") fail("is empty");
  if (input.trim() !== input) fail("has leading or trailing whitespace");

  const slash = input.indexOf("/");
  const beforeResource = slash < 0 ? input : input.slice(0, slash);
  const resource = slash < 0 ? undefined : input.slice(slash + 1);
  const at = beforeResource.indexOf("@");
  const local = at < 0 ? undefined : beforeResource.slice(0, at);
  const domain = beforeResource.slice(at + 1);

  if (local !== undefined) {
    if (local === "") fail("has an empty localpart (nothing before \"@\")");
    if (partTooLong(local)) fail(`has a localpart longer than ${MAX_PART_BYTES} bytes`);
    const bad = LOCALPART_FORBIDDEN.exec(local);
    if (bad) fail(`has ${visible(bad[0])} in the localpart, which is not allowed there`);
  }
  if (domain.includes("@")) fail("has more than one \"@\" before the resource");
  const badDomain = domainProblem(domain);
  if (badDomain) fail(badDomain);
  const badResource = resource === undefined ? undefined : resourceProblem(resource);
  if (badResource) fail(badResource);

  const jid: Jid = local === undefined ? { domain } : { local, domain };
  if (resource !== undefined) jid.resource = resource;
  return jid;
}

/** Why `resource` is not a valid resourcepart, or undefined when it is one. */
export function resourceProblem(resource: string): string | undefined {
  if (resource === "") return "has an empty resource (nothing after \"/\")";
  if (partTooLong(resource)) return `has a resource longer than ${MAX_PART_BYTES} bytes`;
  const bad = RESOURCE_FORBIDDEN.exec(resource);
  return bad ? `has the control character ${visible(bad[0])} in the resource` : undefined;
}

/** A JID naming one session: user@domain/resource. */
export function parseFullJid(input: string, field: string): FullJid {
  const jid = parseJid(input, field);
  if (jid.local === undefined) {
    throw new InputError(field, `${JSON.stringify(input)} has no localpart (expected user@domain/resource)`);
  }
  if (jid.resource === undefined) {
    throw new InputError(field, `${JSON.stringify(input)} has no resource (expected user@domain/resource)`);
  }
  return jid as FullJid;
}

export function formatJid(j: Jid): string {
  const local = j.local === undefined ? "" : `${j.local}@`;
  const resource = j.resource === undefined ? "" : `/${j.resource}`;
  return `${local}${j.domain}${resource}`;
}

/**
 * The form two JIDs are compared in (RFC 7622 §3.2/§3.3: localpart and domainpart case-folded and NFC-normalised,
 * a trailing dot of the domain dropped; the resource compared as is). A string is split as written, without validation.
 */
export function canonicalJid(j: Jid | string): string {
  if (typeof j === "string") {
    if (isCanonicalAscii(j)) return j;
  } else if (foldsToItself(j.local ?? "", (j.local ?? "").length) && foldsToItself(j.domain, j.domain.length) && !j.domain.endsWith(".")) {
    return formatJid(j);
  }
  const jid = typeof j === "string" ? splitJid(j) : j;
  const fold = (part: string) => part.normalize("NFC").toLowerCase();
  const domain = fold(jid.domain).replace(/\.$/, "");
  return formatJid({ ...(jid.local !== undefined && { local: fold(jid.local) }), domain, ...(jid.resource !== undefined && { resource: jid.resource }) });
}

/**
 * Whether canonicalJid would return `input` unchanged because its localpart and domain are ASCII without capitals
 * and the domain has no trailing dot: the common case, answered without allocating (listings canonicalise every entry).
 */
function isCanonicalAscii(input: string): boolean {
  const slash = input.indexOf("/");
  const end = slash < 0 ? input.length : slash;
  return foldsToItself(input, end) && input.charCodeAt(end - 1) !== 0x2e; // "."
}

/** Whether the first `end` characters are ASCII without capitals (NFC and lower case leave them as they are). */
function foldsToItself(text: string, end: number): boolean {
  for (let i = 0; i < end; i++) {
    const code = text.charCodeAt(i);
    if (code > 0x7f || (code >= 0x41 && code <= 0x5a)) return false;
  }
  return true;
}

/** Whether two JIDs name the same entity (see canonicalJid). */
export function sameJid(a: Jid | string, b: Jid | string): boolean {
  return canonicalJid(a) === canonicalJid(b);
}

function splitJid(input: string): Jid {
  const slash = input.indexOf("/");
  const beforeResource = slash < 0 ? input : input.slice(0, slash);
  const at = beforeResource.indexOf("@");
  return {
    ...(at >= 0 && { local: beforeResource.slice(0, at) }),
    domain: beforeResource.slice(at + 1),
    ...(slash >= 0 && { resource: input.slice(slash + 1) }),
  };
}

/** The JID without its resource; a string is split as written, without validation. */
export function bareJid(j: Jid | string): string {
  if (typeof j === "string") {
    const slash = j.indexOf("/");
    return slash < 0 ? j : j.slice(0, slash);
  }
  return formatJid({ ...j, resource: undefined });
}

/** The resource of a JID string, or undefined when it has none. */
export function resourceOf(jid: string): string | undefined {
  const slash = jid.indexOf("/");
  return slash < 0 ? undefined : jid.slice(slash + 1);
}
