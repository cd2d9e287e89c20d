// SCRAM-SHA-1 (RFC 5802) client side, for benchmark clients: real servers store SCRAM credentials, so
// a benchmark of logins must pay (and make the server pay) what a real login costs.
import { createHash, createHmac, pbkdf2, randomBytes } from "node:crypto";
import { promisify } from "node:util";

const pbkdf2Async = promisify(pbkdf2);

/**
 * SaltedPassword per (password, salt, iterations), as real clients keep it (Conversations caches the derived keys
 * the same way): a returning client pays PBKDF2 once per server salt, not on every login. In the benchmark it keeps
 * the load generator's own PBKDF2 off the two cores the servers share; the servers' side of a login is unchanged.
 */
const saltedPasswords = new Map<string, Buffer>();

async function saltedPassword(password: string, salt: Buffer, iterations: number): Promise<Buffer> {
  const key = `${iterations}:${salt.toString("base64")}:${password}`;
  const known = saltedPasswords.get(key);
  if (known) return known;
  const salted = await pbkdf2Async(password, salt, iterations, 20, "sha1");
  saltedPasswords.set(key, salted);
  return salted;
}

// RFC 5802 §5.1: "=" and "," in a username are escaped
const saslName = (s: string): string => s.replace(/=/g, "=3D").replace(/,/g, "=2C");

export interface ScramClient {
  /** base64 of the client-first message */
  first: string;
  /** base64 of the client-final message, from the server-first message (base64) */
  final(serverFirstB64: string): Promise<string>;
}

export function scramSha1(user: string, password: string): ScramClient {
  const nonce = randomBytes(12).toString("base64");
  const clientFirstBare = `n=${saslName(user)},r=${nonce}`;
  return {
    first: Buffer.from(`n,,${clientFirstBare}`).toString("base64"),
    async final(serverFirstB64: string): Promise<string> {
      const serverFirst = Buffer.from(serverFirstB64, "base64").toString();
      const fields = new Map(serverFirst.split(",").map((kv) => [kv.slice(0, 1), kv.slice(2)] as const));
      const serverNonce = fields.get("r") ?? "";
      const salt = Buffer.from(fields.get("s") ?? "", "base64");
      const iterations = Number(fields.get("i"));
      if (!serverNonce.startsWith(nonce) || !(iterations > 0)) throw new Error(`bad SCRAM server-first: ${serverFirst}`);
      const salted = await saltedPassword(password, salt, iterations);
      const clientKey = createHmac("sha1", salted).update("Client Key").digest();
      const storedKey = createHash("sha1").update(clientKey).digest();
      const withoutProof = `c=biws,r=${serverNonce}`;
      const authMessage = `${clientFirstBare},${serverFirst},${withoutProof}`;
      const signature = createHmac("sha1", storedKey).update(authMessage).digest();
      const proof = Buffer.alloc(clientKey.length);
      for (let i = 0; i < proof.length; i++) proof[i] = (clientKey[i] as number) ^ (signature[i] as number);
      return Buffer.from(`${withoutProof},p=${proof.toString("base64")}`).toString("base64");
    },
  };
}
