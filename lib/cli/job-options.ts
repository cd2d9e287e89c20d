import type { Config } from "../config.ts";
import { InputError } from "../errors.ts";
import { DEFAULT_METHODS, fieldName, parseMethods, readFallback, readTiming, type FieldStyle } from "../jobs/job-defaults.ts";
import type { MethodName } from "../methods/method.ts";
import type { PacingOptions } from "../jobs/pacer.ts";
import { parseTargets, type Target } from "../jobs/targets.ts";
import { bareJid, canonicalJid, parseJid, quoteVisibly } from "../xmpp/jid.ts";

/** Pacing and timing flags shared by every job command; values are strings as typed by the user. */
export interface JobFlags {
  to?: string[];
  rate?: string | number;
  maxRate?: string | number;
  burst?: string | number;
  jitter?: string | number;
  maxInFlight?: string | number;
  wait?: string | number;
  grace?: string | number;
  deadline?: string | number;
  fallback?: string;
  method?: string | string[];
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
  /** `--rate auto`: pacing.rate is where it starts; the rate then follows the targets up to maxRate. */
  autoRate?: { maxRate: number };
  waitMs: number;
  graceMs: number;
  deadlineMs?: number;
  fallback: "kick" | "none";
  /** false with `--method kick`: sessions are ended without a transfer packet. */
  sendPackets: boolean;
  /** The method chain, best first (without kick when the fallback is none). */
  methods: MethodName[];
  /** Whether the chain was chosen (`--method`); otherwise the job may widen it to what the node's channels allow. */
  methodsChosen: boolean;
  excluded: (jid: { jid: string; bare: string }) => boolean;
}

/** Flags win over the config file's `pacing:` block, which wins over the defaults (lib/jobs/job-schema.ts). Every error names its flag. */
export function readJobSettings(flags: JobFlags, config: Config, defaults: { fallback: "kick" | "none" }, style: FieldStyle = "flag"): JobSettings {
  const timing = readTiming(flags, config.pacing, style);
  const methods = parseMethods(flags.method ?? DEFAULT_METHODS, fieldName("method", style));
  const fallback = readFallback(flags.fallback, methods, defaults.fallback, style);
  checkJobText(flags, style);
  const publicOf = (name: string) => config.nodes.find((n) => n.name === name)?.public;
  const targets = parseTargets(flags.to ?? [], publicOf, fieldName("to", style));
  if (style !== "flag") for (const value of flags.exclude ?? []) parseJid(value, fieldName("exclude", style));

  return {
    targets,
    ...timing,
    fallback,
    sendPackets: methods.includes("cxfr"),
    methods: (methods as MethodName[]).filter((m) => m !== "kick" || fallback === "kick"),
    methodsChosen: flags.method !== undefined,
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
function checkJobText(flags: JobFlags, style: FieldStyle): void {
  const field = (key: string) => fieldName(key, style);
  if (flags.from !== undefined && flags.from !== "domain" && flags.from !== "component" && flags.from !== "auto") {
    throw new InputError(field("from"), `must be domain, component or auto (got ${quoteVisibly(flags.from)})`);
  }
  if (flags.domain !== undefined) {
    const jid = parseJid(flags.domain, field("domain"));
    if (jid.local !== undefined || jid.resource !== undefined) throw new InputError(field("domain"), `${quoteVisibly(flags.domain)} must be a bare domain such as example.com`);
  }
  if (flags.announce !== undefined) {
    if (flags.announce.trim() === "") throw new InputError(field("announce"), "is empty");
    const bad = notXmlChar(flags.announce);
    if (bad !== undefined) throw new InputError(field("announce"), `contains U+${(bad.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, "0")}, which XML 1.0 does not allow`);
  }
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
