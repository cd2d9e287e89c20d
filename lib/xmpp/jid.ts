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

const LOCALPART_FORBIDDEN = /[\p{Cc}\p{Z}\s"&'/:<>@]/u;
const CONTROL = /\p{Cc}/u;

function partTooLong(part: string): boolean {
  return Buffer.byteLength(part, "utf8") > MAX_PART_BYTES;
}

/** Why `domain` is not a valid domainpart (hostname, IPv4, or bracketed IPv6), or undefined when it is one. */
export function domainProblem(domain: string): string | undefined {
  if (domain === "") return "has an empty domain";
  if (partTooLong(domain)) return `has a domain longer than ${MAX_PART_BYTES} bytes`;
  if (domain.startsWith("[")) {
    const inner = domain.endsWith("]") ? domain.slice(1, -1) : undefined;
    return inner !== undefined && isIPv6(inner) ? undefined : `has a domain ${JSON.stringify(domain)} that is not a [IPv6] literal`;
  }
  const problem = hostnameProblem(domain);
  return problem && `has a domain ${JSON.stringify(domain)} that ${problem}`;
}

/**
 * Splits and validates a JID per RFC 7622: the resource is everything after the first "/", the localpart everything
 * before the first "@" that precedes it. Nothing is trimmed or case-folded.
 */
export function parseJid(input: string, field: string): Jid {
  if (typeof input !== "string") throw new InputError(field, "must be a string such as user@example.com");
  const fail = (reason: string): never => {
    throw new InputError(field, `${JSON.stringify(input)} ${reason}`);
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
    if (bad) fail(`has ${JSON.stringify(bad[0])} in the localpart, which is not allowed there`);
  }
  if (domain.includes("@")) fail("has more than one \"@\" before the resource");
  const badDomain = domainProblem(domain);
  if (badDomain) fail(badDomain);
  if (resource !== undefined) {
    if (resource === "") fail("has an empty resource (nothing after \"/\")");
    if (partTooLong(resource)) fail(`has a resource longer than ${MAX_PART_BYTES} bytes`);
    const bad = CONTROL.exec(resource);
    if (bad) fail(`has the control character ${JSON.stringify(bad[0])} in the resource`);
  }

  return {
    ...(local !== undefined && { local }),
    domain,
    ...(resource !== undefined && { resource }),
  };
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
