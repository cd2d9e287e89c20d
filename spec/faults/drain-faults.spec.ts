import { expect } from "chai";
import { Link } from "../../lib/link/link.ts";
import { Secret } from "../../lib/secret.ts";
import { parseHostPort } from "../../lib/xmpp/address.ts";
import { nodeEnv, runCli, startCli, type CliResult, type CliRun } from "../support/cli.ts";
import { startServer, type LabServer } from "../support/lab/index.ts";
import { startProxy, type CuttableProxy } from "../support/proxy.ts";
import { checkWitnesses, kicked, markEndedBetween, rotateSecret, startWitness, type Answer, type Witness } from "./witness.ts";

// The fault-injection table (README "Reliability"): cxfr drain run as a black box against real Prosody, with a
// proxy on its component link and clients that report what reached them. Each row: no session gets a second
// packet, none is ended without its own packet and grace, the exit code and summary are right, and cxfr exits
// within the stated time.

const users = Array.from({ length: 60 }, (_, i) => ({ user: `f${i}`, password: `pw-f${i}` }));
let nextUser = 0;
const takeUsers = (n: number) => users.slice(nextUser, (nextUser += n)).map((u) => u.user);

interface Row {
  server: LabServer;
  witnesses: Witness[];
  proxy?: CuttableProxy;
  run: CliRun;
  startedAt: number;
}

async function startRow(server: LabServer, opts: { clients: number; answer?: Answer; reconnects?: number; grace: string; viaProxy?: boolean; extra?: string[] }): Promise<Row> {
  const witnesses = await Promise.all(takeUsers(opts.clients).map((user) => startWitness(server, { user, answer: opts.answer ?? "silent", reconnects: opts.reconnects ?? 0 })));
  const proxy = opts.viaProxy ? await startProxy({ host: "127.0.0.1", port: server.componentPort }) : undefined;
  const env = nodeEnv(server, proxy ? { CXFR_SERVER: proxy.address } : {});
  const args = ["drain", "--to", server.c2sAddress, "--grace", opts.grace, "--rate", "200", "--json", "--from", "component", ...(opts.extra ?? [])];
  return { server, witnesses, ...(proxy ? { proxy } : {}), run: startCli(args, env), startedAt: Date.now() };
}

async function finishRow(row: Row, withinMs: number): Promise<CliResult & { elapsedMs: number }> {
  const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`cxfr did not exit within ${withinMs} ms`)), withinMs).unref());
  try {
    const result = await Promise.race([row.run.done, timeout]);
    return { ...result, elapsedMs: Date.now() - row.startedAt };
  } catch (err) {
    process.kill(row.run.pid, "SIGKILL");
    throw err;
  } finally {
    await Promise.all(row.witnesses.map((w) => w.stop()));
    await row.proxy?.close();
  }
}

/** Resolves when every witness has its first packet. */
async function packetsArrived(witnesses: Witness[], timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!witnesses.every((w) => w.connections.some((c) => c.packets.length > 0))) {
    if (Date.now() > end) throw new Error("the packets did not arrive");
    await new Promise((r) => setTimeout(r, 50));
  }
}

function summaryOf(result: CliResult): Record<string, unknown> | undefined {
  return result.events.find((e) => e.event === "summary");
}

