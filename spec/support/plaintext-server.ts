// A fake XMPP server that offers a login without STARTTLS, to check that no credentials are sent to it.
import net from "node:net";

/** A server that answers any stream with features offering PLAIN and no STARTTLS, and records what it receives. */
export async function plaintextServer(mechanisms = ["PLAIN"]): Promise<{ port: number; received: () => string; close(): Promise<void> }> {
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
            `<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>${mechanisms.map((m) => `<mechanism>${m}</mechanism>`).join("")}</mechanisms></stream:features>`,
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
