import { spawn } from "node:child_process";
import { expect } from "chai";
import { CXFR_BIN, nodeEnv } from "../support/cli.ts";
import { startServer, type LabServer } from "../support/lab/index.ts";
import { startWitness, type Witness } from "./witness.ts";

/** Runs `cxfr args | reader` in a shell; resolves cxfr's own exit code and stderr. */
function piped(args: string[], reader: string, env: NodeJS.ProcessEnv): Promise<{ code: number; stderr: string }> {
  const quoted = [process.execPath, CXFR_BIN, ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(" ");
  const child = spawn("bash", ["-c", `${quoted} | ${reader}; exit \${PIPESTATUS[0]}`], { env, stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => child.on("close", (code) => resolve({ code: code ?? -1, stderr })));
}

// issue 6 defect 13
describe("fault: stdout closed by its reader (real Prosody)", function () {
  this.timeout(30_000);
  let server: LabServer;
  const witnesses: Witness[] = [];
  const users = Array.from({ length: 4 }, (_, i) => ({ user: `p${i}`, password: `pw-p${i}` }));

  before(async () => {
    server = await startServer({ kind: "prosody", name: "faults-pipes", users });
    for (const { user } of users.slice(0, 3)) witnesses.push(await startWitness(server, { user, answer: "refuse" }));
  });
  after(async () => {
    await Promise.all(witnesses.map((w) => w.stop()));
    await server?.stop();
  });

  it("cxfr sessions --json | head -1 and | true end quietly with exit 0", async () => {
    for (const reader of ["head -1", "true"]) {
      const result = await piped(["sessions", "--json"], reader, nodeEnv(server));
      expect(result.stderr, reader).to.equal("");
      expect(result.code, reader).to.equal(0);
    }
  });

  it("a drain whose stdout is closed runs to its end and writes the summary to stderr", async () => {
    const result = await piped(["drain", "--to", server.c2sAddress, "--from", "component", "--grace", "5s", "--json"], "true", nodeEnv(server));
    expect(result.code, result.stderr).to.equal(0);
    const summary = result.stderr.split("\n").find((line) => line.includes('"event":"summary"'));
    expect(summary, result.stderr).to.not.equal(undefined);
    expect(JSON.parse(summary as string)).to.include({ targeted: 3, kicked: 3 });
  });
});