describe("fault injection: cxfr drain against real Prosody", function () {
  this.timeout(60_000);
  let server: LabServer;
  let strict: LabServer;

  before(async () => {
    [server, strict] = await Promise.all([
      startServer({ kind: "prosody", name: "faults-drain", users }),
      startServer({ kind: "prosody", name: "faults-strict", users, allowDomainFrom: false }),
    ]);
  });
  after(async () => {
    await Promise.all([server?.stop(), strict?.stop()]);
  });

  it("link cut and restored during the grace: one packet each, kicked after the whole grace, exit 0 (≤ 20 s)", async () => {
    const row = await startRow(server, { clients: 4, grace: "3s", viaProxy: true });
    await packetsArrived(row.witnesses);
    await row.proxy?.cut(1000);
    const result = await finishRow(row, 20_000);
    expect(result.code, result.stderr).to.equal(0);
    checkWitnesses(row.witnesses, 3000);
    expect(kicked(row.witnesses)).to.equal(4);
    expect(summaryOf(result)).to.include({ targeted: 4, kicked: 4, failed: 0, remaining: 0 });
  });

  it("SIGINT while the link is down: exits 130 within 5 s of the signal with a summary, nobody kicked", async () => {
    const row = await startRow(server, { clients: 3, grace: "30s", viaProxy: true });
    await packetsArrived(row.witnesses);
    const cut = row.proxy?.cut(20_000);
    await new Promise((r) => setTimeout(r, 500));
    const signalledAt = Date.now();
    process.kill(row.run.pid, "SIGINT");
    const result = await finishRow(row, 8_000);
    void cut;
    expect(result.code, result.stderr).to.equal(130);
    expect(Date.now() - signalledAt).to.be.below(5_000);
    checkWitnesses(row.witnesses, 30_000);
    expect(kicked(row.witnesses)).to.equal(0);
    expect(summaryOf(result), result.stdout).to.not.equal(undefined);
  });

  it("conflict from a second instance while the link is down: exit 3 naming conflict within 15 s, nobody kicked", async () => {
    const row = await startRow(server, { clients: 3, grace: "30s", viaProxy: true });
    await packetsArrived(row.witnesses);
    const cut = row.proxy?.cut(1500);
    const second = new Link({ server: parseHostPort(server.componentAddress, "server"), component: server.component, secret: new Secret(server.secret) });
    try {
      await waitFor(() => second.start().then(() => true, () => false));
      await cut;
      const result = await finishRow(row, 15_000);
      expect(result.code, result.stderr).to.equal(3);
      expect(result.stderr).to.include("conflict");
      checkWitnesses(row.witnesses, 30_000);
      expect(kicked(row.witnesses)).to.equal(0);
      expect(summaryOf(result), "summary (runner: defect 4)").to.not.equal(undefined);
    } finally {
      await second.stop();
    }
  });

  it("malformed listing mid-job: no one counts as moved, no one kicked, exit 3 with a summary (≤ 30 s)", async () => {
    const row = await startRow(server, { clients: 3, grace: "2s", viaProxy: true });
    await packetsArrived(row.witnesses);
    row.proxy?.rewrite((chunk) => chunk.split("onlineuserjids").join("no-such-field"));
    const result = await finishRow(row, 30_000);
    const summary = summaryOf(result);
    expect(result.code, result.stderr).to.equal(3);
    expect(result.events.filter((e) => e.event === "moved")).to.deep.equal([]);
    checkWitnesses(row.witnesses, 2000);
    expect(kicked(row.witnesses)).to.equal(0);
    expect(summary, "summary (runner: defect 4)").to.not.equal(undefined);
  });

  it("a session missing from one listing is not counted moved and gets no second packet (≤ 20 s)", async () => {
    const row = await startRow(server, { clients: 2, grace: "4s", viaProxy: true });
    await packetsArrived(row.witnesses);
    const hidden = (row.witnesses[0] as Witness).jid.split("/")[0] as string;
    row.proxy?.rewrite(once(new RegExp(`<value>${hidden}</value>(<value> - [^<]*</value>)*`), ""));
    const result = await finishRow(row, 20_000);
    checkWitnesses(row.witnesses, 4000);
    expect(result.code, result.stderr).to.equal(0);
    expect(summaryOf(result)).to.include({ targeted: 2, moved: 0, kicked: 2 });
  });

  it("a listing that fails once is retried: the job goes on to its normal end (≤ 20 s)", async () => {
    const row = await startRow(server, { clients: 2, grace: "3s", viaProxy: true });
    await packetsArrived(row.witnesses);
    row.proxy?.rewrite(once(/onlineuserjids/g, "no-such-field"));
    const result = await finishRow(row, 20_000);
    checkWitnesses(row.witnesses, 3000);
    expect(result.code, result.stderr).to.equal(0);
    expect(summaryOf(result)).to.include({ targeted: 2, kicked: 2, failed: 0 });
  });

  it("invalid-from close with --from domain: no one kicked without a packet, exit 3 with the config to add (≤ 20 s)", async () => {
    const row = await startRow(strict, { clients: 3, grace: "2s", extra: ["--from", "domain"] });
    const result = await finishRow(row, 20_000);
    checkWitnesses(row.witnesses, 2000);
    expect(result.stderr).to.include("validate_from_addresses = false");
    expect(result.code, result.stderr).to.equal(3);
  });

  it("a client that answers wait is not kicked before its grace (≤ 20 s)", async () => {
    const row = await startRow(server, { clients: 2, answer: "wait", grace: "3s" });
    const result = await finishRow(row, 20_000);
    checkWitnesses(row.witnesses, 3000, { answer: "wait" });
    expect(result.code, result.stderr).to.be.oneOf([0, 1]);
  });

  it("a client that refuses is kicked at once, after its packet (≤ 20 s)", async () => {
    const row = await startRow(server, { clients: 2, answer: "refuse", grace: "30s" });
    const result = await finishRow(row, 20_000);
    checkWitnesses(row.witnesses, 30_000, { answer: "refuse" });
    expect(result.code, result.stderr).to.equal(0);
    expect(kicked(row.witnesses)).to.equal(2);
  });
});

