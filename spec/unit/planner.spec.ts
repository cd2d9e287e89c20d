import { expect } from "chai";
import type { NodeConfig } from "../../lib/config.ts";
import { InputError } from "../../lib/errors.ts";
import { parseJobBody, type JobSpec } from "../../lib/jobs/job-schema.ts";
import { readPlanner } from "../../lib/jobs/planner.ts";
import type { Placement } from "../../lib/jobs/placement.ts";
import type { LiveSession } from "../../lib/xmpp/admin.ts";

const nodes = ["a", "b", "c"].map((name) => ({ name }) as NodeConfig);
const session = (user: string): LiveSession => ({ jid: `${user}@example.com/r`, bare: `${user}@example.com`, resource: "r" });

function refusal(spec: Record<string, unknown>, style: "flag" | "body"): string {
  try {
    readPlanner(style === "body" ? parseJobBody(spec) : (spec as JobSpec), nodes, style);
  } catch (err) {
    if (err instanceof InputError) return err.message;
    throw err;
  }
  return "accepted";
}

describe("planner: redirect and rebalance specs, from flags or a body", () => {
  const cases: Array<[string, Record<string, unknown>, string, string]> = [
    ["neither map nor ring", { kind: "redirect" }, "--map: give exactly one of --map FILE or --ring", "map: give exactly one of map (CSV text) or ring: true"],
    ["a map line naming no node", { kind: "redirect", map: "x@example.com,zz\n" }, '--map: map line 1: no node named "zz"', 'map: map line 1: no node named "zz"'],
    ["targets on a redirect", { kind: "redirect", ring: true, to: ["a"] }, "--to: redirect sends each user", "to: redirect sends each user"],
    ["rebalance options on a redirect", { kind: "redirect", ring: true, count: 2 }, "--count: is for rebalance", "count: is for rebalance"],
    ["no amount", { kind: "rebalance", to: ["b"] }, "--count: give exactly one of --count N or --fraction F", "count: give exactly one of count N or fraction F"],
    ["an unknown node", { kind: "rebalance", to: ["zz"], count: 1 }, '--to: no node named "zz"', 'to: no node named "zz"'],
    ["two receiving nodes", { kind: "rebalance", to: ["a", "b"], count: 1 }, "--to: give one node", "to: give one node"],
    ["a fraction above 1", { kind: "rebalance", to: ["b"], fraction: 1.5 }, "--fraction: 1.5 is not a fraction in (0, 1]", "fraction: 1.5 is not a fraction in (0, 1]"],
    ["count 0", { kind: "rebalance", to: ["b"], count: 0 }, "--count: 0 is below the minimum 1", "count: 0 is below the minimum 1"],
    ["a negative tolerance", { kind: "rebalance", even: true, tolerance: -1 }, '--tolerance: "-1" is not a tolerance', 'tolerance: "-1" is not a tolerance'],
    ["--even with --to", { kind: "rebalance", even: true, to: ["b"] }, "--even: takes no --to, --count or --fraction", "even: takes no to, count or fraction"],
    ["tolerance without even", { kind: "rebalance", to: ["b"], count: 1, tolerance: 2 }, "--tolerance: only with --even", "tolerance: only with even"],
    ["redirect options on a rebalance", { kind: "rebalance", even: true, ring: true }, "--ring: is for redirect", "ring: is for redirect"],
  ];
  for (const [title, spec, flag, body] of cases) {
    it(`${title}: refused naming the field in each style`, () => {
      expect(refusal(spec, "flag")).to.satisfy((m: string) => m.startsWith(flag), refusal(spec, "flag"));
      expect(refusal(spec, "body")).to.satisfy((m: string) => m.startsWith(body), refusal(spec, "body"));
    });
  }

  it("a body's rebalance `to` may be a string; the plans are those of placement.ts", () => {
    const placement: Placement = new Map([["a", ["u1", "u2", "u3", "u4"].map(session)], ["b", []], ["c", []]]);
    expect(readPlanner(parseJobBody({ kind: "rebalance", to: "b", count: 2 }), nodes, "body").plan(placement).size).to.equal(2);
    const even = readPlanner(parseJobBody({ kind: "rebalance", even: true, tolerance: "0" }), nodes, "body");
    expect([...even.plan(placement).values()].map((m) => m.from)).to.deep.equal(["a", "a"]);
    expect(even.describe?.(placement)).to.deep.include({ counts: { a: 4, b: 0, c: 0 }, goal: { a: 2, b: 1, c: 1 } });
    const home = readPlanner(parseJobBody({ kind: "redirect", map: "jid,node\n*@example.com,c\n" }), nodes, "body");
    expect(home.plan(placement).size).to.equal(4);
  });
});
