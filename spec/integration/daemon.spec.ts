import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "chai";
import { freePort, startServer, type LabServer } from "../support/lab/index.ts";
import { fleetUsers, startFleet, stopFleet, type FleetMember } from "../support/fleet.ts";
import { killAtFirstPacket, nodeEnv, runCli, startCli } from "../support/cli.ts";
import { startDaemon, stopAllDaemons, type DaemonProcess } from "../support/daemon.ts";
import { specTempDir } from "../support/temp-dir.ts";

const COUNTS = ["targeted", "moved", "kicked", "failed", "skipped", "remaining"] as const;

function counts(summary: Record<string, unknown> | undefined): Record<string, unknown> {
  return Object.fromEntries(COUNTS.map((k) => [k, summary?.[k]]));
}

async function until(what: string, test: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await test())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Prometheus text format → { "name{labels}": value }; throws on a line that is not a sample, comment or blank. */
function parsePrometheus(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("# HELP ") || line.startsWith("# TYPE ")) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})? (-?[0-9.e+-]+|NaN|\+Inf|-Inf)$/.exec(line);
    if (!match) throw new Error(`not Prometheus text: ${JSON.stringify(line)}`);
    samples.set(`${match[1]}${match[2] ?? ""}`, Number(match[3]));
  }
  return samples;
}

function sumOf(samples: Map<string, number>, name: string, label: string): number {
  let total = 0;
  for (const [key, value] of samples) if (key.startsWith(`${name}{`) && key.includes(label)) total += value;
  return total;
}

