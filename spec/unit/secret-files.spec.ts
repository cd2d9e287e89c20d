import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "chai";
import { loadConfig } from "../../lib/config.ts";
import { InputError } from "../../lib/errors.ts";
import { runCli } from "../support/cli.ts";
import { specTempDir } from "../support/temp-dir.ts";

// issue 6 defect 12
describe("secret files others can read", () => {
  const dir = specTempDir("cxfr-secret-files");
  const secretFile = (name: string, mode: number) => {
    const path = join(dir, name);
    writeFileSync(path, "s3cret\n");
    chmodSync(path, mode);
    return path;
  };
  const env = (file: string) => ({ CXFR_SERVER: "127.0.0.1:1", CXFR_COMPONENT: "cxfr.localhost", CXFR_COMPONENT_SECRET_FILE: file, CXFR_DOMAIN: "localhost" });

  it("warns, naming the file and the field, when group or others may read it", () => {
    const open = secretFile("open.secret", 0o644);
    const config = loadConfig({ env: env(open) });
    expect(config.warnings).to.have.length(1);
    expect(config.warnings[0]).to.include("CXFR_COMPONENT_SECRET_FILE").and.include(open).and.include("644");
    expect(config.warnings[0]).to.not.include("s3cret");
  });

  it("says nothing about a file only its owner can read", () => {
    expect(loadConfig({ env: env(secretFile("closed.secret", 0o600)) }).warnings).to.deep.equal([]);
  });

  it("refuses under strict", () => {
    expect(() => loadConfig({ env: env(secretFile("group.secret", 0o640)), strict: true })).to.throw(InputError, /group.*--strict/);
  });

  it("cxfr prints the warning on stderr, and refuses with --strict (exit 2)", async () => {
    const open = secretFile("cli.secret", 0o604);
    const warned = await runCli(["sessions"], { PATH: process.env.PATH, ...env(open) });
    expect(warned.stderr).to.match(/^cxfr: warning: CXFR_COMPONENT_SECRET_FILE: .*cli\.secret is readable by others/m);
    const strict = await runCli(["--strict", "sessions"], { PATH: process.env.PATH, ...env(open) });
    expect(strict.code).to.equal(2);
    expect(strict.stderr).to.match(/^cxfr: error: CXFR_COMPONENT_SECRET_FILE: .*--strict/);
  });
});
