import { expect } from "chai";
import { median, percentile } from "../../scripts/bench/load.ts";

// The bench reports medians of rounds: one definition everywhere, so an even count of rounds reads the same in
// every summary line.
describe("bench median", () => {
  it("takes the middle value of an odd count and the mean of the middle two of an even count", () => {
    expect(median([3, 1, 2])).to.equal(2);
    expect(median([4, 1, 3, 2])).to.equal(2.5);
    expect(median([0.88, 2.21, 0.46, 1.051])).to.equal(0.966);
  });

  it("leaves out unknown values, and has no median without any", () => {
    expect(median([undefined, 5, undefined, 7])).to.equal(6);
    expect(median([undefined])).to.equal(undefined);
    expect(median([])).to.equal(undefined);
  });

  it("differs from percentile 0.5, which takes the upper middle value of an even count", () => {
    expect(percentile([1, 2, 3, 4], 0.5)).to.equal(3);
    expect(median([1, 2, 3, 4])).to.equal(2.5);
  });
});