describe("cxfr serve: the daemon and its HTTP API against real Prosody", function () {
  this.timeout(120_000);
  let a: LabServer;
  let b: LabServer;
  let dir: string;
  let fleet: FleetMember[] = [];
  let nextUser = 1;
  const takeUsers = (n: number) => {
    const first = nextUser;
    nextUser += n;
    return first;
  };
  const journalEnv = (name: string, extra: Record<string, string> = {}) => nodeEnv(a, { CXFR_JOURNAL: join(dir, name), ...extra });

  before(async () => {
    dir = specTempDir("cxfr-daemon-spec");
    const users = fleetUsers(160);
    [a, b] = await Promise.all([startServer({ kind: "prosody", name: "daemon-a", users }), startServer({ kind: "prosody", name: "daemon-b", users })]);
  });
  afterEach(async () => {
    await stopAllDaemons();
    await stopFleet(fleet);
    fleet = [];
  });
  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
  });

  describe("with one daemon", () => {
    let daemon: DaemonProcess;
    beforeEach(async () => {
      daemon = await startDaemon(journalEnv(`api-${nextUser}.db`));
    });

    it("every route but /healthz answers 401 without the token, or with a wrong one", async () => {
      const health = await daemon.request("GET", "/healthz", undefined, {});
      expect(health.status).to.equal(200);
      expect(health.json).to.deep.include({ ok: true, nodes: { default: "online" } });
      const routes: Array<[string, string]> = [
        ["GET", "/v1/sessions"],
        ["GET", "/v1/status"],
        ["POST", "/v1/transfers"],
        ["POST", "/v1/jobs"],
        ["GET", "/v1/jobs"],
        ["GET", "/v1/jobs/j-00000000"],
        ["DELETE", "/v1/jobs/j-00000000"],
        ["GET", "/v1/jobs/j-00000000/events"],
        ["POST", "/v1/jobs/j-00000000/resume"],
        ["GET", "/metrics"],
        ["GET", "/no/such/route"],
      ];
      for (const [method, path] of routes) {
        for (const headers of [{}, { authorization: "Bearer wrong" }, { authorization: daemon.token }] as Array<Record<string, string>>) {
          const res = await daemon.request(method, path, method === "POST" ? { kind: "drain", to: [b.c2sAddress] } : undefined, headers);
          expect(res.status, `${method} ${path} ${JSON.stringify(headers)}`).to.equal(401);
          expect(res.json).to.deep.equal({ error: { code: "unauthorized", message: "missing or wrong bearer token" } });
        }
      }
      expect(daemon.output()).not.to.include(daemon.token);
      expect(daemon.output()).not.to.include(a.secret);
      const lines = daemon.output().trim().split("\n");
      for (const line of lines) expect((JSON.parse(line) as { level: number }).level, line).to.be.a("number");
      expect(lines.some((l) => l.includes('"status":401'))).to.equal(true);
    });

    it("a bad body is 400 naming the field, and nothing is sent", async () => {
      fleet = await startFleet({ on: a, reconnectTo: [b], handlers: 1, plain: 1, trusted: [a.component], firstUser: takeUsers(2) });
      const cases: Array<[unknown, string]> = [
        [{ kind: "drain", to: [b.c2sAddress], rate: 0 }, "rate"],
        [{ kind: "drain", to: [b.c2sAddress], rate: "fast" }, "rate"],
        [{ kind: "drain", to: [b.c2sAddress], jitter: 2 }, "jitter"],
        [{ kind: "drain", to: [b.c2sAddress], grace: "5x" }, "grace"],
        [{ kind: "drain", to: [b.c2sAddress], maxInFlight: 0 }, "maxInFlight"],
        [{ kind: "drain", to: [b.c2sAddress], rat: 5 }, "rat"],
        [{ kind: "drain", to: [b.c2sAddress], fallback: "shoot" }, "fallback"],
        [{ kind: "drain", to: [b.c2sAddress], method: "cxfr,teleport" }, "method"],
        [{ kind: "drain", to: [b.c2sAddress], exclude: ["a@b@c"] }, "exclude"],
        [{ kind: "drain", to: [b.c2sAddress], from: "everywhere" }, "from"],
        [{ kind: "drain", to: ["bad host:5222"] }, "to"],
        [{ kind: "drain", to: "b" }, "to"],
        [{ kind: "drain" }, "to"],
        [{ kind: "evacuate", to: [b.c2sAddress] }, "kind"],
        [{ kind: "drain", to: [b.c2sAddress], node: "zz" }, "node"],
        [{ kind: "transfer", to: [b.c2sAddress] }, "jids"],
        [{ kind: "transfer", to: [b.c2sAddress], jids: ["nobody@localhost/x"] }, "jids"],
        [[1, 2], "body"],
        ["{not json", "body"],
      ];
      for (const [body, field] of cases) {
        const res = await daemon.request("POST", "/v1/jobs", body);
        expect(res.status, JSON.stringify(body)).to.equal(400);
        const error = res.json.error as Record<string, unknown>;
        expect(error.field, JSON.stringify(body)).to.equal(field);
        expect(error.code).to.equal("invalid_input");
        expect(String(error.message)).to.match(new RegExp(`^${field.replace(/[[\]]/g, "\\$&")}: `));
      }
      const big = await daemon.request("POST", "/v1/jobs", { kind: "drain", to: [b.c2sAddress], announce: "x".repeat(400_000) });
      expect(big.status).to.equal(413);
      expect((await daemon.request("GET", "/v1/jobs/j-nothere")).status).to.equal(404);
      for (const m of fleet) expect(m.packets).to.equal(0);
      expect(((await daemon.request("GET", "/v1/jobs")).json.jobs as unknown[]).length).to.equal(0);
    });

    it("drains through the API like the CLI: 202 with an id, events to the summary, A empty, metrics equal to the summary", async () => {
      fleet = await startFleet({ on: a, reconnectTo: [b], handlers: 4, plain: 4, trusted: [a.component], firstUser: takeUsers(8) });
      const before = parsePrometheus((await daemon.request("GET", "/metrics")).text);
      expect(before.get('cxfr_sessions{node="default"}')).to.be.a("number");
      const sessions = await daemon.request("GET", "/v1/sessions");
      expect((sessions.json.sessions as Array<{ jid: string }>).map((s) => s.jid).sort()).to.deep.equal(fleet.map((m) => m.jid).sort());

      const accepted = await daemon.request("POST", "/v1/jobs", { kind: "drain", to: [b.c2sAddress], grace: "2s", rate: 100 });
      expect(accepted.status).to.equal(202);
      const id = String(accepted.json.id);
      expect(id).to.match(/^j-[0-9a-f]{8}$/);
      const second = await daemon.request("POST", "/v1/jobs", { kind: "drain", to: [b.c2sAddress] });
      expect(second.status).to.equal(409);
      expect(second.json.error).to.include({ code: "conflict" });
      expect(String((second.json.error as { message: string }).message)).to.match(new RegExp(`^node default \\(127\\.0\\.0\\.1:\\d+\\) is held by job ${id} `));
      const events = await daemon.events(id);
      const summary = events.at(-1);
      expect(summary?.event).to.equal("summary");
      expect(summary).to.include({ job: id, kind: "drain", targeted: 8, moved: 4, kicked: 4, failed: 0, remaining: 0 });
      for (const e of events) expect(e.job).to.equal(id);

      const sse = await fetch(`${daemon.url}/v1/jobs/${id}/events`, { headers: { authorization: `Bearer ${daemon.token}`, accept: "text/event-stream" } });
      expect(sse.headers.get("content-type")).to.match(/^text\/event-stream/);
      const frames = (await sse.text()).trim().split("\n\n");
      expect(frames).to.have.length(events.length);
      expect(frames.at(-1)).to.equal(`event: summary\ndata: ${JSON.stringify(summary)}`);
      const job = await daemon.request("GET", `/v1/jobs/${id}`);
      expect(job.status).to.equal(200);
      expect(job.json).to.include({ job: id, state: "done", targeted: 8, moved: 4, kicked: 4, failed: 0, skipped: 0, remaining: 0 });
      expect(((await daemon.request("GET", "/v1/sessions")).json.sessions as unknown[]).length).to.equal(0);
      await until("plain clients back on B", () => fleet.every((m) => m.port() === b.c2sPort));
      for (const m of fleet) expect(m.packets, m.jid).to.equal(m.kind === "handler" ? 1 : 1);

      const metrics = await daemon.request("GET", "/metrics");
      expect(metrics.status).to.equal(200);
      const samples = parsePrometheus(metrics.text);
      for (const outcome of ["moved", "kicked", "failed", "skipped", "remaining"] as const) {
        expect(sumOf(samples, "cxfr_transfers_total", `outcome="${outcome}"`), outcome).to.equal(Number(summary?.[outcome]));
      }
      expect(samples.get('cxfr_transfers_total{node="default",outcome="moved",method="cxfr"}')).to.equal(4);
      expect(samples.get('cxfr_transfers_total{node="default",outcome="kicked",method="kick"}')).to.equal(4);
      expect(samples.get('cxfr_link_up{node="default"}')).to.equal(1);
      expect(samples.get('cxfr_jobs_total{kind="drain",state="done"}')).to.equal(1);
      expect(samples.get('cxfr_job_duration_seconds_count{kind="drain",state="done"}')).to.equal(1);
      expect(metrics.text).to.include("# TYPE cxfr_packet_round_trip_seconds histogram");

      const listed = await runCli(["jobs", id, "--json"], { PATH: process.env.PATH, CXFR_API: daemon.url, CXFR_API_TOKEN: daemon.token });
      expect(listed.code, listed.stderr).to.equal(0);
      expect(listed.events.at(-1)).to.include({ job: id, state: "done", moved: 4, kicked: 4 });
    });

    it("POST /v1/transfers moves the named sessions only", async () => {
      fleet = await startFleet({ on: a, reconnectTo: [b], handlers: 2, plain: 0, trusted: [a.component], firstUser: takeUsers(2) });
      const [moving, staying] = fleet as [FleetMember, FleetMember];
      const accepted = await daemon.request("POST", "/v1/transfers", { jids: [moving.jid], to: [b.c2sAddress], grace: "5s", from: "component" });
      expect(accepted.status, accepted.text).to.equal(202);
      const events = await daemon.events(String(accepted.json.id));
      expect(events.at(-1)).to.include({ event: "summary", kind: "transfer", targeted: 1, moved: 1 });
      expect(events.some((e) => e.event === "acked" && e.jid === moving.jid)).to.equal(true);
      expect(moving.port()).to.equal(b.c2sPort);
      expect(staying.packets).to.equal(0);
      const samples = parsePrometheus((await daemon.request("GET", "/metrics")).text);
      expect(samples.get('cxfr_packet_round_trip_seconds_count{node="default",reply="acked"}')).to.equal(1);
    });

    it("the CLI with --api gives the same summary and exit code as a direct run", async () => {
      const apiEnv = { PATH: process.env.PATH, CXFR_API_TOKEN: daemon.token };
      for (const [extra, code] of [[[], 0], [["--fallback", "none"], 1]] as Array<[string[], number]>) {
        fleet = await startFleet({ on: a, reconnectTo: [b], handlers: 2, plain: 2, trusted: [a.component], firstUser: takeUsers(4) });
        const viaApi = await runCli(["--api", daemon.url, "drain", "--to", b.c2sAddress, "--grace", "2s", ...extra, "--json"], apiEnv);
        await stopFleet(fleet);
        // the daemon holds the component connection: a direct run needs it to itself
        await daemon.stop();
        fleet = await startFleet({ on: a, reconnectTo: [b], handlers: 2, plain: 2, trusted: [a.component], firstUser: takeUsers(4) });
        const direct = await runCli(["drain", "--to", b.c2sAddress, "--grace", "2s", ...extra, "--json"], journalEnv("direct.db"));
        await stopFleet(fleet);
        fleet = [];
        expect(viaApi.code, viaApi.stderr).to.equal(code);
        expect(direct.code, direct.stderr).to.equal(code);
        expect(counts(viaApi.events.at(-1))).to.deep.equal(counts(direct.events.at(-1)));
        expect(viaApi.events.at(-1)?.event).to.equal("summary");
        expect(viaApi.events.map((e) => e.event).filter((e) => e !== "scan").sort()).to.deep.equal(direct.events.map((e) => e.event).filter((e) => e !== "scan").sort());
        const plain = await runCli(["--api", daemon.url, "drain", "--to", b.c2sAddress, "--grace", "1s"], apiEnv);
        expect(plain.stdout.includes("\u001b["), "no TTY: plain lines").to.equal(false);
        daemon = await startDaemon(journalEnv(`api-again-${nextUser}.db`));
      }
      const bad = await runCli(["--api", daemon.url, "drain", "--to", b.c2sAddress, "--rate", "0"], { PATH: process.env.PATH, CXFR_API_TOKEN: daemon.token });
      expect(bad.code).to.equal(2);
      expect(bad.stderr.trim()).to.equal('cxfr: error: rate: "0" is not a rate (use a number of sessions per second > 0, or "unlimited")');
      const noToken = await runCli(["--api", daemon.url, "drain", "--to", b.c2sAddress], { PATH: process.env.PATH });
      expect(noToken.code).to.equal(3);
    });

    it("a direct run while the daemon holds the component connection says to use --api; with --api it works", async () => {
      fleet = await startFleet({ on: a, reconnectTo: [b], handlers: 1, plain: 0, trusted: [a.component], firstUser: takeUsers(1) });
      const direct = await runCli(["drain", "--to", b.c2sAddress], journalEnv("conflict.db"));
      expect(direct.code).to.equal(3);
      expect(direct.stderr.trim(), direct.stderr).to.match(/\(conflict\); if cxfr serve runs, go through it with --api URL \(or CXFR_API\)$/);
      expect(fleet[0]?.packets).to.equal(0);
      const listing = await runCli(["sessions"], journalEnv("conflict.db"));
      expect(listing.stderr).to.match(/--api/);
      const viaApi = await runCli(["sessions", "--json"], { PATH: process.env.PATH, CXFR_API: daemon.url, CXFR_API_TOKEN: daemon.token });
      expect(viaApi.code, viaApi.stderr).to.equal(0);
      expect(viaApi.events).to.deep.equal([{ node: "default", jid: fleet[0]?.jid, ip: "127.0.0.1", show: "available", priority: 0 }]);
    });

    it("DELETE cancels a running job; SIGTERM stops the daemon cleanly (exit 0, journal checkpointed)", async () => {
      fleet = await startFleet({ on: a, reconnectTo: [b], handlers: 0, plain: 3, firstUser: takeUsers(3) });
      const accepted = await daemon.request("POST", "/v1/jobs", { kind: "drain", to: [b.c2sAddress], grace: "8s", fallback: "none" });
      const id = String(accepted.json.id);
      await until("packets sent", () => fleet.every((m) => m.packets === 1));
      const cancel = await daemon.request("DELETE", `/v1/jobs/${id}`);
      expect(cancel.json).to.deep.equal({ id, state: "cancelling" });
      const events = await daemon.events(id);
      expect(events.at(-1)).to.include({ event: "summary", targeted: 3, remaining: 3 });
      expect((await daemon.request("GET", `/v1/jobs/${id}`)).json.state).to.equal("cancelled");
      const path = join(dir, `api-${nextUser - 3}.db`);
      expect(await daemon.stop("SIGTERM")).to.equal(0);
      expect(existsSync(`${path}-wal`), "WAL checkpointed and removed on close").to.equal(false);
    });
  });

  it("refuses a non-loopback address without a token", async () => {
    const result = await runCli(["serve", "--listen", "0.0.0.0:5380"], journalEnv("open.db"));
    expect(result.code).to.equal(2);
    expect(result.stderr.trim()).to.match(/^cxfr: error: --listen: 0\.0\.0\.0 is reachable from other machines/);
  });

  it("two drains of the same node started together: exactly one runs, the other exits 2 naming it", async () => {
    fleet = await startFleet({ on: a, reconnectTo: [b], handlers: 2, plain: 0, trusted: [a.component], firstUser: takeUsers(2) });
    const env = journalEnv("race.db");
    const [one, two] = await Promise.all([runCli(["drain", "--to", b.c2sAddress, "--json"], env), runCli(["drain", "--to", b.c2sAddress, "--json"], env)]);
    const results = [one, two].sort((x, y) => Number(x.code) - Number(y.code));
    expect(results.map((r) => r.code)).to.deep.equal([0, 2]);
    const winner = results[0]?.events.at(-1);
    expect(results[1]?.stderr.trim()).to.match(new RegExp(`^cxfr: error: node default \\(127\\.0\\.0\\.1:${a.componentPort}\\) is held by job ${String(winner?.job)} `));
    for (const m of fleet) expect(m.packets).to.equal(1);
  });

  it("a holder killed with kill -9 does not block the node: the next run goes ahead, the dead job shows interrupted", async () => {
    fleet = await startFleet({ on: a, reconnectTo: [b], handlers: 0, plain: 2, firstUser: takeUsers(2) });
    const env = journalEnv("killed.db");
    const firstJob = await killAtFirstPacket(["drain", "--to", b.c2sAddress, "--grace", "60s", "--json"], env);
    expect(firstJob).to.match(/^j-/);
    const second = await runCli(["drain", "--to", b.c2sAddress, "--grace", "1s", "--json"], env);
    expect(second.code, second.stderr).to.equal(0);
    const jobs = await runCli(["jobs", "--json"], env);
    expect(jobs.events.find((j) => j.job === firstJob)).to.include({ state: "interrupted" });
    expect(jobs.events.find((j) => j.job === second.events.at(-1)?.job)).to.include({ state: "done" });

    const cancelled = await runCli(["cancel", firstJob], env);
    expect(cancelled.code).to.equal(0);
    expect(cancelled.stdout.trim()).to.equal(`job ${firstJob}: interrupted`);
  });

  it("cxfr cancel stops a running one-shot job: it ends cancelled, exit 130, its node free again", async () => {
    fleet = await startFleet({ on: a, reconnectTo: [b], handlers: 0, plain: 2, firstUser: takeUsers(2) });
    const env = journalEnv("cancel-live.db");
    const run = startCli(["drain", "--to", b.c2sAddress, "--grace", "15s", "--fallback", "none", "--json"], env);
    let cancelled: Promise<{ stdout: string; code: number | null }> | undefined;
    run.onLine((line) => {
      if (!cancelled && line.includes('"event":"sent"')) cancelled = runCli(["cancel", String((JSON.parse(line) as { job: string }).job)], env);
    });
    const result = await run.done;
    const cancel = await cancelled;
    expect(cancel?.code).to.equal(0);
    expect(cancel?.stdout).to.match(/: cancelling$/m);
    expect(result.code, result.stderr).to.equal(130);
    const id = String(result.events.at(-1)?.job);
    const shown = await runCli(["jobs", id, "--json"], env);
    expect(shown.events.at(-1)).to.include({ job: id, state: "cancelled", targeted: 2, remaining: 2 });
    for (const m of fleet) expect(m.packets, m.jid).to.equal(1);
  });

  it("cancel releases the hold of a job whose process died", async () => {
    fleet = await startFleet({ on: a, reconnectTo: [b], handlers: 0, plain: 1, firstUser: takeUsers(1) });
    const env = journalEnv("cancel.db");
    const id = await killAtFirstPacket(["drain", "--to", b.c2sAddress, "--grace", "60s", "--json"], env);
    const cancelled = await runCli(["cancel", id], env);
    expect(cancelled.stdout.trim()).to.equal(`job ${id}: cancelled`);
    const shown = await runCli(["jobs", id], env);
    expect(shown.code).to.equal(0);
    expect(shown.stdout).to.match(new RegExp(`drain ${id} cancelled: `));
    const unknown = await runCli(["jobs", "j-nothere"], env);
    expect(unknown.code).to.equal(2);
    expect(unknown.stderr.trim()).to.match(/^cxfr: error: no job j-nothere in /);
  });

  it("a journal that is corrupt or cannot be written: one line, exit 2, nothing sent", async () => {
    fleet = await startFleet({ on: a, reconnectTo: [b], handlers: 1, plain: 1, trusted: [a.component], firstUser: takeUsers(2) });
    const corrupt = join(dir, "corrupt.db");
    writeFileSync(corrupt, "this is not SQLite\n".repeat(500));
    for (const path of [corrupt, join(dir, "no-such-dir", "cxfr.db"), "/proc/cxfr.db"]) {
      for (const args of [["drain", "--to", b.c2sAddress], ["serve", "--listen", `127.0.0.1:${await freePort()}`]]) {
        const result = await runCli(args, journalEnv("unused.db", { CXFR_JOURNAL: path }));
        expect(result.code, `${args[0]} ${path}`).to.equal(2);
        const lines = result.stderr.trim().split("\n");
        expect(lines, result.stderr).to.have.length(1);
        expect(lines[0]).to.match(new RegExp(`^cxfr: error: journal ${path.replace(/[.]/g, "\\.")} `));
      }
    }
    for (const m of fleet) expect(m.packets).to.equal(0);
  });

  it("kill -9 of the daemon mid-drain, start again: the job completes, no session gets a second packet or kick", async () => {
    fleet = await startFleet({ on: a, reconnectTo: [b], handlers: 6, plain: 4, trusted: [a.component], firstUser: takeUsers(10) });
    const env = journalEnv("crash.db");
    let daemon = await startDaemon(env);
    const accepted = await daemon.request("POST", "/v1/jobs", { kind: "drain", to: [b.c2sAddress], rate: 2, burst: 1, grace: "3s" });
    const id = String(accepted.json.id);
    await until("some packets sent", () => fleet.filter((m) => m.packets > 0).length >= 3);
    await daemon.stop("SIGKILL");
    const kickedBefore = fleet.filter((m) => m.kind === "plain" && m.leftAt !== undefined).length;
    daemon = await startDaemon({ ...env }, { token: daemon.token });
    await until("the job resumed and finished", async () => ["done", "failed"].includes(String((await daemon.request("GET", `/v1/jobs/${id}`)).json.state)), 90_000);
    const job = (await daemon.request("GET", `/v1/jobs/${id}`)).json;
    expect(job).to.include({ state: "done", targeted: 10, moved: 6, kicked: 4, failed: 0, remaining: 0 });
    await until("every client on B", () => fleet.every((m) => m.port() === b.c2sPort));
    for (const m of fleet) expect(m.packets, m.jid).to.equal(1);
    expect(kickedBefore).to.be.at.most(4);
    // each plain client was kicked once: it left A once
    for (const m of fleet.filter((x) => x.kind === "plain")) expect(m.backOnlineAt, m.jid).to.be.a("number");
    await daemon.stop();
  });

  it("kill -9 of a one-shot drain, then cxfr jobs resume ID: the job completes, no session gets a second packet or kick", async () => {
    fleet = await startFleet({ on: a, reconnectTo: [b], handlers: 6, plain: 4, trusted: [a.component], firstUser: takeUsers(10) });
    const env = journalEnv("resume.db");
    const first = startCli(["drain", "--to", b.c2sAddress, "--rate", "2", "--burst", "1", "--grace", "3s", "--json"], env);
    let id = "";
    first.onLine((line) => {
      if (!id && line.includes('"event":"sent"')) id = String((JSON.parse(line) as { job: string }).job);
    });
    await until("some packets sent", () => fleet.filter((m) => m.packets > 0).length >= 3);
    process.kill(first.pid, "SIGKILL");
    await first.done;
    const resumed = await runCli(["jobs", "resume", id, "--json"], env);
    expect(resumed.code, resumed.stderr).to.equal(0);
    expect(resumed.events.find((e) => e.event === "started")?.resumed).to.be.at.least(3);
    expect(resumed.events.at(-1)).to.include({ event: "summary", job: id, targeted: 10, moved: 6, kicked: 4, failed: 0, remaining: 0 });
    expect((await runCli(["jobs", id, "--json"], env)).events.at(-1)).to.include({ state: "done", targeted: 10, moved: 6, kicked: 4 });
    await until("every client on B", () => fleet.every((m) => m.port() === b.c2sPort));
    for (const m of fleet) expect(m.packets, m.jid).to.equal(1);
    for (const m of fleet.filter((x) => x.kind === "plain")) expect(m.backOnlineAt, m.jid).to.be.a("number");
  });
});

