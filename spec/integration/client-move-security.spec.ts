import { expect } from "chai";
import { relocate, serviceOf } from "../../lib/client/relocate.ts";
import { loginClient, startServer, type LabServer } from "../support/lab/index.ts";
import { plaintextServer } from "../support/plaintext-server.ts";

// issue 6 defect 7: the client handler keeps the session's security level when it moves
describe("client handler: a move keeps TLS (real Prosody, fake target)", function () {
  this.timeout(30_000);
  let server: LabServer;

  before(async () => {
    server = await startServer({ kind: "prosody", name: "client-tls", users: [{ user: "alice", password: "pw-alice" }] });
  });
  after(() => server?.stop());

  it("an xmpps:// session moves with xmpps://, any other with xmpp:// (STARTTLS then required)", () => {
    expect(serviceOf({ host: "node-b.example.com", port: 5223 }, "xmpps://node-a.example.com:5223")).to.equal("xmpps://node-b.example.com:5223");
    expect(serviceOf({ host: "node-b.example.com", port: 5222 }, "xmpp://node-a.example.com:5222")).to.equal("xmpp://node-b.example.com:5222");
  });

  it("a target without STARTTLS gets no credentials, and the client keeps its old service", async () => {
    const target = await plaintextServer();
    const alice = await loginClient(server, { user: "alice", password: "pw-alice", resource: "r1" });
    const before = alice.xmpp.options.service;
    try {
      const error = await relocate(alice.xmpp, `xmpp://127.0.0.1:${target.port}`, { plaintextLoopback: false }).catch((e: unknown) => e);
      expect(error).to.be.instanceOf(Error);
      expect((error as Error).message).to.include("STARTTLS");
      expect(target.received()).to.include("<stream:stream");
      expect(target.received()).to.not.include("<auth");
      expect(target.received()).to.not.include("pw-alice");
      expect(alice.xmpp.options.service).to.equal(before);
    } finally {
      await alice.stop();
      await target.close();
    }
  });
});
