import { expect } from "chai";
import { Outbox } from "../../lib/link/outbox.ts";

/** An outbox whose writes are recorded and settled by the spec. */
function recordingOutbox() {
  const writes: Array<{ text: string; done: () => void; fail: (err: Error) => void }> = [];
  const outbox = new Outbox(
    (text) =>
      new Promise<void>((resolve, reject) => {
        writes.push({ text, done: resolve, fail: reject });
      }),
  );
  return { outbox, writes };
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe("Outbox (one socket write per turn)", () => {
  it("writes the stanzas of one turn as one string, in order, and the next turn's as another", async () => {
    const { outbox, writes } = recordingOutbox();
    const first = [outbox.add("<a/>"), outbox.add("<b/>"), outbox.add("<c/>")];
    expect(writes).to.have.length(0);
    await nextTurn();
    expect(writes.map((w) => w.text)).to.deep.equal(["<a/><b/><c/>"]);
    outbox.add("<d/>");
    await nextTurn();
    expect(writes.map((w) => w.text)).to.deep.equal(["<a/><b/><c/>", "<d/>"]);
    writes[0]?.done();
    expect(await Promise.all(first)).to.deep.equal([undefined, undefined, undefined]);
  });

  it("a stanza's promise settles only when the write of its turn does, and a failed write rejects every stanza of it", async () => {
    const { outbox, writes } = recordingOutbox();
    let settled = false;
    const sent = Promise.all([outbox.add("<a/>"), outbox.add("<b/>")]).finally(() => (settled = true));
    await nextTurn();
    await nextTurn();
    expect(settled).to.equal(false);
    writes[0]?.fail(new Error("socket closed"));
    const failed = await sent.catch((err: unknown) => err);
    expect((failed as Error).message).to.equal("socket closed");
  });

  it("flush() writes what is queued at once (before a stream close), and leaves nothing for the end of the turn", async () => {
    const { outbox, writes } = recordingOutbox();
    outbox.add("<a/>");
    outbox.flush();
    expect(writes.map((w) => w.text)).to.deep.equal(["<a/>"]);
    await nextTurn();
    expect(writes).to.have.length(1);
    outbox.flush();
    expect(writes).to.have.length(1);
  });

  it("a write that throws instead of rejecting fails the turn's stanzas the same way", async () => {
    const outbox = new Outbox(() => {
      throw new Error("not online");
    });
    const sent = outbox.add("<a/>");
    expect(((await sent.catch((err: unknown) => err)) as Error).message).to.equal("not online");
  });
});
