import { InputError } from "./errors.ts";

// Values from flags, environment, YAML or JSON bodies; each parser names the field in its InputError.

const DECIMAL = /^\d+(?:\.\d+)?$/;
const UNIT_MS = { h: 3_600_000, m: 60_000, s: 1_000, ms: 1 } as const;
/** Units in descending order, each at most once: 1h30m, 5m, 30s, 1.5s, 250ms, 1m30s500ms. */
const DURATION = /^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m(?!s))?(?:(\d+(?:\.\d+)?)s)?(?:(\d+(?:\.\d+)?)ms)?$/;
/** Node's timers fire at once for anything longer (about 24.8 days), so a longer wait would silently be none. */
const MAX_DURATION_MS = 2 ** 31 - 1;

function quoted(input: unknown): string {
  return typeof input === "string" ? JSON.stringify(input) : String(input);
}

function requireStringOrNumber(input: unknown, field: string): asserts input is string | number {
  if (typeof input !== "string" && typeof input !== "number") {
    throw new InputError(field, `must be a string or a number, not ${input === null ? "null" : typeof input}`);
  }
}

/** Milliseconds from "250ms", "30s", "5m", "1h", "1h30m", or a plain number of seconds. */
export function parseDuration(input: string | number, field: string): number {
  requireStringOrNumber(input, field);
  const fail = (reason: string): never => {
    throw new InputError(field, `${quoted(input)} ${reason}`);
  };
  let ms: number;
  if (typeof input === "number") {
    if (!Number.isFinite(input) || input < 0) fail("is not a duration (use a number of seconds ≥ 0)");
    ms = input * 1_000;
  } else if (DECIMAL.test(input)) {
    ms = Number(input) * 1_000;
  } else {
    const match = input === "" ? null : DURATION.exec(input);
    if (!match) return fail("is not a duration (use e.g. 250ms, 30s, 5m, 1h30m; a plain number means seconds)");
    const [, h = "0", m = "0", s = "0", milli = "0"] = match;
    ms = Number(h) * UNIT_MS.h + Number(m) * UNIT_MS.m + Number(s) * UNIT_MS.s + Number(milli) * UNIT_MS.ms;
  }
  ms = Math.round(ms);
  if (ms > MAX_DURATION_MS) fail(`is too long (at most ${MAX_DURATION_MS} ms, about 24 days)`);
  return ms;
}

/** Sessions per second: a positive number, or "unlimited" for Infinity. */
export function parseRate(input: string | number, field: string): number {
  requireStringOrNumber(input, field);
  if (input === "unlimited" || input === Infinity) return Infinity;
  const rate = typeof input === "number" ? input : DECIMAL.test(input) ? Number(input) : NaN;
  if (!(rate > 0)) {
    throw new InputError(field, `${quoted(input)} is not a rate (use a number of sessions per second > 0, or "unlimited")`);
  }
  return rate;
}

/** A whole number within [min, max]; min defaults to 1. */
export function parsePositiveInt(
  input: string | number,
  field: string,
  opts: { min?: number; max?: number } = {},
): number {
  requireStringOrNumber(input, field);
  const { min = 1, max = Number.MAX_SAFE_INTEGER } = opts;
  const value = typeof input === "number" ? input : /^\d+$/.test(input) ? Number(input) : NaN;
  if (!Number.isSafeInteger(value)) throw new InputError(field, `${quoted(input)} is not a whole number`);
  if (value < min) throw new InputError(field, `${quoted(input)} is below the minimum ${min}`);
  if (value > max) throw new InputError(field, `${quoted(input)} is above the maximum ${max}`);
  return value;
}

/** A fraction 0..1 inclusive (jitter). */
export function parseFraction(input: string | number, field: string): number {
  requireStringOrNumber(input, field);
  const value = typeof input === "number" ? input : DECIMAL.test(input) ? Number(input) : NaN;
  if (!(value >= 0 && value <= 1)) {
    throw new InputError(field, `${quoted(input)} is not a fraction between 0 and 1 (e.g. 0.2)`);
  }
  return value;
}
