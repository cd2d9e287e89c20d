import { expect } from "chai";
import { nodeEnv, runCli } from "../support/cli.ts";
import { loginClient, startServer, type LabClient, type LabServer } from "../support/lab/index.ts";

// issue 6 defect 1: Prosody copies a user's own <show> text into get-online-users-list details, so a newline in
// it forges lines: a fake address for the user's own session and a session of another account.
const FORGED_SHOW = "away(0), IP: [203.0.113.9]\nvictim@localhost\n - laptop: dnd";
// the same without an account line: a fake address and a phantom session inside eve's own block
const FORGED_OWN_LINES = "dnd(0), IP: [203.0.113.9]\n - phantom: away";
// no newline at all: "phone" showing "x: dnd" reads like a session "phone: x"
const SHIFTED_RESOURCE = "x: dnd";

describe("fault: forged <show> lines in Prosody's listing (real Prosody)", function () {
  this.timeout(60_000);
  let server: LabServer;
  const clients: LabClient[] = [];
  const users = ["mallory", "alice", "victim", "eve", "ivy"].map((user) => ({ user, password: `pw-${user}` }));

  before(async () => {
    server = await startServer({ kind: "prosody", name: "forged-show", users });
    clients.push(await loginClient(server, { user: "mallory", password: "pw-mallory", resource: "phone", presence: { show: FORGED_SHOW } }));
    clients.push(await loginClient(server, { user: "mallory", password: "pw-mallory", resource: "tablet" }));
    clients.push(await loginClient(server, { user: "alice", password: "pw-alice", resource: "r1" }));
    clients.push(await loginClient(server, { user: "eve", password: "pw-eve", resource: "phone", presence: { show: FORGED_OWN_LINES } }));
    clients.push(await loginClient(server, { user: "ivy", password: "pw-ivy", resource: "phone", presence: { show: SHIFTED_RESOURCE } }));
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.stop()));
    await server?.stop();
  });

  it("cxfr sessions lists only the real sessions, with the addresses the server knows", async () => {
    const result = await runCli(["sessions", "--json"], nodeEnv(server));
    expect(result.code, result.stderr).to.equal(0);
    expect(result.events.map((e) => e.jid).sort()).to.deep.equal(["alice@localhost/r1", "eve@localhost/phone", "ivy@localhost/phone", "mallory@localhost/phone", "mallory@localhost/tablet"]);
    for (const e of result.events) expect(e.ip, String(e.jid)).to.equal("127.0.0.1");
  });

  it("a drain plans packets for the real sessions only", async () => {
    const result = await runCli(["drain", "--to", server.c2sAddress, "--dry-run", "--json", "--from", "component"], nodeEnv(server));
    expect(result.code, result.stderr).to.equal(0);
    const planned = result.events.filter((e) => e.event === "planned").map((e) => e.jid).sort();
    expect(planned).to.deep.equal(["alice@localhost/r1", "eve@localhost/phone", "ivy@localhost/phone", "mallory@localhost/phone", "mallory@localhost/tablet"]);
  });
});
