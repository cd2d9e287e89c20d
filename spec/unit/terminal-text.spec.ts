import { expect } from "chai";
import { Writable } from "node:stream";
import { Output } from "../../lib/cli/output.ts";
import { escapeForTerminal } from "../../lib/cli/terminal-text.ts";

function sink(): { stream: Writable; text: () => string } {
  let text = "";
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      text += chunk.toString();
      done();
    },
  });
  return { stream, text: () => text };
}

// issue 6 defect 1: server-supplied text printed to a terminal carries no control or bidi character raw
describe("server text on a terminal", () => {
  const hostile = "bob@example.com/x\u202egnp.exe\u001b[2J\u0007";

  it("escapes controls and bidi characters", () => {
    expect(escapeForTerminal(hostile)).to.equal("bob@example.com/x\\u{202e}gnp.exe\\x1b[2J\\x07");
    expect(escapeForTerminal("a\nb", "\n")).to.equal("a\nb");
  });

  it("tables, lines and errors escape them; JSON lines stay parseable to the same value", () => {
    const out = sink();
    const err = sink();
    const output = new Output({ json: false, quiet: false, tty: true }, out.stream, err.stream);
    output.table(["JID"], [[hostile]]);
    output.line(`fix: ${hostile}\nnext`);
    output.error(new Error(`server said ${hostile}`));
    output.event({ jid: hostile });
    output.flush();
    for (const text of [out.text(), err.text()]) for (const raw of ["\u001b", "\u0007", "\u202e"]) expect(text).to.not.include(raw);
    const json = out.text().trimEnd().split("\n").pop() as string;
    expect(JSON.parse(json)).to.deep.equal({ jid: hostile });
  });
});
