import { createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { expect } from "chai";
import { ConnectError, TimeoutError } from "../../lib/errors.ts";
import { ProsodyShell } from "../../lib/servers/prosody-shell.ts";
import { specTempDir } from "../support/temp-dir.ts";

const dir = specTempDir("cxfr-shell");
let n = 0;

/** A fake admin socket: opens the stream, then answers each <repl-input> with `reply(text)` (or nothing). */
async function fakeShell(reply: (input: string) => string | undefined): Promise<{ path: string; received: string[]; server: Server }> {
  const path = join(dir, `s${++n}.sock`);
  const received: string[] = [];
  const server = createServer((socket: Socket) => {
    let buffer = "";
    socket.on("data", (data) => {
      buffer += data.toString();
      if (buffer.includes("<stream:stream") && !buffer.includes("OPENED")) {
        socket.write("<?xml version='1.0'?><stream:stream xmlns='xmpp:prosody.im/admin' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>");
        buffer = buffer.replace(/^[\s\S]*?version='1.0'>/, "OPENED");
      }
      for (let m = /<repl-input>([\s\S]*?)<\/repl-input>/.exec(buffer); m; m = /<repl-input>([\s\S]*?)<\/repl-input>/.exec(buffer)) {
        buffer = buffer.replace(m[0], "");
        received.push(m[1] as string);
        const answer = reply(m[1] as string);
        if (answer !== undefined) socket.write(answer);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return { path, received, server };
}

describe("ProsodyShell (admin socket client)", () => {
  it("pipelines lines and matches results in order, with the output printed before each", async () => {
    const fake = await fakeShell((input) => (input === "one" ? "<repl-output>line 1</repl-output><repl-result>OK: 1</repl-result>" : "<repl-result type='error'>Error: two</repl-result>"));
    const shell = await ProsodyShell.connect(fake.path);
    try {
      const [one, two] = await Promise.all([shell.run("one"), shell.run("two")]);
      expect(one).to.deep.equal({ ok: true, text: "OK: 1", output: ["line 1"] });
      expect(two).to.deep.equal({ ok: false, text: "Error: two", output: [] });
      expect(fake.received).to.deep.equal(["one", "two"]);
    } finally {
      await shell.close();
      fake.server.close();
    }
  });

  it("a line that gets no answer times out, and the connection is closed (results would no longer match)", async () => {
    const fake = await fakeShell(() => undefined);
    const shell = await ProsodyShell.connect(fake.path, { timeoutMs: 100 });
    try {
      expect(await shell.run("x").catch((e: unknown) => e)).to.be.instanceOf(TimeoutError);
      expect(await shell.run("y").catch((e: unknown) => e)).to.be.instanceOf(TimeoutError);
    } finally {
      fake.server.close();
    }
  });

  it("a missing socket is a ConnectError naming it", async () => {
    const err = await ProsodyShell.connect(join(dir, "absent.sock")).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(ConnectError);
    expect((err as Error).message).to.equal(`admin socket ${join(dir, "absent.sock")}: ENOENT`);
  });
});