describe("fault injection: cxfr drain against real ejabberd", function () {
  this.timeout(60_000);
  let server: LabServer;

  before(async () => {
    server = await startServer({ kind: "ejabberd", name: "faults-ejabberd", users });
  });
  after(() => server?.stop());

  it("link cut and restored during the grace: one packet each, kicked after the whole grace, exit 0 (≤ 20 s)", async () => {
    const row = await startRow(server, { clients: 3, grace: "3s", viaProxy: true });
    await packetsArrived(row.witnesses);
    await row.proxy?.cut(1000);
    const result = await finishRow(row, 20_000);
    expect(result.code, result.stderr).to.equal(0);
    checkWitnesses(row.witnesses, 3000);
    expect(kicked(row.witnesses)).to.equal(3);
  });

  it("SIGINT while the link is down: exits 130 within 5 s of the signal, nobody kicked", async () => {
    const row = await startRow(server, { clients: 2, grace: "30s", viaProxy: true });
    await packetsArrived(row.witnesses);
    void row.proxy?.cut(20_000);
    await new Promise((r) => setTimeout(r, 500));
    const signalledAt = Date.now();
    process.kill(row.run.pid, "SIGINT");
    const result = await finishRow(row, 8_000);
    expect(result.code, result.stderr).to.equal(130);
    expect(Date.now() - signalledAt).to.be.below(5_000);
    expect(kicked(row.witnesses)).to.equal(0);
  });

  it("a listing reply without its query mid-job: no one counted moved or kicked, exit 3 (≤ 30 s)", async () => {
    const row = await startRow(server, { clients: 2, grace: "2s", viaProxy: true });
    await packetsArrived(row.witnesses);
    row.proxy?.rewrite((chunk) => chunk.split("http://jabber.org/protocol/disco#items").join("urn:example:broken"));
    const result = await finishRow(row, 30_000);
    expect(result.code, result.stderr).to.equal(3);
    expect(result.events.filter((e) => e.event === "moved")).to.deep.equal([]);
    expect(kicked(row.witnesses)).to.equal(0);
  });
});

describe("fault injection: server restart and secret rotation (real Prosody)", function () {
  this.timeout(90_000);
  let server: LabServer;

  beforeEach(async () => {
    server = await startServer({ kind: "prosody", name: "faults-restart", users });
  });
  afterEach(async () => {
    await server?.stop();
  });

  it("server restart mid-job: clients back with the same resource get their own packet before any kick (≤ 40 s)", async () => {
    const row = await startRow(server, { clients: 3, grace: "4s", reconnects: 1 });
    await packetsArrived(row.witnesses);
    const from = Date.now();
    await server.restart();
    markEndedBetween(row.witnesses, from, Date.now());
    const result = await finishRow(row, 40_000);
    checkWitnesses(row.witnesses, 4000);
    expect(result.code, result.stderr).to.be.oneOf([0, 1]);
  });

  it("secret rotated mid-job: exit 3 naming not-authorized within 30 s, no kick", async () => {
    const row = await startRow(server, { clients: 3, grace: "30s" });
    await packetsArrived(row.witnesses);
    rotateSecret(server);
    const from = Date.now();
    await server.restart();
    markEndedBetween(row.witnesses, from, Date.now());
    const result = await finishRow(row, 30_000);
    expect(result.code, result.stderr).to.equal(3);
    expect(result.stderr).to.include("not-authorized");
    checkWitnesses(row.witnesses, 30_000);
  });
});

describe("fault injection: hostile replies to cxfr sessions (real Prosody)", function () {
  this.timeout(30_000);
  let server: LabServer;
  let proxy: CuttableProxy;

  before(async () => {
    server = await startServer({ kind: "prosody", name: "faults-hostile", users: users.slice(0, 1) });
  });
  beforeEach(async () => {
    proxy = await startProxy({ host: "127.0.0.1", port: server.componentPort });
  });
  afterEach(() => proxy.close());
  after(() => server?.stop());

  const sessions = () => runCli(["sessions", "--json"], nodeEnv(server, { CXFR_SERVER: proxy.address }));

  it("a byte XML forbids (&#x1b;) is a link error: exit 3, not an internal error", async () => {
    proxy.rewrite((chunk) => chunk.replace(/<handshake\s*\/>/, `$&<message from='${server.domain}' to='${server.component}'><body>&#x1b;</body></message>`));
    const result = await sessions();
    expect(result.code, result.stderr).to.equal(3);
    expect(result.stderr).to.not.include("internal error");
  });

  it("a listing reply without its field: exit 3 naming it, not an empty list", async () => {
    proxy.rewrite((chunk) => chunk.split("onlineuserjids").join("no-such-field"));
    const result = await sessions();
    expect(result.code, result.stderr).to.equal(3);
    expect(result.stderr).to.include("onlineuserjids");
  });

  it("a listing reply cut in the middle: exit 3", async () => {
    proxy.rewrite((chunk) => {
      if (!chunk.includes("onlineuserjids")) return chunk;
      setImmediate(() => void proxy.cut(0));
      return chunk.slice(0, chunk.length >> 1);
    });
    const result = await sessions();
    expect(result.code, result.stderr).to.equal(3);
  });
});

/** A rewrite that applies to the first chunk `pattern` matches, then relays as is. */
function once(pattern: RegExp, replacement: string): (chunk: string) => string {
  let done = false;
  return (chunk) => {
    if (done || !new RegExp(pattern.source).test(chunk)) return chunk;
    done = true;
    return chunk.replace(pattern, replacement);
  };
}

async function waitFor(test: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await test())) {
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 50));
  }
}
