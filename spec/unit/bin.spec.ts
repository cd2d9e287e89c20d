import { expect } from "chai";
import { execFile } from "node:child_process";
import { copyFileSync, mkdirSync, rmSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { specTempDir } from "../support/temp-dir.ts";

// bin/cxfr runs dist/ when it is at least as new as every source, and the sources through tsx
// otherwise. Checked on a copy of the executable in a scratch package whose "main" says which ran.

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const run = promisify(execFile);

function scratchPackage(parts: { dist?: boolean; sources?: boolean }): string {
  const dir = specTempDir("cxfr-bin");
  mkdirSync(join(dir, "bin"));
  copyFileSync(join(ROOT, "bin", "cxfr"), join(dir, "bin", "cxfr"));
  symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"));
  writeFileSync(join(dir, "package.json"), '{"type":"module"}\n');
  const main = (which: string) => `export async function main(argv) { process.stdout.write(${JSON.stringify(which)} + " " + argv.join(",") + (process.env.SHOW_EXEC_ARGV ? " " + process.execArgv.join(" ") : "")); return 0; }\n`;
  if (parts.dist) {
    mkdirSync(join(dir, "dist", "cxfr"), { recursive: true });
    writeFileSync(join(dir, "dist", "cxfr", "main.js"), main("dist"));
  }
  if (parts.sources) {
    mkdirSync(join(dir, "lib", "cli"), { recursive: true });
    writeFileSync(join(dir, "lib", "cli", "main.ts"), main("sources").replace("(argv)", "(argv: string[])"));
  }
  return dir;
}

async function whichRuns(dir: string): Promise<string> {
  const { stdout } = await run(process.execPath, [join(dir, "bin", "cxfr"), "a", "b"], { env: { PATH: process.env.PATH } });
  return stdout;
}

const setMtime = (path: string, seconds: number) => utimesSync(path, seconds, seconds);

describe("bin/cxfr: compiled or from source", function () {
  this.timeout(30_000);
  const dirs: string[] = [];
  after(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  const make = (parts: { dist?: boolean; sources?: boolean }) => {
    const dir = scratchPackage(parts);
    dirs.push(dir);
    return dir;
  };

  it("runs dist/ in a published package (no sources), passing the arguments", async () => {
    expect(await whichRuns(make({ dist: true }))).to.equal("dist a,b");
  });

  it("runs dist/ in a checkout whose build is newer than every source", async () => {
    const dir = make({ dist: true, sources: true });
    setMtime(join(dir, "lib", "cli", "main.ts"), 1_000_000);
    setMtime(join(dir, "dist", "cxfr", "main.js"), 2_000_000);
    expect(await whichRuns(dir)).to.equal("dist a,b");
  });

  it("runs the sources through tsx when one of them changed after the build", async () => {
    const dir = make({ dist: true, sources: true });
    setMtime(join(dir, "dist", "cxfr", "main.js"), 1_000_000);
    setMtime(join(dir, "lib", "cli", "main.ts"), 2_000_000);
    expect(await whichRuns(dir)).to.equal("sources a,b");
  });

  it("runs the sources through tsx in a checkout without dist/", async () => {
    expect(await whichRuns(make({ sources: true }))).to.equal("sources a,b");
  });

  it("run as a command, starts node with small semi-spaces and passes every argument as it was given", async () => {
    const dir = make({ dist: true });
    const args = ["drain", "two words", "$HOME", "it's", "*"];
    const { stdout } = await run(join(dir, "bin", "cxfr"), args, { env: { PATH: process.env.PATH, SHOW_EXEC_ARGV: "1" } });
    expect(stdout).to.equal(`dist ${args.join(",")} --max-semi-space-size=4`);
  });
});
