import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { expect } from "chai";
import { homeOf } from "../../lib/jobs/home.ts";

const five = ["n1", "n2", "n3", "n4", "n5"].map((name) => ({ name, weight: 1 }));
const jids = (count: number) => Array.from({ length: count }, (_, i) => `user${i}@example.com`);

describe("home node (weighted rendezvous hashing)", () => {
  it("is the same in another process", () => {
    const module = fileURLToPath(new URL("../../lib/jobs/home.ts", import.meta.url));
    const code = `import { homeOf } from ${JSON.stringify(module)};
      const nodes = ${JSON.stringify(five)};
      process.stdout.write(JSON.stringify(Array.from({ length: 2000 }, (_, i) => homeOf("user" + i + "@example.com", nodes))));`;
    const other = JSON.parse(execFileSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", code], { encoding: "utf8" })) as string[];
    expect(other).to.deep.equal(jids(2000).map((j) => homeOf(j, five)));
  });

  it("removing one of five nodes re-homes only that node's users (10,000 JIDs)", () => {
    const before = new Map(jids(10_000).map((j) => [j, homeOf(j, five)]));
    const four = five.filter((n) => n.name !== "n3");
    let moved = 0;
    for (const [jid, home] of before) {
      const after = homeOf(jid, four);
      if (home === "n3") expect(after).to.not.equal("n3");
      else expect(after, jid).to.equal(home);
      if (after !== home) moved++;
    }
    const onN3 = [...before.values()].filter((h) => h === "n3").length;
    expect(moved).to.equal(onN3);
    // the share of re-homed users is n3's share, about 1/5
    expect(moved / 10_000).to.be.within(0.17, 0.23);
    process.stdout.write(`      [re-homed after removing 1 of 5 nodes: ${moved} of 10000 = ${(moved / 100).toFixed(2)}%]\n`);
  });

  it("adding a node takes users only onto the new node", () => {
    const six = [...five, { name: "n6", weight: 1 }];
    for (const jid of jids(3000)) {
      const after = homeOf(jid, six);
      if (after !== "n6") expect(after).to.equal(homeOf(jid, five));
    }
  });

  it("spreads users by weight", () => {
    const weighted = [{ name: "small", weight: 1 }, { name: "big", weight: 3 }];
    const big = jids(8000).filter((j) => homeOf(j, weighted) === "big").length / 8000;
    expect(big).to.be.within(0.71, 0.79);
  });
});
