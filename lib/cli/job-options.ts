import type { Config } from "../config.ts";
import { DEFAULT_METHODS, fieldName, parseMethods, readFallback, readTiming, type FieldStyle } from "../jobs/job-schema.ts";
import type { PacingOptions } from "../jobs/pacer.ts";
import { parseTargets, type Target } from "../jobs/targets.ts";
import { bareJid, formatJid, parseJid } from "../xmpp/jid.ts";

/** Pacing and timing flags shared by every job command; values are strings as typed by the user. */
export interface JobFlags {
  to?: string[];
  rate?: string | number;
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
  waitMs: number;
  graceMs: number;
  deadlineMs?: number;
  fallback: "kick" | "none";
  /** false with `--method kick`: sessions are ended without a transfer packet. */
  sendPackets: boolean;
  excluded: (jid: { jid: string; bare: string }) => boolean;
}

/** Flags win over the config file's `pacing:` block, which wins over the defaults (lib/jobs/job-schema.ts). Every error names its flag. */
export function readJobSettings(flags: JobFlags, config: Config, defaults: { fallback: "kick" | "none" }, style: FieldStyle = "flag"): JobSettings {
  const timing = readTiming(flags, config.pacing, style);
  const methods = parseMethods(flags.method ?? DEFAULT_METHODS, fieldName("method", style));
  const fallback = readFallback(flags.fallback, methods, defaults.fallback, style);
  const publicOf = (name: string) => config.nodes.find((n) => n.name === name)?.public;
  const targets = parseTargets(flags.to ?? [], publicOf, fieldName("to", style));
  if (style !== "flag") for (const value of flags.exclude ?? []) parseJid(value, fieldName("exclude", style));

  return {
    targets,
    ...timing,
    fallback,
    sendPackets: methods.includes("cxfr"),
    excluded: exclusionTest(flags.exclude ?? []),
  };
}

function exclusionTest(values: string[]): JobSettings["excluded"] {
  const full = new Set<string>();
  const bare = new Set<string>();
  for (const value of values) {
    const jid = parseJid(value, "--exclude");
    if (jid.resource !== undefined) full.add(formatJid(jid));
    else bare.add(bareJid(jid));
  }
  return (s) => full.has(s.jid) || bare.has(s.bare);
}
