import { expect } from "chai";
import { InputError } from "../../lib/errors.ts";
import { availableMethods, buildMethods } from "../../lib/methods/channels.ts";
import type { ChannelReport } from "../../lib/methods/method.ts";
import { hasNetAdmin, SocketDestroyer, ssKillArgs } from "../../lib/methods/socket-destroy.ts";
import type { ExecFileRunner } from "../../lib/servers/exec.ts";
import type { SessionControl } from "../../lib/servers/session-control.ts";
import { thrownBy } from "./support/xml.ts";

const ROOT_STATUS = "Name:\tnode\nCapEff:\t000001ffffffffff\n";
const NOBODY_STATUS = "Name:\tnode\nCapEff:\t0000000000000000\n";
const NET_ADMIN_ONLY = "CapEff:\t0000000000001000\n";

/** A fake `ss`: -V answers a version, a listing and a kill both print `stdout` (the matching sockets). */
function recorder(stdout = "") {
  const calls: string[][] = [];
  const exec: ExecFileRunner = async (_file, args) => {
    calls.push(args);
    return { code: 0, stdout: args[0] === "-V" ? "ss utility, iproute2-6.1.0\n" : stdout, stderr: "" };
  };
  return { calls, exec };
}

/** A control that records what it was asked and never reaches a server. */
function fakeControl(address?: { ip: string; port: number; serverPorts?: number[] }) {
  const asked: string[] = [];
  const control: SessionControl = {
    channel: "fake",
    seeOtherHostProblem: () => undefined,
    seeOtherHost: async (jid) => (asked.push(`soh ${jid}`), { done: true }),
    shutdown: async (jid) => (asked.push(`shutdown ${jid}`), { done: true }),
    clientAddress: async (jid) => (asked.push(`address ${jid}`), address),
    stop: async () => undefined,
  };
  return { asked, control };
}

const SESSION = { jid: "alice@localhost/r1", bare: "alice@localhost", resource: "r1" };
const TARGET = { host: "127.0.0.2", port: 5222 };
const live = () => new AbortController().signal;

