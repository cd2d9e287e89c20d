import { InputError } from "../errors.ts";
import { parseDuration, parseFraction, parsePositiveInt, parseRate } from "../input.ts";
import { autoRateDefaults } from "./auto-rate.ts";
import { METHOD_NAMES } from "../methods/method.ts";
import type { PacingOptions } from "./pacer.ts";

// No zod here: the CLI reads these defaults at start-up (help texts), and start-up stays light.

/**
 * The one home of a job's knobs and their defaults. CLI flags (`--max-in-flight`), the config file's
 * `pacing:` block (`max_in_flight`) and HTTP bodies (`maxInFlight`) all read these fields; flags and
 * bodies win over the file, the file over the defaults.
 */
export type FieldStyle = "flag" | "file" | "body";

interface TimingField<T> {
  flag: string;
  file: string;
  default: string | number | undefined;
  parse: (value: string | number, field: string) => T;
  help: string;
}

export const TIMING_FIELDS = {
  rate: { flag: "--rate", file: "rate", default: 50, parse: parseRate, help: "packets and kicks per second, 'unlimited', or 'auto' (paced by what the targets absorb)" },
  maxRate: { flag: "--max-rate", file: "max_rate", default: undefined, parse: parseMaxRate, help: `with --rate auto: the highest rate it may reach (default ${autoRateDefaults.maxRate})` },
  burst: { flag: "--burst", file: "burst", default: 10, parse: (v, f) => parsePositiveInt(v, f, { min: 1 }), help: "packets allowed at once after a pause" },
  jitter: { flag: "--jitter", file: "jitter", default: 0.2, parse: parseFraction, help: "0..1: random stretch of each wait" },
  maxInFlight: { flag: "--max-in-flight", file: "max_in_flight", default: 1000, parse: (v, f) => parsePositiveInt(v, f, { min: 1 }), help: "transfers awaiting their outcome at once; no cap with --rate unlimited unless given" },
  wait: { flag: "--wait", file: "wait", default: "0s", parse: parseDuration, help: "pause before the first packet, e.g. 30s" },
  grace: { flag: "--grace", file: "grace", default: "30s", parse: parseDuration, help: "time a session gets to leave after its packet before the fallback" },
  deadline: { flag: "--deadline", file: "deadline", default: undefined, parse: parseDuration, help: "stop the job after this long; what is left counts as remaining" },
} satisfies Record<string, TimingField<number>>;

export type TimingKey = keyof typeof TIMING_FIELDS;

/** Keys the config file's `pacing:` block accepts. */
export const PACING_FILE_KEYS: readonly string[] = Object.values(TIMING_FIELDS).map((f) => f.file);

/** Every method a chain may name (lib/methods/). */
export const METHODS_AVAILABLE = METHOD_NAMES;
/** The chain when `--method` is not given and the node has no admin channel (see `cxfr check` for what it allows). */
export const DEFAULT_METHODS = "cxfr,kick";

/** Per-kind defaults that are not pacing: drains fall back to a kick, a transfer leaves sessions alone. */
export const FALLBACK_DEFAULT = { drain: "kick", transfer: "none", redirect: "none", rebalance: "none" } as const;

export const JOB_KINDS = ["drain", "transfer", "redirect", "rebalance"] as const;
/** Kinds that plan their moves over every configured node (lib/jobs/planned.ts) instead of draining one node. */
export const PLANNED_KINDS = ["redirect", "rebalance"] as const;
export type PlannedKind = (typeof PLANNED_KINDS)[number];
export type JobKind = (typeof JOB_KINDS)[number];

