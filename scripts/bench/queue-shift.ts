// How long emptying a job's queue one session at a time takes, Array#shift against lib/jobs/fifo.ts, in one run.
//   tsx scripts/bench/queue-shift.ts [--n 10000,50000,100000]
import { parseArgs } from "node:util";
import { Fifo } from "../../lib/jobs/fifo.ts";

const { values: args } = parseArgs({ options: { n: { type: "string" } } });
const sizes = (args.n ?? "10000,50000,100000").split(",").map(Number);

function timed(fill: (n: number) => { shift(): unknown; length: number }, n: number): number {
  const queue = fill(n);
  const started = performance.now();
  while (queue.length > 0) queue.shift();
  return performance.now() - started;
}

for (const n of sizes) {
  const array = timed((size) => Array.from({ length: size }, (_, i) => ({ i })), n);
  const fifo = timed((size) => {
    const q = new Fifo<{ i: number }>();
    for (let i = 0; i < size; i++) q.push({ i });
    return q;
  }, n);
  process.stdout.write(`${n} sessions: Array#shift ${array.toFixed(1)} ms, Fifo ${fifo.toFixed(1)} ms (${(array / fifo).toPrecision(2)}×)\n`);
}