describe("cxfr serve against real ejabberd", function () {
  this.timeout(120_000);
  let a: LabServer;
  let b: LabServer;
  let fleet: FleetMember[] = [];

  before(async () => {
    const users = fleetUsers(6);
    [a, b] = await Promise.all([startServer({ kind: "ejabberd", name: "daemon-ej-a", users }), startServer({ kind: "ejabberd", name: "daemon-ej-b", users })]);
    fleet = await startFleet({ on: a, reconnectTo: [b], handlers: 3, plain: 3, trusted: [a.component] });
  });
  after(async () => {
    await stopAllDaemons();
    await stopFleet(fleet);
    await Promise.all([a?.stop(), b?.stop()]);
  });

  it("drains through the API: handler clients move, plain clients are kicked, metrics equal the summary", async () => {
    const daemon = await startDaemon(nodeEnv(a, { CXFR_JOURNAL: join(specTempDir("cxfr-daemon-ej"), "cxfr.db") }));
    const accepted = await daemon.request("POST", "/v1/jobs", { kind: "drain", to: [b.c2sAddress], grace: "2s", rate: 100 });
    expect(accepted.status, accepted.text).to.equal(202);
    const summary = (await daemon.events(String(accepted.json.id))).at(-1);
    expect(summary).to.include({ event: "summary", targeted: 6, moved: 3, kicked: 3, failed: 0, remaining: 0 });
    expect(((await daemon.request("GET", "/v1/sessions")).json.sessions as unknown[]).length).to.equal(0);
    const samples = parsePrometheus((await daemon.request("GET", "/metrics")).text);
    for (const outcome of ["moved", "kicked", "failed", "skipped", "remaining"] as const) {
      expect(sumOf(samples, "cxfr_transfers_total", `outcome="${outcome}"`), outcome).to.equal(Number(summary?.[outcome]));
    }
    await until("plain clients back on B", () => fleet.every((m) => m.port() === b.c2sPort));
    for (const m of fleet) expect(m.packets, m.jid).to.equal(1);
    expect(await daemon.stop()).to.equal(0);
  });
});
