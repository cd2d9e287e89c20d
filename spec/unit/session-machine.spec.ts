import { expect } from "chai";
import type { SessionSnapshot, SessionState } from "../../lib/jobs/journal-port.ts";
import { TERMINAL_STATES } from "../../lib/jobs/journal-port.ts";
import { isTerminal, snapshotOf, transition, TransitionError, type SessionRecord } from "../../lib/jobs/session-machine.ts";

const STATES: SessionState[] = ["queued", "applying", "sent", "moved", "kicked", "failed", "skipped", "remaining"];

/** The diagram in lib/jobs/journal-port.ts, written out: every pair not listed here must be refused. */
const EXPECTED: Record<SessionState, SessionState[]> = {
  queued: ["applying", "skipped", "remaining", "failed", "moved"],
  applying: ["sent", "queued", "applying", "failed", "remaining", "moved"],
  sent: ["sent", "applying", "moved", "kicked", "failed", "remaining", "skipped"],
  moved: [],
  kicked: [],
  failed: [],
  skipped: [],
  remaining: [],
};

const record = (state: SessionState): SessionRecord => ({ key: "a@x/1", jid: "a@x/1", bare: "a@x", target: "b", state, methodIndex: 0, methods: [], absences: 0 });

describe("session state machine (transition table)", () => {
  for (const from of STATES) {
    for (const to of STATES) {
      const allowed = EXPECTED[from].includes(to);
      it(`${from} → ${to} is ${allowed ? "allowed" : "refused"}`, () => {
        const r = record(from);
        if (allowed) {
          transition(r, to, {}, 1234);
          expect(r.state).to.equal(to);
          expect(r.outcomeAt).to.equal(isTerminal(to) ? 1234 : undefined);
        } else {
          expect(() => transition(r, to)).to.throw(TransitionError);
          expect(r.state).to.equal(from);
        }
      });
    }
  }

  it("terminal states are exactly moved, kicked, failed, skipped and remaining", () => {
    expect(STATES.filter(isTerminal)).to.deep.equal([...TERMINAL_STATES]);
  });

  it("a reply and a reason are recorded with the transition; the snapshot carries only journal fields", () => {
    const r = record("sent");
    r.waitEnds = 99;
    transition(r, "sent", { reply: { kind: "rejected", condition: "feature-not-implemented" }, reason: "refused" });
    expect(r).to.include({ reply: "rejected", condition: "feature-not-implemented", reason: "refused" });
    const snap = snapshotOf(r);
    expect(snap).to.not.have.any.keys("key", "waitEnds", "absences", "epoch", "appliedAt");
    expect(snap).to.include({ jid: "a@x/1", state: "sent", reply: "rejected" });
  });

  it("the snapshot keeps every journal field of a record, and its methods are a copy", () => {
    // Required: a field added to SessionSnapshot must be added here, and so to snapshotOf
    const full: Required<SessionSnapshot> = { jid: "a@x/1", bare: "a@x", target: "b:5222", state: "moved", methodIndex: 1, methods: ["cxfr", "kick"], reply: "rejected", condition: "forbidden", reason: "r", movedBy: "kick", sentAt: 1, outcomeAt: 2 };
    const r: SessionRecord = { ...full, methods: [...full.methods], key: "a@x/1", absences: 0, waitEnds: 3, epoch: 4, appliedAt: 5 };
    const snap = snapshotOf(r);
    expect(snap).to.deep.equal(full);
    r.methods.push("close");
    expect(snap.methods).to.deep.equal(["cxfr", "kick"]);
  });
});
