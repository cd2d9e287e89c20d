import { expect } from "chai";
import { EventEmitter } from "node:events";
import xml from "@xmpp/xml";
import { ConnectError, InterruptedError, LinkFailedError } from "../../lib/errors.ts";
import { waitUntilOnline } from "../../lib/link/lifecycle.ts";
import { PendingIqs } from "../../lib/link/pending-iqs.ts";

// issue 6 defect 11: IQ replies match on from + id
describe("PendingIqs", () => {
  it("settles only with an answer from the entity the IQ went to (case-folded), not from anyone who knows the id", async () => {
    const pending = new PendingIqs();
    const { reply } = pending.exchange(xml("iq", { type: "get", id: "q1", to: "Alice@Example.com/phone" }), 5000, async () => undefined);
    expect(pending.settle(xml("iq", { type: "result", id: "q1", from: "mallory@example.com/x" }))).to.equal(false);
    expect(pending.settle(xml("iq", { type: "result", id: "q1" }))).to.equal(false);
    expect(pending.settle(xml("iq", { type: "result", id: "q1", from: "alice@example.com/phone" }))).to.equal(true);
    expect((await reply).attrs.from).to.equal("alice@example.com/phone");
  });
});

// issue 6 defect 5: a link that failed for good, or an interrupt, ends a wait at once
describe("waitUntilOnline", () => {
  const wait = (emitter: EventEmitter, state: { failure?: Error }, signal?: AbortSignal) =>
    waitUntilOnline(emitter, { online: () => false, failure: () => state.failure, timeoutMs: 60_000, signal, timeoutError: () => new ConnectError("timeout") });

  it("rejects with the failure when the link fails while waited for", async () => {
    const emitter = new EventEmitter();
    const state: { failure?: Error } = {};
    const waiting = wait(emitter, state);
    state.failure = new LinkFailedError("closed by the server: conflict", "conflict");
    emitter.emit("failed", state.failure);
    const error = await waiting.catch((e: unknown) => e);
    expect(error).to.be.instanceOf(LinkFailedError);
    expect((error as LinkFailedError).condition).to.equal("conflict");
  });

  it("rejects at once when already failed, and with InterruptedError on abort", async () => {
    const failed = await wait(new EventEmitter(), { failure: new LinkFailedError("x", "not-authorized") }).catch((e: unknown) => e);
    expect(failed).to.be.instanceOf(LinkFailedError);
    const controller = new AbortController();
    const waiting = wait(new EventEmitter(), {}, controller.signal);
    controller.abort();
    expect(await waiting.catch((e: unknown) => e)).to.be.instanceOf(InterruptedError);
  });
});