describe("socket destroy and the methods built on channels", () => {
  it("ssKillArgs filters on the client's exact address and port", () => {
    expect(ssKillArgs({ ip: "127.0.0.1", port: 40312 })).to.deep.equal(["-K", "-t", "-n", "-H", "state", "established", "dst", "127.0.0.1", "dport", "=", ":40312"]);
    expect(ssKillArgs({ ip: "::1", port: 5 }, 5222)).to.deep.equal(["-K", "-t", "-n", "-H", "state", "established", "dst", "[::1]", "dport", "=", ":5", "sport", "=", ":5222"]);
  });

  it("refuses anything but an IP address and a port, so no filter text is injected", () => {
    for (const ip of ["127.0.0.1 or dst 0/0", "0/0", "localhost", "'; id", "1.2.3.4\n", "x".repeat(3000), "fe80::1%eth0"]) {
      expect(thrownBy(() => ssKillArgs({ ip, port: 1 })), ip.slice(0, 20)).to.be.instanceOf(InputError);
    }
    for (const port of [0, 65536, 1.5, Number.NaN]) expect(thrownBy(() => ssKillArgs({ ip: "127.0.0.1", port }))).to.be.instanceOf(InputError);
    expect(thrownBy(() => ssKillArgs({ ip: "127.0.0.1", port: 1 }, 70000))).to.be.instanceOf(InputError);
  });

  it("reads CAP_NET_ADMIN from the effective capability set", () => {
    expect(hasNetAdmin(ROOT_STATUS)).to.equal(true);
    expect(hasNetAdmin(NET_ADMIN_ONLY)).to.equal(true);
    expect(hasNetAdmin(NOBODY_STATUS)).to.equal(false);
    expect(hasNetAdmin("")).to.equal(false);
  });

  describe("reset", () => {
    it("without CAP_NET_ADMIN is unavailable and runs no ss -K and asks no server", async () => {
      const { calls, exec } = recorder();
      const { asked, control } = fakeControl({ ip: "127.0.0.1", port: 40312 });
      const { reset } = buildMethods(control, undefined, new SocketDestroyer({ exec, readStatus: async () => NOBODY_STATUS }));
      const attempt = await reset.apply(SESSION, TARGET, live());
      expect(attempt).to.deep.equal({ status: "unavailable", reason: "this process lacks CAP_NET_ADMIN (run as root or grant the capability)" });
      expect(calls).to.deep.equal([]);
      expect(asked).to.deep.equal([]);
    });

    it("with permission destroys the socket of the address the channel gives", async () => {
      const { calls, exec } = recorder("0 0 127.0.0.1:5222 127.0.0.1:40312\n");
      const { control } = fakeControl({ ip: "127.0.0.1", port: 40312 });
      const { reset } = buildMethods(control, undefined, new SocketDestroyer({ exec, readStatus: async () => ROOT_STATUS }));
      expect(await reset.apply(SESSION, TARGET, live())).to.deep.equal({ status: "sent" });
      // narrowed to the local port the listing showed, so the kill names the exact connection
      expect(calls.at(-1)).to.deep.equal(ssKillArgs({ ip: "127.0.0.1", port: 40312 }, 5222));
    });

    it("with two matching connections, destroys the one whose local port is listening (the server's end)", async () => {
      const calls: string[][] = [];
      const exec: ExecFileRunner = async (_file, args) => {
        calls.push(args);
        if (args[0] === "-V") return { code: 0, stdout: "ss utility, iproute2-6.1.0\n", stderr: "" };
        if (args.includes("listening")) return { code: 0, stdout: "0 1024 127.0.0.1:5222 0.0.0.0:*\n0 128 [::]:22 [::]:*\n", stderr: "" };
        if (args.includes("sport")) return { code: 0, stdout: "0 0 127.0.0.1:5222 127.0.0.1:40312\n", stderr: "" };
        return { code: 0, stdout: "0 0 127.0.0.1:5222 127.0.0.1:40312\n0 0 127.0.0.1:51000 127.0.0.1:40312\n", stderr: "" };
      };
      const { reset } = buildMethods(fakeControl({ ip: "127.0.0.1", port: 40312 }).control, undefined, new SocketDestroyer({ exec, readStatus: async () => ROOT_STATUS }));
      expect(await reset.apply(SESSION, TARGET, live())).to.deep.equal({ status: "sent" });
      expect(calls.filter((args) => args[0] === "-K")).to.deep.equal([ssKillArgs({ ip: "127.0.0.1", port: 40312 }, 5222)]);
    });

    it("with the server's ports known, destroys only the connection ending at one of them", async () => {
      const { calls, exec } = recorder("0 0 127.0.0.1:43433 127.0.0.1:38330\n0 0 127.0.0.1:46105 127.0.0.1:38330\n");
      const { reset } = buildMethods(fakeControl({ ip: "127.0.0.1", port: 38330, serverPorts: [46105, 5223] }).control, undefined, new SocketDestroyer({ exec, readStatus: async () => ROOT_STATUS }));
      expect(await reset.apply(SESSION, TARGET, live())).to.deep.equal({ status: "sent" });
      expect(calls.filter((args) => args[0] === "-K")).to.deep.equal([ssKillArgs({ ip: "127.0.0.1", port: 38330 }, 46105)]);
    });

    it("destroys nothing when two matching connections both end at listening ports", async () => {
      const { calls, exec } = recorder("0 0 127.0.0.1:5222 127.0.0.1:40312\n0 0 127.0.0.2:5222 127.0.0.1:40312\n");
      const { reset } = buildMethods(fakeControl({ ip: "127.0.0.1", port: 40312 }).control, undefined, new SocketDestroyer({ exec, readStatus: async () => ROOT_STATUS }));
      const attempt = await reset.apply(SESSION, TARGET, live());
      expect(attempt).to.deep.equal({ status: "unavailable", reason: "socket destroy failed: 2 connections match 127.0.0.1 port 40312; not choosing one" });
      expect(calls.filter((args) => args[0] === "-K")).to.deep.equal([]);
    });

    it("is unavailable when the kernel destroyed nothing, or the address is unknown", async () => {
      const { exec } = recorder("");
      const destroyer = new SocketDestroyer({ exec, readStatus: async () => ROOT_STATUS });
      expect(await buildMethods(fakeControl({ ip: "127.0.0.1", port: 1 }).control, undefined, destroyer).reset.apply(SESSION, TARGET, live())).to.have.property("status", "unavailable");
      expect(await buildMethods(fakeControl(undefined).control, undefined, destroyer).reset.apply(SESSION, TARGET, live())).to.have.property("status", "unavailable");
    });
  });

  it("see-other-host, close and kick without their channel are unavailable and do nothing", async () => {
    const { calls, exec } = recorder();
    const methods = buildMethods(undefined, undefined, new SocketDestroyer({ exec, readStatus: async () => ROOT_STATUS }));
    for (const name of ["see-other-host", "close", "kick"] as const) {
      expect(await methods[name].apply(SESSION, TARGET, live()), name).to.have.property("status", "unavailable");
    }
    expect(await methods.reset.apply(SESSION, TARGET, live())).to.have.property("status", "unavailable");
    expect(calls.filter((args) => args[0] === "-K")).to.deep.equal([]);
  });

  it("a stopped job acts on nothing", async () => {
    const { asked, control } = fakeControl();
    const ended: string[] = [];
    const methods = buildMethods(control, { endSession: async (jid) => void ended.push(jid) });
    const stopped = AbortSignal.abort();
    for (const name of ["see-other-host", "close", "kick"] as const) expect(await methods[name].apply(SESSION, TARGET, stopped)).to.have.property("status", "unavailable");
    expect(asked).to.deep.equal([]);
    expect(ended).to.deep.equal([]);
  });

  it("close sends system-shutdown through the channel; kick ends the session through the admin", async () => {
    const { asked, control } = fakeControl();
    const ended: string[] = [];
    const methods = buildMethods(control, { endSession: async (jid) => void ended.push(jid) });
    expect(await methods.close.apply(SESSION, TARGET, live())).to.deep.equal({ status: "sent" });
    expect(await methods["see-other-host"].apply(SESSION, TARGET, live())).to.deep.equal({ status: "sent" });
    expect(await methods.kick.apply(SESSION, TARGET, live())).to.deep.equal({ status: "sent" });
    expect(asked).to.deep.equal(["shutdown alice@localhost/r1", "soh alice@localhost/r1"]);
    expect(ended).to.deep.equal(["alice@localhost/r1"]);
  });

  describe("availableMethods", () => {
    const channel = (name: string, usable: boolean): ChannelReport => ({ channel: name, found: usable, usable });
    it("offers each method only with the channels it needs", () => {
      expect(availableMethods([channel("admin-socket", true), channel("socket-destroy", true)], { isAdmin: true })).to.deep.equal(["cxfr", "see-other-host", "reset", "close", "kick"]);
      expect(availableMethods([channel("ejabberdctl", true), channel("socket-destroy", false)], { isAdmin: true })).to.deep.equal(["cxfr", "see-other-host", "close", "kick"]);
      expect(availableMethods([channel("admin-socket", false), channel("socket-destroy", true)], { isAdmin: false })).to.deep.equal(["cxfr"]);
    });
  });
});
