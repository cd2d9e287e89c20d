import { isIPv4, isIPv6 as isIPv6OrZoned } from "node:net";
import { InputError } from "../errors.ts";

export interface HostPort {
  host: string;
  port?: number;
}

const MAX_HOSTNAME_LENGTH = 253;
const MAX_LABEL_LENGTH = 63;

/** An IPv6 literal without brackets; zone ids (`fe80::1%eth0`) are local to one machine, so never valid here. */
export function isIPv6(text: string): boolean {
  return !text.includes("%") && isIPv6OrZoned(text);
}

export { isIPv4 };

function isLabelChar(char: string): boolean {
  if (/^[A-Za-z0-9-]$/.test(char)) return true;
  // Internationalised names: any non-ASCII character but controls, format chars and spaces (IDNA's finer rules
  // are left to DNS).
  return char.codePointAt(0)! > 0x7f && !/[\p{Cc}\p{Cf}\p{Cs}\p{Z}]/u.test(char);
}

/**
 * Why `name` is not a valid DNS hostname or dotted IPv4 address, or undefined when it is one.
 * Checks the shape only (labels, characters); overall length limits differ per caller.
 */
export function hostnameProblem(name: string): string | undefined {
  const labels = name.split(".");
  if (labels.every((label) => /^\d+$/.test(label))) {
    return isIPv4(name) ? undefined : "is not a valid IPv4 address";
  }
  for (const label of labels) {
    if (label === "") return name.endsWith(".") ? "ends with a dot" : "has an empty label (\"..\" or a leading dot)";
    const chars = [...label];
    if (chars.length > MAX_LABEL_LENGTH) return `has a label longer than ${MAX_LABEL_LENGTH} characters`;
    const bad = chars.find((char) => !isLabelChar(char));
    if (bad !== undefined) return `contains ${/[\p{Cc}\p{Cf}\p{Z}]/u.test(bad) ? `U+${(bad.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, "0")}` : JSON.stringify(bad)}, which is not allowed in a host name`;
    if (label.startsWith("-") || label.endsWith("-")) return "has a label that starts or ends with a hyphen";
  }
  return undefined;
}

/** Why `text` is not a port number 1..65535 written as plain digits, or undefined. */
function portProblem(text: string): string | undefined {
  if (text === "") return "an empty port";
  if (!/^\d+$/.test(text)) return `a port ${JSON.stringify(text)} that is not a number (use digits, 1-65535)`;
  const port = Number(text);
  if (port < 1 || port > 65535) return `a port ${text} out of range 1-65535`;
  return undefined;
}

export function parsePort(input: string | number, field: string): number {
  const fail = (reason: string): never => {
    throw new InputError(field, reason);
  };
  if (typeof input === "string") {
    if (input === "") fail("port is empty");
    if (!/^\d+$/.test(input)) fail(`${JSON.stringify(input)} is not a port number (use digits, 1-65535)`);
  } else if (typeof input !== "number" || !Number.isInteger(input)) {
    fail(`${String(input)} is not a port number (use a whole number 1-65535)`);
  }
  const port = Number(input);
  if (port < 1 || port > 65535) fail(`port ${input} is out of range 1-65535`);
  return port;
}

function hostProblem(host: string): string | undefined {
  if (host.length > MAX_HOSTNAME_LENGTH) return `is longer than ${MAX_HOSTNAME_LENGTH} characters`;
  return hostnameProblem(host);
}

/** An unbracketed IPv6 address whose last group could also be read as a port (`fe80::1:2`). */
function endsLikeAPort(ipv6: string): boolean {
  const lastColon = ipv6.lastIndexOf(":");
  return /^\d{1,5}$/.test(ipv6.slice(lastColon + 1)) && isIPv6(ipv6.slice(0, lastColon));
}

/**
 * `host`, `host:port`, `1.2.3.4:5222`, `[::1]:5222` or `[::1]`. A bare unbracketed IPv6 address is accepted only
 * when it cannot also be read as an address plus a port.
 */
export function parseHostPort(input: string, field: string): HostPort {
  if (typeof input !== "string") throw new InputError(field, "must be a string such as host:5222");
  const quoted = JSON.stringify(input);
  const fail = (reason: string): never => {
    throw new InputError(field, `${quoted} ${reason}`);
  };
  if (input === "") fail("is empty (expected host or host:port)");
  if (/\s/.test(input)) fail("contains whitespace");

  if (input.startsWith("[")) {
    const close = input.indexOf("]");
    if (close < 0) fail("has \"[\" without a closing \"]\"");
    const host = input.slice(1, close);
    if (!isIPv6(host)) fail(`has ${JSON.stringify(host)} in brackets, which is not an IPv6 address`);
    const rest = input.slice(close + 1);
    if (rest === "") return { host };
    if (!rest.startsWith(":")) fail("has text after \"]\" that is not \":port\"");
    const problem = portProblem(rest.slice(1));
    if (problem) fail(`has ${problem}`);
    return { host, port: Number(rest.slice(1)) };
  }

  const colons = input.split(":").length - 1;
  if (colons > 1) {
    if (!isIPv6(input)) fail("has more than one \":\" (write an IPv6 address in brackets: [::1]:5222)");
    if (endsLikeAPort(input)) fail("is ambiguous: write [address]:port or [address] for an IPv6 address");
    return { host: input };
  }

  const [host = "", portText] = input.split(":");
  if (host === "") fail("has no host before \":\"");
  const problem = hostProblem(host);
  if (problem) fail(portText === undefined ? problem : `has an invalid host ${JSON.stringify(host)}: it ${problem}`);
  if (portText === undefined) return { host };
  const badPort = portProblem(portText);
  if (badPort) fail(`has ${badPort}`);
  return { host, port: Number(portText) };
}

export function formatHostPort(hp: HostPort): string {
  const host = hp.host.includes(":") ? `[${hp.host}]` : hp.host;
  return hp.port === undefined ? host : `${host}:${hp.port}`;
}
