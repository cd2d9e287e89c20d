import { expect } from "chai";
import { createServer, type Server, type Socket } from "node:net";
import { probeLogin, startLoginProbes, type LoginProbeResult } from "../../lib/link/login-probe.ts";
import { freePort } from "../support/lab/ports.ts";

/** A loopback listener whose reply to each connection is decided by `onHeader(header, socket)`. */
async function fakeNode(onHeader: (header: string, socket: Socket) => void): Promise<{ server: Server; port: number; headers: string[] }> {
  const headers: string[] = [];
  const server = createServer((socket) => {
    socket.on("error", () => undefined);
    socket.once("data", (chunk) => {
      headers.push(chunk.toString());
      onHeader(chunk.toString(), socket);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  return { server, port: typeof address === "object" && address ? address.port : 0, headers };
}

const STREAM = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' id='x' version='1.0'>";
const FEATURES = "<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>SCRAM-SHA-1</mechanism></mechanisms></stream:features>";

describe("login probe", () => {
  const servers: Server[] = [];
  afterEach(() => {
    for (const s of servers.splice(0)) s.close();
  });

  it("measures a node up to its stream features, sending a well-formed header with the domain escaped", async () => {
    const node = await fakeNode((_h, socket) => socket.write(STREAM + FEATURES));
    servers.push(node.server);
    const result = await probeLogin({ host: "127.0.0.1", port: node.port }, { domain: "a'b&c.example", timeoutMs: 2000 });
    expect(result.ok).to.equal(true);
    if (!result.ok) return;
    expect(result.ms).to.be.at.least(result.streamMs);
    expect(result.streamMs).to.be.at.least(result.connectMs);
    expect(node.headers[0]).to.match(/^<\?xml version='1\.0'\?><stream:stream /);
    expect(node.headers[0]).to.include('to="a&apos;b&amp;c.example"');
    expect(node.headers[0]).to.match(/>$/);
    expect(node.headers[0]).not.to.match(/\/>$/);
  });

  it("reports a node that opens the stream but never sends features", async () => {
    const node = await fakeNode((_h, socket) => socket.write(STREAM));
    servers.push(node.server);
    const result = await probeLogin({ host: "127.0.0.1", port: node.port }, { domain: "example.com", timeoutMs: 200 });
    expect(result).to.include({ ok: false, reason: "no stream features within 200 ms" });
  });

  it("reports a stream error, a closed connection and a refused port", async () => {
    const erring = await fakeNode((_h, socket) => socket.end(`${STREAM}<stream:error><host-unknown xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error></stream:stream>`));
    const closing = await fakeNode((_h, socket) => socket.destroy());
    servers.push(erring.server, closing.server);
    const refusedPort = await freePort();
    const results = await Promise.all([
      probeLogin({ host: "127.0.0.1", port: erring.port }, { domain: "example.com", timeoutMs: 2000 }),
      probeLogin({ host: "127.0.0.1", port: closing.port }, { domain: "example.com", timeoutMs: 2000 }),
      probeLogin({ host: "127.0.0.1", port: refusedPort }, { domain: "example.com", timeoutMs: 2000 }),
    ]);
    expect(results.map((r) => (r.ok ? "ok" : r.reason))).to.deep.equal(["stream error: host-unknown", "closed before stream features", "connection refused"]);
  });

  it("reports XML that is not XML, without crashing on what makes the parser throw", async () => {
    const reasons: string[] = [];
    for (const garbage of ["<a></b>", "</a>"]) {
      const node = await fakeNode((_h, socket) => socket.write(garbage));
      servers.push(node.server);
      const result = await probeLogin({ host: "127.0.0.1", port: node.port }, { domain: "example.com", timeoutMs: 2000 });
      reasons.push(result.ok ? "ok" : result.reason.slice(0, 7));
    }
    expect(reasons).to.deep.equal(["bad XML", "bad XML"]);
  });

  it("probes each target repeatedly until stopped", async () => {
    const node = await fakeNode((_h, socket) => socket.write(STREAM + FEATURES));
    servers.push(node.server);
    const seen: Array<{ label: string; result: LoginProbeResult }> = [];
    await new Promise<void>((resolve) => {
      const prober = startLoginProbes([{ label: "b", address: { host: "127.0.0.1", port: node.port } }], { domain: "example.com", timeoutMs: 2000, intervalMs: 10 }, (label, result) => {
        seen.push({ label, result });
        if (seen.length === 3) {
          prober.stop();
          resolve();
        }
      });
    });
    expect(seen.map((s) => [s.label, s.result.ok])).to.deep.equal([
      ["b", true],
      ["b", true],
      ["b", true],
    ]);
    expect(node.headers).to.have.length(3);
  });
});
