import type { Config } from "../config.ts";
import { InputError } from "../errors.ts";
import { parseDuration, parseFraction, parsePositiveInt, parseRate } from "../input.ts";
import type { PacingOptions } from "../jobs/pacer.ts";
import { parseTargets, type Target } from "../jobs/targets.ts";
import { bareJid, canonicalJid, parseJid } from "../xmpp/jid.ts";

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
