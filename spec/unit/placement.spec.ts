import { expect } from "chai";
import { parseHomeMap } from "../../lib/jobs/home-map.ts";
import { parseTolerance, planEven, planRebalanceTo, planRedirect, type Placement, type Plan } from "../../lib/jobs/placement.ts";
import type { LiveSession } from "../../lib/xmpp/admin.ts";

const session = (user: string, resource = "r"): LiveSession => ({ jid: `${user}@example.com/${resource}`, bare: `${user}@example.com`, resource });
const users = (from: number, count: number) => Array.from({ length: count }, (_, i) => session(`u${from + i}`));

/** Applies a plan to a placement, the way the clients would move. */
function apply(placement: Placement, plan: Plan): Placement {
  const after: Placement = new Map([...placement.keys()].map((n) => [n, []]));
  for (const [node, sessions] of placement) for (const s of sessions) after.get(plan.get(s.jid)?.to ?? node)?.push(s);
  return after;
}

describe("placement plans", () => {
  describe("redirect", () => {
    it("sends every session not on its home there, and nobody when all are home", () => {
      const placement: Placement = new Map([["a", [session("x"), session("y")]], ["b", [session("z")]]]);
      const home = (bare: string) => ({ "x@example.com": "a", "y@example.com": "b", "z@example.com": "a" })[bare];
      const plan = planRedirect(placement, home);
      expect([...plan]).to.deep.equal([["y@example.com/r", { from: "a", to: "b" }], ["z@example.com/r", { from: "b", to: "a" }]]);
      expect(planRedirect(apply(placement, plan), home).size).to.equal(0);
    });

    it("leaves users without a home, or with a home that is not in scope, where they are", () => {
      const placement: Placement = new Map([["a", [session("x"), session("y")]]]);
      expect(planRedirect(placement, (bare) => (bare === "x@example.com" ? undefined : "gone")).size).to.equal(0);
    });
  });

  describe("rebalance --to --count/--fraction", () => {
    it("moves exactly N from 40/0/0 and nothing on the second run", () => {
      const placement: Placement = new Map([["a", users(1, 40)], ["b", []], ["c", []]]);
      const plan = planRebalanceTo(placement, "b", { count: 10 });
      expect(plan.size).to.equal(10);
      expect([...plan.values()].every((m) => m.from === "a" && m.to === "b")).to.equal(true);
      expect(planRebalanceTo(apply(placement, plan), "b", { count: 10 }).size).to.equal(0);
    });

    it("picks the same sessions whatever order they are listed in", () => {
      const list = users(1, 30);
      const one = planRebalanceTo(new Map([["a", list], ["b", []]]), "b", { fraction: 0.2 });
      const two = planRebalanceTo(new Map([["a", [...list].reverse()], ["b", []]]), "b", { fraction: 0.2 });
      expect([...one.keys()].sort()).to.deep.equal([...two.keys()].sort());
      expect(one.size).to.equal(6);
    });
  });

  describe("rebalance --even", () => {
    it("from 40/0/0 plans 14/13/13, then nothing", () => {
      const placement: Placement = new Map([["a", users(1, 40)], ["b", []], ["c", []]]);
      const even = planEven(placement, { percent: 10 });
      const after = apply(placement, even.plan);
      expect([...after].map(([n, s]) => [n, s.length])).to.deep.equal([["a", 14], ["b", 13], ["c", 13]]);
      expect(planEven(after, { sessions: 0 }).plan.size).to.equal(0);
    });

    it("does nothing while every node is within the tolerance", () => {
      const placement: Placement = new Map([["a", users(1, 11)], ["b", users(20, 9)]]);
      expect(planEven(placement, { sessions: 1 }).plan.size).to.equal(0);
      expect(planEven(placement, { percent: 10 }).plan.size).to.equal(0);
      expect(planEven(placement, { percent: 5 }).plan.size).to.equal(1);
    });

    it("only donors above their share give, only nodes below take", () => {
      const placement: Placement = new Map([["a", users(1, 20)], ["b", users(30, 12)], ["c", users(50, 4)]]);
      const plan = planEven(placement, { sessions: 0 }).plan;
      expect(new Set([...plan.values()].map((m) => m.from))).to.deep.equal(new Set(["a"]));
      expect(new Set([...plan.values()].map((m) => m.to))).to.deep.equal(new Set(["c"]));
    });
  });

  describe("--tolerance", () => {
    it("reads sessions and percentages", () => {
      expect(parseTolerance("2")).to.deep.equal({ sessions: 2 });
      expect(parseTolerance("0")).to.deep.equal({ sessions: 0 });
      expect(parseTolerance("12.5%")).to.deep.equal({ percent: 12.5 });
    });
    for (const bad of ["-1", "-5%", "x", "", "1%%", "%"]) {
      it(`rejects ${JSON.stringify(bad)} naming --tolerance`, () => expect(() => parseTolerance(bad)).to.throw(/^--tolerance: /));
    }
  });

  describe("--map file", () => {
    const nodes = ["a", "b"];
    it("reads bare JIDs and *@domain, skipping blanks, comments and a header", () => {
      const home = parseHomeMap("jid,node\n# pinned\nalice@example.com, b\n\n*@example.com,a\n*@other.org,b\n", nodes, "m.csv");
      expect(["alice@example.com", "bob@example.com", "carol@other.org", "dave@third.net"].map(home)).to.deep.equal(["b", "a", "b", undefined]);
    });
    const cases: Array<[string, RegExp]> = [
      ["alice@example.com,a\nbob@example.com\n", /^--map: m\.csv line 2: expected "jid,node"/],
      ["alice@example.com,zz\n", /^--map: m\.csv line 1: no node named "zz"/],
      ["# c\nalice@example.com/res,a\n", /line 2: "alice@example.com\/res" must be a bare JID/],
      ["a b@example.com,a\n", /line 1/],
      ["alice@example.com,a\nalice@example.com,b\n", /line 2: alice@example.com is given twice/],
      ["*@user@example.com,a\n", /line 1/],
      ["x,y,z\n", /line 1: expected "jid,node"/],
    ];
    for (const [text, error] of cases) {
      it(`rejects ${JSON.stringify(text.slice(0, 30))} naming the line`, () => expect(() => parseHomeMap(text, nodes, "m.csv")).to.throw(error));
    }
  });
});
