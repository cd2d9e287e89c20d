import { expect } from "chai";
import { createServer, type Server } from "node:net";
import { startAutoPacing } from "../../lib/jobs/auto-pacing.ts";
import type { AutoRateEvent } from "../../lib/jobs/auto-rate.ts";
import { freePort } from "../support/lab/ports.ts";

const GREETING =
  "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' id='x' version='1.0'><stream:features/>";

async function greetingNode(): Promise<{ server: Server; port: number; probes: () => number }> {
  let probes = 0;
  const server = createServer((socket) => {
    socket.on("error", () => undefined);
    socket.once("data", () => {
      probes++;
      socket.write(GREETING);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  return { server, port: typeof address === "object" && address ? address.port : 0, probes: () => probes };
}

describe("auto pacing (probes + controller + rate setter)", () => {
  it("probes every target before it starts, then hands the starting rate to the pacer", async () => {
    const node = await greetingNode();
    const rates: number[] = [];
    const events: AutoRateEvent[] = [];
    const pacing = startAutoPacing({
      targets: [{ label: "b", address: { host: "127.0.0.1", port: node.port } }],
      domain: "example.com",
      controller: { startRate: 7 },
      probeIntervalMs: 20,
      setRate: (r) => rates.push(r),
      onEvent: (e) => events.push(e),
    });
    try {
      await pacing.ready;
      expect(node.probes()).to.be.at.least(1);
      expect(rates[0]).to.equal(7);
      expect(events[0]).to.include({ change: "start", cause: "start" });
    } finally {
      pacing.stop();
      node.server.close();
    }
  });

  it("with configured target nodes: waits for their listings' baseline, awaits each user sent on, and counts it back", async () => {
    const node = await greetingNode();
    const expected: string[] = [];
    let hooks: { onBack(user: { jid: string; bare: string }, ms: number): void } | undefined;
    let listed: () => void = () => undefined;
    const back: Array<[string, number]> = [];
    const pacing = startAutoPacing({
      targets: [{ label: "b", address: { host: "127.0.0.1", port: node.port } }],
      domain: "example.com",
      probeIntervalMs: 20,
      setRate: () => undefined,
      onEvent: () => undefined,
      watchAppearances: (h) => {
        hooks = h;
        return { ready: new Promise<void>((resolve) => (listed = resolve)), expect: (u) => expected.push(u.jid), stop: () => undefined };
      },
      onBack: (u, ms) => back.push([u.jid, ms]),
    });
    try {
      let ready = false;
      void pacing.ready.then(() => (ready = true));
      await new Promise((resolve) => setTimeout(resolve, 100)); // the probes answered by now
      expect(ready, "nothing goes before the targets' listings are known").to.equal(false);
      listed();
      await pacing.ready;
      expect(pacing.controller.options.tracksAppearance).to.equal(true);
      pacing.sent(1, { jid: "ann@example.com/phone", bare: "ann@example.com" });
      pacing.sent(1); // a kick: no one to await
      expect(expected).to.deep.equal(["ann@example.com/phone"]);
      expect(pacing.controller.notBack).to.equal(1);
      hooks?.onBack({ jid: "ann@example.com/phone", bare: "ann@example.com" }, 840);
      expect(pacing.controller.notBack).to.equal(0);
      expect(back).to.deep.equal([["ann@example.com/phone", 840]]);
    } finally {
      pacing.stop();
      node.server.close();
    }
  });

  it("cuts the rate when a target stops answering", async () => {
    const port = await freePort(); // nothing listens: every probe is refused
    const events: AutoRateEvent[] = [];
    const pacing = startAutoPacing({
      targets: [{ label: "gone", address: { host: "127.0.0.1", port } }],
      domain: "example.com",
      controller: { startRate: 40, intervalMs: 50, coolDownMs: 0 },
      probeIntervalMs: 10,
      setRate: () => undefined,
      onEvent: (e) => events.push(e),
    });
    try {
      await pacing.ready;
      for (let i = 0; i < 100 && !events.some((e) => e.change === "cut"); i++) await new Promise((r) => setTimeout(r, 20));
      expect(events.find((e) => e.change === "cut")).to.include({ cause: "probe-failed", reason: "login probe to gone failed: connection refused" });
    } finally {
      pacing.stop();
    }
  });

  it("cuts on a probe that stays unanswered, before it times out, once the answer before it was slow", async () => {
    // the first probe is answered at once (the baseline), the second after 300 ms, the third never
    let probes = 0;
    const server = createServer((socket) => {
      socket.on("error", () => undefined);
      socket.once("data", () => {
        probes++;
        if (probes === 1) socket.write(GREETING);
        else if (probes === 2) setTimeout(() => socket.write(GREETING), 300);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const address = server.address();
    const port = typeof address === "object" && address ? address.port : 0;
    const events: AutoRateEvent[] = [];
    const pacing = startAutoPacing({
      targets: [{ label: "b", address: { host: "127.0.0.1", port } }],
      domain: "example.com",
      controller: { startRate: 40, intervalMs: 50, probeSlackMs: 100 },
      probeIntervalMs: 10,
      probeTimeoutMs: 5000,
      setRate: () => undefined,
      onEvent: (e) => events.push(e),
    });
    try {
      await pacing.ready;
      for (let i = 0; i < 100 && !events.some((e) => e.change === "cut"); i++) await new Promise((r) => setTimeout(r, 20));
      const cut = events.find((e) => e.change === "cut");
      expect(cut).to.include({ cause: "probe-latency" });
      expect(cut?.reason).to.match(/^login probe to b has not answered in \d+/);
      expect(probes).to.equal(3);
    } finally {
      pacing.stop();
      server.close();
    }
  });
});
