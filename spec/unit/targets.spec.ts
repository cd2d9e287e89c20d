import { expect } from "chai";
import { chooseTarget, parseTargets } from "../../lib/jobs/targets.ts";

const noNodes = () => undefined;

describe("targets", () => {
  it("reads host:port, weights and configured node names", () => {
    const targets = parseTargets(["b", "10.0.0.12:5222=3", "[::1]:5223"], (name) => (name === "b" ? { host: "node-b.example.com", port: 5222 } : undefined));
    expect(targets.map((t) => [t.label, t.address, t.weight])).to.deep.equal([
      ["b", { host: "node-b.example.com", port: 5222 }, 1],
      ["10.0.0.12:5222", { host: "10.0.0.12", port: 5222 }, 3],
      ["[::1]:5223", { host: "::1", port: 5223 }, 1],
    ]);
  });

  for (const bad of ["host:5222=0", "host:5222=-1", "host:5222=x", "host:99999", "bad host"]) {
    it(`rejects ${bad} naming --to`, () => {
      expect(() => parseTargets([bad], noNodes)).to.throw(/^--to: /);
    });
  }

  it("rejects the same target twice", () => {
    expect(() => parseTargets(["a:1", "a:1"], noNodes)).to.throw(/given twice/);
  });

  it("is stable and spreads accounts by weight", () => {
    const targets = parseTargets(["a:5222", "b:5222=3"], noNodes);
    const counts = { "a:5222": 0, "b:5222=3": 0 } as Record<string, number>;
    for (let i = 0; i < 4000; i++) {
      const jid = `user${i}@example.com`;
      const first = chooseTarget(jid, targets);
      expect(chooseTarget(jid, targets)).to.equal(first);
      counts[first.label === "a:5222" ? "a:5222" : "b:5222=3"]! += 1;
    }
    // weight 1 : 3 → about 25 % : 75 %
    expect(counts["a:5222"]! / 4000).to.be.within(0.2, 0.3);
  });

  it("moves only the accounts of a removed target", () => {
    const three = parseTargets(["a:1", "b:1", "c:1"], noNodes);
    const two = three.filter((t) => t.label !== "c:1");
    for (let i = 0; i < 500; i++) {
      const jid = `u${i}@example.com`;
      const before = chooseTarget(jid, three);
      if (before.label !== "c:1") expect(chooseTarget(jid, two).label).to.equal(before.label);
    }
  });
});