/** The name of a field as the user wrote it, in the given style. */
export function fieldName(key: string, style: FieldStyle): string {
  const timing = (TIMING_FIELDS as Record<string, TimingField<number>>)[key];
  if (style === "file") return `pacing.${timing?.file ?? key}`;
  if (style === "body") return key;
  return timing?.flag ?? `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/** Help text of a flag with its default, so `--help` never disagrees with the engine. */
export function flagHelp(key: TimingKey): string {
  const field = TIMING_FIELDS[key];
  return field.default === undefined ? field.help : `${field.help} (default ${field.default})`;
}

/** `--max-rate`: a finite rate (auto pacing must stay below something). */
function parseMaxRate(value: string | number, field: string): number {
  const rate = parseRate(value, field);
  if (rate === Infinity || rate < autoRateDefaults.minRate) throw new InputError(field, `must be a number of sessions per second ≥ ${autoRateDefaults.minRate} (got ${JSON.stringify(value)})`);
  return rate;
}

export interface Timing {
  pacing: PacingOptions;
  /** `--rate auto`: the rate follows what the targets absorb, up to maxRate; pacing.rate is the starting rate. */
  autoRate?: { maxRate: number };
  waitMs: number;
  graceMs: number;
  deadlineMs?: number;
}

/** Reads every timing field: the request's value (named in `style`), else the file's `pacing:` value, else the default. */
export function readTiming(request: Partial<Record<TimingKey, string | number>>, filePacing: Record<string, unknown>, style: FieldStyle): Timing {
  const value = <K extends TimingKey>(key: K): number | undefined => {
    const field: TimingField<number> = TIMING_FIELDS[key];
    if (request[key] !== undefined) return field.parse(request[key], fieldName(key, style));
    const fromFile = filePacing[field.file];
    if (fromFile !== undefined) return field.parse(fromFile as string | number, fieldName(key, "file"));
    return field.default === undefined ? undefined : field.parse(field.default, key);
  };
  const deadlineMs = value("deadline");
  const rateGiven = request.rate !== undefined ? request.rate : filePacing.rate;
  const auto = rateGiven === "auto";
  const maxRate = value("maxRate");
  if (maxRate !== undefined && !auto) {
    const field = request.maxRate !== undefined ? fieldName("maxRate", style) : fieldName("maxRate", "file");
    throw new InputError(field, `applies only with ${fieldName("rate", style)} auto`);
  }
  const autoMax = maxRate ?? autoRateDefaults.maxRate;
  const rate = auto ? Math.min(autoRateDefaults.startRate, autoMax) : (value("rate") as number);
  // `--rate unlimited` asks for everything at once: the default cap would make it "1,000 per departure check" (at
  // 5,000 sessions ≈1,000–1,350/s against a bare component's ≈10,000–30,000/s on ejabberd); a cap given still holds
  const capGiven = request.maxInFlight !== undefined || filePacing[TIMING_FIELDS.maxInFlight.file] !== undefined;
  return {
    pacing: { rate, burst: value("burst") as number, jitter: value("jitter") as number, maxInFlight: rate === Infinity && !capGiven ? Infinity : (value("maxInFlight") as number) },
    ...(auto ? { autoRate: { maxRate: autoMax } } : {}),
    waitMs: value("wait") as number,
    graceMs: value("grace") as number,
    ...(deadlineMs !== undefined ? { deadlineMs } : {}),
  };
}

/** `--method`: what may be used, in order of preference. */
export function parseMethods(value: string | string[], field: string): string[] {
  const methods = (Array.isArray(value) ? value : value.split(",")).map((m) => String(m).trim());
  for (const m of methods) {
    if (!(METHODS_AVAILABLE as readonly string[]).includes(m)) throw new InputError(field, `unknown method "${m}" (use ${METHODS_AVAILABLE.join(", ")})`);
  }
  if (methods.length === 0 || new Set(methods).size !== methods.length) throw new InputError(field, `list some of ${METHODS_AVAILABLE.join(", ")}, each once, best first`);
  return methods;
}

export const FROM_MODES = ["domain", "component", "auto"] as const;

/** `--from`: who transfer packets come from. */
export function readFrom(value: string | undefined, style: FieldStyle): (typeof FROM_MODES)[number] | undefined {
  if (value === undefined || (FROM_MODES as readonly string[]).includes(value)) return value as (typeof FROM_MODES)[number] | undefined;
  throw new InputError(fieldName("from", style), `must be one of ${FROM_MODES.join(", ")} (got "${value}")`);
}

/** `--fallback` given the chosen methods: kick only when kick is among them. */
export function readFallback(value: string | undefined, methods: string[], byDefault: "kick" | "none", style: FieldStyle): "kick" | "none" {
  const field = fieldName("fallback", style);
  if (value !== undefined && value !== "kick" && value !== "none") throw new InputError(field, `must be kick or none (got "${value}")`);
  if (value === "kick" && !methods.includes("kick")) throw new InputError(field, `kick needs kick among ${fieldName("method", style)}`);
  return methods.includes("kick") ? (value ?? byDefault) : "none";
}

