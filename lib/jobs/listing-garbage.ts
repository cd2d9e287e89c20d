import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

/** Listings at least this long leave enough garbage (their XML, parsed) to collect at once. */
const BIG_LISTING = 2000;
/** At most one such collection per this long (a full GC of a 10,000-session job's heap takes ≈20–40 ms). */
const MIN_GAP_MS = 1000;

/**
 * After a big listing has been read: one full GC, at most once a second. The listing's garbage (its XML parsed, ≈10
 * MB at 10,000 sessions) lives long enough to reach V8's old generation, which otherwise grows to about twice the live
 * heap before a full GC frees it: a drain of 10,000 Prosody sessions peaked at 170–190 MB RSS with a live heap of
 * ≈30 MB, ≈150 MB with this (scripts/bench/profile-drain.ts --n 10000).
 */
export class ListingGarbage {
  private lastAt = -Infinity;

  constructor(
    private readonly collect: (() => void) | undefined,
    private readonly now: () => number = () => performance.now(),
  ) {}

  afterListing(entries: number): void {
    if (!this.collect || entries < BIG_LISTING || this.now() - this.lastAt < MIN_GAP_MS) return;
    this.lastAt = this.now();
    this.collect();
  }
}

let shared: ListingGarbage | undefined;

/** The process's collector: V8's gc(), exposed on first use; a runtime that refuses the flag collects nothing. */
export function listingGarbage(): ListingGarbage {
  shared ??= new ListingGarbage(exposedGc());
  return shared;
}

function exposedGc(): (() => void) | undefined {
  try {
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as unknown;
    return typeof gc === "function" ? (gc as () => void) : undefined;
  } catch {
    return undefined;
  }
}
