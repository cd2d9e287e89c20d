import net from "node:net";
import { expect } from "chai";
import { relocate, serviceOf } from "../../lib/client/relocate.ts";
import { loginClient, startServer, type LabServer } from "../support/lab/index.ts";

/** A server that answers any stream with features offering PLAIN and no STARTTLS, and records what it receives. */
async function plaintextServer(): Promise<{ port: number; received: () => string; close(): Promise<void> }> {
  let received = "";
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => undefined);
    socket.on("data", (chunk: Buffer) => {
      received += chunk.toString();
      if (chunk.toString().includes("<stream:stream") || chunk.toString().includes("<?xml")) {
        socket.write(
          "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' id='x' from='localhost' version='1.0'>" +
            "<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism></mechanisms></stream:features>",
        );
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    received: () => received,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

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
