/**
 * How long a node's listing costs it, to pace the next one: listings take at most a fifth of the node's time
 * (the pause after one is LISTING_SHARE times its cost).
 *
 * A listing's duration is its cost plus its wait behind whatever the node was doing: one taken while the node
 * delivers 10,000 transfer packets waits seconds behind them, though it lists a few hundred sessions. Paced by
 * that duration, the next listing would come half a minute later and the job would wait that long to see users it
 * already moved. The cost of a listing is taken as its size at the cheapest rate per session seen so far.
 */
export const LISTING_SHARE = 4;

/** Listings smaller than this do not set the rate per session: a round trip dominates them. */
const RATE_SAMPLE_MIN = 100;

export class ListingCost {
  private bestMsPerSession = Infinity;
  private lastCostMs = 0;

  noted(durationMs: number, sessions: number): void {
    if (sessions >= RATE_SAMPLE_MIN) this.bestMsPerSession = Math.min(this.bestMsPerSession, durationMs / sessions);
    const atBestRate = Number.isFinite(this.bestMsPerSession) ? this.bestMsPerSession * sessions : durationMs;
    this.lastCostMs = Math.min(durationMs, atBestRate);
  }

  /** The pause the last listing's cost asks for before the next one. */
  get pauseMs(): number {
    return LISTING_SHARE * this.lastCostMs;
  }
}
