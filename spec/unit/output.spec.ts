import { expect } from "chai";
import { Writable } from "node:stream";
import { Output } from "../../lib/cli/output.ts";

function countingSink(): { stream: Writable; writes: string[] } {
  const writes: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      writes.push(chunk.toString());
      done();
    },
  });
  return { stream, writes };
}

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

describe("Output: JSON lines of one turn leave in one write", () => {
  it("queues a turn's events into one write, in order", async () => {
    const out = countingSink();
    const output = new Output({ json: true, quiet: false, tty: false }, out.stream, countingSink().stream);
    for (let i = 0; i < 1000; i++) output.event({ event: "sent", n: i });
    expect(out.writes).to.deep.equal([]);
    await nextTurn();
    expect(out.writes).to.have.length(1);
    expect(out.writes[0]?.trimEnd().split("\n").map((l) => (JSON.parse(l) as { n: number }).n)).to.deep.equal([...Array(1000).keys()]);
  });

  it("writes queued lines before a result and before anything on stderr", () => {
    const out = countingSink();
    const err = countingSink();
    const order: string[] = [];
    const output = new Output({ json: true, quiet: false, tty: false }, out.stream, err.stream);
    const trace = (name: string, s: Writable) => {
      const write = s.write.bind(s);
      s.write = ((chunk: string) => (order.push(`${name}:${chunk.trim()}`), write(chunk))) as typeof s.write;
    };
    trace("out", out.stream);
    trace("err", err.stream);
    output.event({ event: "sent" });
    output.warning("careful");
    output.event({ event: "moved" });
    output.result("done");
    expect(order).to.deep.equal(['out:{"event":"sent"}', "err:cxfr: warning: careful", 'out:{"event":"moved"}', "out:done"]);
  });
});
