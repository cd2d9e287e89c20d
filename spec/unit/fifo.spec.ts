import { expect } from "chai";
import { Fifo } from "../../lib/jobs/fifo.ts";

describe("Fifo", () => {
  it("gives items back in the order they came, then undefined", () => {
    const q = new Fifo<number>();
    for (let i = 0; i < 5; i++) q.push(i);
    expect([q.shift(), q.shift(), q.length]).to.deep.equal([0, 1, 3]);
    expect([...q]).to.deep.equal([2, 3, 4]);
    expect([q.shift(), q.shift(), q.shift(), q.shift(), q.length]).to.deep.equal([2, 3, 4, undefined, 0]);
  });

  it("puts items back at the front in their order, into freed room or not", () => {
    const q = new Fifo<string>();
    q.push("c");
    q.unshift("a", "b");
    expect([...q]).to.deep.equal(["a", "b", "c"]);
    expect(q.shift()).to.equal("a");
    q.unshift("x");
    expect([...q]).to.deep.equal(["x", "b", "c"]);
    q.unshift("y", "z");
    expect([...q]).to.deep.equal(["y", "z", "x", "b", "c"]);
  });

  it("keeps order across its compactions (100,000 items, taken in runs, some put back)", () => {
    const q = new Fifo<number>();
    for (let i = 0; i < 100_000; i++) q.push(i);
    const out: number[] = [];
    while (q.length > 0) {
      const run = [q.shift() as number, q.shift(), q.shift()].filter((v): v is number => v !== undefined);
      // the last of every run goes back, as a batch's unsent session does
      const back = run.pop() as number;
      out.push(...run);
      if (run.length === 0) out.push(back);
      else q.unshift(back);
      if (out.length % 5000 === 0) q.push(-out.length);
    }
    const numbers = out.filter((v) => v >= 0);
    expect(numbers).to.have.length(100_000);
    expect(numbers.every((v, i) => v === i)).to.equal(true);
    expect(out.filter((v) => v < 0)).to.have.length.above(0);
  });
});
