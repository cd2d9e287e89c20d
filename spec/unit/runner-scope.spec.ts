// The two options cluster jobs rely on (keep them in any new engine): `source` scopes a job to part of
// what the admin lists (one cluster member), `targetFor` picks each session's target (a planned move).
import { expect } from "chai";
import type { Element } from "@xmpp/xml";
import type { Link } from "../../lib/link/link.ts";
import { TransferJob, type JobEvent } from "../../lib/jobs/runner.ts";
import { parseTargets } from "../../lib/jobs/targets.ts";
import type { ServerAdmin } from "../../lib/servers/server-admin.ts";
import type { LiveSession } from "../../lib/xmpp/admin.ts";

const live = (jid: string): LiveSession => ({ jid, bare: jid.split("/")[0] as string, resource: jid.split("/")[1] as string });

describe("TransferJob source and targetFor (a cluster member's job)", function () {
  this.timeout(5000);

  it("moves only the sessions its source lists, to targetFor's target; one still listed cluster-wide but off the member counts as moved", async () => {
    // every session stays in the cluster-wide listing; a packet makes it resume on the other member
    const member = new Map([["a@x/1", "ej2"], ["b@x/1", "ej2"], ["c@x/1", "ej1"]]);
    const packets: Array<{ to: string; server: string }> = [];
    const link = {
      component: "cxfr.x",
      state: "online",
      send: async () => undefined,
      exchange: (iq: Element) => {
        const to = String(iq.attrs.to);
        packets.push({ to, server: String(iq.getChild("query")?.getChildText("server")) });
        setTimeout(() => member.set(to, "ej1"), 20);
        return { written: Promise.resolve(), reply: Promise.resolve(iq) };
      },
      waitOnline: async () => undefined,
      on: () => undefined,
    } as unknown as Link;
    const listed: string[] = [];
    const admin = {
      listSessions: async () => [...member.keys()].map(live),
      endSession: async (jid: string) => listed.push(`kick ${jid}`),
      announce: async () => undefined,
    } as unknown as ServerAdmin;
    const targets = parseTargets(["ej1.x:5222", "ej3.x:5222"], () => undefined);
    const events: JobEvent[] = [];
    const job = new TransferJob({
      kind: "drain",
      node: "ej2",
      link,
      admin,
      domain: "x",
      from: "component",
      targets,
      source: async () => [...member].filter(([, m]) => m === "ej2").map(([jid]) => live(jid)),
      targetFor: () => targets[0] as (typeof targets)[number],
      selects: () => true,
      pacing: { rate: Infinity, burst: 1, jitter: 0, maxInFlight: 100 },
      waitMs: 0,
      graceMs: 500,
      fallback: "kick",
      follow: true,
      dryRun: false,
      scanIntervalMs: 30,
      signal: new AbortController().signal,
      onEvent: (e) => events.push(e),
    });
    const summary = await job.run();
    expect(summary).to.include({ targeted: 2, moved: 2, kicked: 0, failed: 0 });
    expect(packets.map((p) => p.to).sort()).to.deep.equal(["a@x/1", "b@x/1"]);
    expect(packets.every((p) => p.server === "ej1.x:5222")).to.equal(true);
    expect(listed).to.deep.equal([]);
  });
});
