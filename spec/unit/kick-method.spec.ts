import { expect } from "chai";
import { KickMethod } from "../../lib/methods/kick.ts";

const session = (jid: string) => ({ jid, bare: jid.split("/")[0] as string, resource: jid.split("/")[1] as string });

describe("KickMethod", () => {
  it("ends the kicks asked for in one turn with one command where the server takes a list", async () => {
    const commands: string[][] = [];
    const kick = new KickMethod({ endsSessionsInBatches: true, endSession: async () => undefined, endSessions: async (jids) => void commands.push(jids) });
    const results = await Promise.all(["a@x/1", "b@x/1", "c@x/1"].map((j) => kick.apply(session(j))));
    expect(results.every((r) => r.status === "sent")).to.equal(true);
    expect(commands).to.deep.equal([["a@x/1", "b@x/1", "c@x/1"]]);
    await kick.apply(session("d@x/1"));
    expect(commands).to.deep.equal([["a@x/1", "b@x/1", "c@x/1"], ["d@x/1"]]);
  });

  it("a refused batch rejects every kick in it", async () => {
    const kick = new KickMethod({ endsSessionsInBatches: true, endSession: async () => undefined, endSessions: async () => Promise.reject(new Error("forbidden")) });
    const results = await Promise.allSettled(["a@x/1", "b@x/1"].map((j) => kick.apply(session(j))));
    expect(results.map((r) => r.status)).to.deep.equal(["rejected", "rejected"]);
  });

  it("one command per session where the server takes one JID (ejabberd)", async () => {
    const ended: string[] = [];
    const kick = new KickMethod({ endsSessionsInBatches: false, endSession: async (jid) => void ended.push(jid) });
    await Promise.all(["a@x/1", "b@x/1"].map((j) => kick.apply(session(j))));
    expect(ended).to.deep.equal(["a@x/1", "b@x/1"]);
  });
});
