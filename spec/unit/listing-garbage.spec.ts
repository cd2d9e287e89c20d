import { expect } from "chai";
import { ListingGarbage, listingGarbage } from "../../lib/jobs/listing-garbage.ts";

describe("ListingGarbage (a full GC after a big listing)", () => {
  it("collects after a listing of 2,000 entries or more, at most once a second", () => {
    let t = 0;
    let collected = 0;
    const garbage = new ListingGarbage(() => collected++, () => t);
    garbage.afterListing(1999);
    expect(collected).to.equal(0);
    garbage.afterListing(10_000);
    expect(collected).to.equal(1);
    t = 900;
    garbage.afterListing(10_000);
    expect(collected).to.equal(1);
    t = 1000;
    garbage.afterListing(10_000);
    expect(collected).to.equal(2);
  });

  it("the process's collector is V8's own gc()", () => {
    const before = process.memoryUsage().heapUsed;
    let junk: unknown[] | undefined = Array.from({ length: 200_000 }, (_, i) => ({ i, s: `x${i}` }));
    expect(junk.length).to.equal(200_000);
    junk = undefined;
    listingGarbage().afterListing(5000);
    expect(process.memoryUsage().heapUsed).to.be.below(before + 5 * 2 ** 20);
  });
});
