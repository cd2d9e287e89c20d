import { expect } from "chai";
import { ListingCost } from "../../lib/jobs/listing-cost.ts";

describe("ListingCost (the pause a node's listing asks for)", () => {
  it("pauses four times a listing's duration while it is the only measure", () => {
    const cost = new ListingCost();
    cost.noted(600, 10_000);
    expect(cost.pauseMs).to.equal(2400);
  });

  it("a listing that waited behind the node's other work costs its size at the cheapest rate seen, not its wait", () => {
    const cost = new ListingCost();
    cost.noted(600, 10_000); // 0.06 ms per session
    cost.noted(6000, 500); // the node was delivering packets meanwhile
    expect(cost.pauseMs).to.equal(4 * 0.06 * 500);
  });

  it("a listing as big as an earlier, quicker one costs what that one did: the extra time was a wait", () => {
    const cost = new ListingCost();
    cost.noted(100, 10_000);
    cost.noted(200, 10_000);
    expect(cost.pauseMs).to.equal(400);
  });

  it("small listings (a round trip each) do not set the rate per session; an empty one asks for no pause", () => {
    const cost = new ListingCost();
    cost.noted(50, 10);
    expect(cost.pauseMs).to.equal(200);
    cost.noted(5000, 50);
    expect(cost.pauseMs).to.equal(20_000);
    cost.noted(600, 10_000);
    cost.noted(40, 0);
    expect(cost.pauseMs).to.equal(0);
  });
});
