import type { Config } from "../config.ts";
import { InputError } from "../errors.ts";
import { parseDuration, parseFraction, parsePositiveInt, parseRate } from "../input.ts";
import type { PacingOptions } from "../jobs/pacer.ts";
import { parseTargets, type Target } from "../jobs/targets.ts";
import { bareJid, canonicalJid, parseJid, quoteVisibly } from "../xmpp/jid.ts";

/** Pacing and timing flags shared by every job command; values are strings as typed by the user. */
export interface JobFlags {
  to?: string[];
  rate?: string;
  burst?: string;
  jitter?: string;
  maxInFlight?: string;
  wait?: string;
  grace?: string;
  deadline?: string;
  fallback?: string;
  method?: string;
  announce?: string;
  exclude?: string[];
  dryRun?: boolean;
  follow?: boolean;
  targetCheck?: boolean;
  from?: string;
  domain?: string;
}

export interface JobSettings {
  targets: Target[];
  pacing: PacingOptions;
  waitMs: number;
  graceMs: number;
  deadlineMs?: number;
  fallback: "kick" | "none";
  /** false with `--method kick`: sessions are ended without a transfer packet. */
  sendPackets: boolean;
  excluded: (jid: { jid: string; bare: string }) => boolean;
}

export const pacingDefaults = { rate: 50, burst: 10, jitter: 0.2, max_in_flight: 200, grace: "30s", wait: "0s" };

/** Flags win over the config file's `pacing:` block, which wins over the defaults. Every error names its flag. */
export function readJobSettings(flags: JobFlags, config: Config, defaults: { fallback: "kick" | "none" }): JobSettings {
  const file = { ...pacingDefaults, ...config.pacing } as Record<string, string | number | undefined>;
  const pick = (flag: string | undefined, key: string, name: string) => (flag !== undefined ? { value: flag, field: name } : { value: file[key], field: `pacing.${key}` });

  const rate = pick(flags.rate, "rate", "--rate");
  const burst = pick(flags.burst, "burst", "--burst");
  const jitter = pick(flags.jitter, "jitter", "--jitter");
  const inFlight = pick(flags.maxInFlight, "max_in_flight", "--max-in-flight");
  const grace = pick(flags.grace, "grace", "--grace");
  const wait = pick(flags.wait, "wait", "--wait");
  const deadline = pick(flags.deadline, "deadline", "--deadline");

  const methods = flags.method !== undefined ? parseMethods(flags.method) : ["cxfr", "kick"];
  if (flags.fallback !== undefined && flags.fallback !== "kick" && flags.fallback !== "none") throw new InputError("--fallback", `must be kick or none (got "${flags.fallback}")`);
  if (flags.fallback === "kick" && !methods.includes("kick")) throw new InputError("--fallback", "kick needs kick among --method");
  const fallback = methods.includes("kick") ? ((flags.fallback as "kick" | "none" | undefined) ?? defaults.fallback) : "none";

  checkJobText(flags);
  const publicOf = (name: string) => config.nodes.find((n) => n.name === name)?.public;
  const targets = parseTargets(flags.to ?? [], publicOf);

  return {
    targets,
    pacing: {
      rate: parseRate(rate.value ?? 50, rate.field),
      burst: parsePositiveInt(burst.value ?? 10, burst.field, { min: 1 }),
      jitter: parseFraction(jitter.value ?? 0, jitter.field),
      maxInFlight: parsePositiveInt(inFlight.value ?? 200, inFlight.field, { min: 1 }),
    },
    waitMs: parseDuration(wait.value ?? 0, wait.field),
    graceMs: parseDuration(grace.value ?? "30s", grace.field),
    ...(deadline.value !== undefined ? { deadlineMs: parseDuration(deadline.value, deadline.field) } : {}),
    fallback,
    sendPackets: methods.includes("cxfr"),
    excluded: exclusionTest(flags.exclude ?? []),
  };
}

/** The first character XML 1.0 (§2.2 Char) does not allow, or undefined: such text cannot be sent in a stanza. */
function notXmlChar(text: string): string | undefined {
  for (const char of text) {
    const c = char.codePointAt(0) ?? 0;
    const allowed = c === 0x9 || c === 0xa || c === 0xd || (c >= 0x20 && c <= 0xd7ff) || (c >= 0xe000 && c <= 0xfffd) || c >= 0x10000;
    if (!allowed) return char;
  }
  return undefined;
}

/** Flags whose text goes into stanzas or picks a mode: refused before anything connects. */
function checkJobText(flags: JobFlags): void {
  if (flags.from !== undefined && flags.from !== "domain" && flags.from !== "component" && flags.from !== "auto") {
    throw new InputError("--from", `must be domain, component or auto (got ${quoteVisibly(flags.from)})`);
  }
  if (flags.domain !== undefined) {
    const jid = parseJid(flags.domain, "--domain");
    if (jid.local !== undefined || jid.resource !== undefined) throw new InputError("--domain", `${quoteVisibly(flags.domain)} must be a bare domain such as example.com`);
  }
  if (flags.announce !== undefined) {
    if (flags.announce.trim() === "") throw new InputError("--announce", "is empty");
    const bad = notXmlChar(flags.announce);
    if (bad !== undefined) throw new InputError("--announce", `contains U+${(bad.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, "0")}, which XML 1.0 does not allow`);
  }
}

/** --method: what may be used, in order of preference: the XEP-0051 packet (cxfr), then ending the session (kick). */
function parseMethods(value: string): string[] {
  const methods = value.split(",").map((m) => m.trim());
  for (const m of methods) {
    if (m === "see-other-host") throw new InputError("--method", "see-other-host is not available (neither Prosody nor ejabberd has a command that sends it)");
    if (m !== "cxfr" && m !== "kick") throw new InputError("--method", `unknown method "${m}" (use cxfr, kick)`);
  }
  if (methods.length === 0 || new Set(methods).size !== methods.length) throw new InputError("--method", "list cxfr and/or kick, each once");
  return methods;
}

/** --exclude: JIDs compared in canonical form (RFC 7622), so VIP@Example.com protects vip@example.com. */
export function exclusionTest(values: string[]): JobSettings["excluded"] {
  const full = new Set<string>();
  const bare = new Set<string>();
  for (const value of values) {
    const jid = parseJid(value, "--exclude");
    if (jid.resource !== undefined) full.add(canonicalJid(jid));
    else bare.add(canonicalJid(bareJid(jid)));
  }
  return (s) => full.has(canonicalJid(s.jid)) || bare.has(canonicalJid(s.bare));
}
