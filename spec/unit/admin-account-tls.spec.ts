import { expect } from "chai";
import { ConnectError } from "../../lib/errors.ts";
import { AdminAccount } from "../../lib/link/admin-account.ts";
import { Secret } from "../../lib/secret.ts";
import { plaintextServer } from "../support/plaintext-server.ts";

// issue 6 defect 8: the admin account logs in only over TLS (SCRAM too), except to a loopback address
describe("admin account without TLS", () => {
  it("sends no credentials, SCRAM or PLAIN, to a server without STARTTLS where plaintext is not allowed", async () => {
    const server = await plaintextServer(["SCRAM-SHA-1", "PLAIN"]);
    const account = new AdminAccount({ jid: "boss@localhost", password: new Secret("pw-boss"), server: { host: "127.0.0.1", port: server.port }, plaintextLoopback: false, connectTimeoutMs: 5000 });
    try {
      const error = await account.start().catch((e: unknown) => e);
      expect(error).to.be.instanceOf(ConnectError);
      expect((error as Error).message).to.include("TLS");
      expect(server.received()).to.not.include("<auth");
    } finally {
      await account.stop();
      await server.close();
    }
  });
});
