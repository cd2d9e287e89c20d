import { Writable } from "node:stream";
import { expect } from "chai";
import { createProgress } from "../../lib/cli/progress.ts";

/** A terminal-like stream that keeps what the bar drew. */
function fakeTerminal(): NodeJS.WriteStream & { text: string } {
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      stream.text += chunk.toString();
      done();
    },
  }) as unknown as NodeJS.WriteStream & { text: string };
  stream.text = "";
  Object.assign(stream, { isTTY: true, columns: 200, cursorTo: () => true, clearLine: () => true, moveCursor: () => true });
  return stream;
}

describe("progress bar", () => {
  it("counts moved, kicked, failed and what remains from the job's events", () => {
    const terminal = fakeTerminal();
    const progress = createProgress(terminal);
    for (const jid of ["a", "b", "c", "d"]) progress.update({ event: "sent", jid });
    progress.update({ event: "moved", jid: "a" });
    progress.update({ event: "kicked", jid: "b" });
    progress.update({ event: "failed", jid: "c" });
    progress.stop();
    expect(terminal.text).to.include("3/4 | moved 1 kicked 1 failed 1 | remaining 1");
  });

  it("counts sessions kicked without a packet (--method kick) as targets", () => {
    const terminal = fakeTerminal();
    const progress = createProgress(terminal);
    progress.update({ event: "kick", jid: "a" });
    progress.update({ event: "kicked", jid: "a" });
    progress.stop();
    expect(terminal.text).to.include("1/1 | moved 0 kicked 1 failed 0 | remaining 0");
  });

  it("shows the rate --rate auto paces by and why it last changed", () => {
    const terminal = fakeTerminal();
    const progress = createProgress(terminal);
    progress.update({ event: "rate", rate: 20, reason: "starting at 20/s" });
    progress.update({ event: "sent", jid: "a" });
    progress.update({ event: "rate", rate: 10, reason: "login probe to b took 900 ms (best 3 ms)" });
    progress.stop();
    expect(terminal.text).to.include("auto 20/s: starting at 20/s");
    expect(terminal.text).to.include("auto 10/s: login probe to b took 900 ms (best 3 ms)");
  });
});
