import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "chai";
import { runCli } from "../support/cli.ts";
import { specTempDir } from "../support/temp-dir.ts";

const SECRET = "s3cret-<&'\">-value";
const dir = specTempDir("cxfr-cli-input");
const validEnv = { PATH: process.env.PATH, CXFR_SERVER: "127.0.0.1:1", CXFR_COMPONENT: "cxfr.localhost", CXFR_COMPONENT_SECRET: SECRET, CXFR_DOMAIN: "localhost" };

function configFile(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

interface BadCase {
  title: string;
  args: string[];
  env?: Record<string, string | undefined>;
  field: RegExp;
}

const bad: BadCase[] = [
  { title: "malformed JID for --user", args: ["sessions", "--user", "alice@@localhost"], field: /--user/ },
  { title: "malformed JID for transfer", args: ["transfer", "not a jid", "--to", "b.example.com"], field: /JID/ },
  { title: "bare JID where a session is needed", args: ["transfer", "alice@localhost", "--to", "b.example.com"], field: /JID/ },
  { title: "malformed host in CXFR_SERVER", args: ["check"], env: { CXFR_SERVER: "bad host:5347" }, field: /CXFR_SERVER/ },
  { title: "port out of range", args: ["check"], env: { CXFR_SERVER: "127.0.0.1:70000" }, field: /CXFR_SERVER/ },
  { title: "malformed target", args: ["drain", "--to", "b.example.com:0"], field: /--to/ },
  { title: "duration with a bad unit", args: ["drain", "--to", "b.example.com", "--grace", "5x"], field: /--grace/ },
  { title: "zero rate", args: ["drain", "--to", "b.example.com", "--rate", "0"], field: /--rate/ },
  { title: "negative rate", args: ["drain", "--to", "b.example.com", "--rate", "-5"], field: /--rate/ },
  { title: "jitter above 1", args: ["drain", "--to", "b.example.com", "--jitter", "2"], field: /--jitter/ },
  { title: "unknown fallback", args: ["drain", "--to", "b.example.com", "--fallback", "shoot"], field: /--fallback/ },
  { title: "malformed --exclude", args: ["drain", "--to", "b.example.com", "--exclude", "a@b@c"], field: /--exclude/ },
  { title: "unknown flag", args: ["sessions", "--colour"], field: /unknown option '--colour'/ },
  { title: "unknown command", args: ["evacuate"], field: /unknown command/ },
  { title: "missing secret", args: ["check"], env: { CXFR_COMPONENT_SECRET: undefined }, field: /CXFR_COMPONENT_SECRET/ },
  { title: "bad --from", args: ["check"], env: { CXFR_FROM: "everywhere" }, field: /CXFR_FROM/ },
  { title: "unreadable config", args: ["--config", join(dir, "missing.yml"), "check"], field: /--config/ },
  { title: "config that is not YAML", args: ["--config", configFile("broken.yml", "nodes: [\n  - name: a\n    server: {"), "check"], field: /--config/ },
  { title: "config with a bad server port", args: ["--config", configFile("port.yml", "domain: localhost\nnodes:\n  - name: a\n    server: 127.0.0.1:99999\n    component: cxfr.localhost\n    secret: x\n"), "check"], env: { CXFR_SERVER: undefined }, field: /nodes\[0\]\.server/ },
  { title: "config with a bad domain", args: ["--config", configFile("domain.yml", "domain: 'exa mple.com'\n"), "check"], env: { CXFR_DOMAIN: undefined }, field: /^cxfr: error: domain: / },
  { title: "unreachable target", args: ["drain", "--to", "127.0.0.1:1"], field: /^cxfr: error: --to: 127\.0\.0\.1:1 is not reachable/ },
  { title: "a method nobody knows", args: ["drain", "--to", "b.example.com", "--method", "cxfr,teleport"], field: /--method: unknown method "teleport"/ },
  { title: "a method named twice", args: ["drain", "--to", "b.example.com", "--method", "kick,kick"], field: /--method/ },
  { title: "fallback kick without kick among the methods", args: ["drain", "--to", "b.example.com", "--method", "cxfr", "--fallback", "kick"], field: /--fallback/ },
  { title: "unknown method", args: ["drain", "--to", "b.example.com", "--method", "cxfr,teleport"], field: /--method/ },
  { title: "draining a node to itself", args: ["drain", "--to", "a.example.com:5222"], env: { CXFR_PUBLIC: "a.example.com:5222" }, field: /--to: a\.example\.com:5222 is node default itself/ },
  { title: "misspelt pacing key in the config", args: ["--config", configFile("typo.yml", "domain: localhost\npacing: { rat: 5 }\n"), "check"], field: /^cxfr: error: pacing\.rat: unknown setting/ },
  { title: "misspelt node key in the config", args: ["--config", configFile("nodetypo.yml", "domain: localhost\nnodes:\n  - name: a\n    sever: 127.0.0.1:5347\n"), "check"], env: { CXFR_SERVER: undefined }, field: /^cxfr: error: nodes\[0\]\.sever: unknown setting/ },
  { title: "unknown node", args: ["--node", "zz", "sessions"], field: /--node/ },
  { title: "malformed CXFR_ADMIN_SERVER", args: ["check"], env: { CXFR_ADMIN_JID: "boss@localhost", CXFR_ADMIN_PASSWORD: SECRET, CXFR_ADMIN_SERVER: "bad host:5222" }, field: /^cxfr: error: CXFR_ADMIN_SERVER: / },
  { title: "CXFR_ADMIN_SERVER without an admin account", args: ["check"], env: { CXFR_ADMIN_SERVER: "127.0.0.1:5222" }, field: /^cxfr: error: CXFR_ADMIN_SERVER: .*CXFR_ADMIN_JID/ },
  { title: "admin JID with a resource", args: ["check"], env: { CXFR_ADMIN_JID: "boss@localhost/desk", CXFR_ADMIN_PASSWORD: SECRET }, field: /^cxfr: error: CXFR_ADMIN_JID: / },
  { title: "admin JID without a user", args: ["check"], env: { CXFR_ADMIN_JID: "localhost", CXFR_ADMIN_PASSWORD: SECRET }, field: /^cxfr: error: CXFR_ADMIN_JID: / },
  { title: "config with a bad admin server", args: ["--config", configFile("admin-server.yml", `domain: localhost\nnodes:\n  - name: a\n    server: 127.0.0.1:5347\n    component: cxfr.localhost\n    secret: x\n    admin: { jid: boss@localhost, password: "${SECRET.replace(/["\\]/g, "\\$&")}", server: "127.0.0.1:0" }\n`), "check"], env: { CXFR_SERVER: undefined }, field: /^cxfr: error: nodes\[0\]\.admin\.server: / },
  // issue 6 defect 11
  { title: "bogus --from", args: ["drain", "--to", "b.example.com", "--from", "everywhere"], field: /^cxfr: error: --from: / },
  { title: "--domain that is not a domain", args: ["drain", "--to", "b.example.com", "--domain", "exa mple.com"], field: /^cxfr: error: --domain: / },
  { title: "--domain with a bidi override", args: ["drain", "--to", "b.example.com", "--domain", "exa\u202emple.com"], field: /^cxfr: error: --domain: .*U\+202E/ },
  { title: "--announce with a character XML forbids", args: ["drain", "--to", "b.example.com", "--announce", "maintenance\u0001now"], field: /^cxfr: error: --announce: .*U\+0001/ },
  { title: "iq_timeout of 0", args: ["--config", configFile("iq0.yml", "domain: localhost\niq_timeout: 0\n"), "check"], field: /^cxfr: error: iq_timeout: / },
  { title: "max_listing of 0", args: ["--config", configFile("max0.yml", "domain: localhost\nmax_listing: 0\n"), "check"], field: /^cxfr: error: max_listing: / },
];

describe("CLI input errors", function () {
  this.timeout(20_000);
  for (const c of bad) {
    it(`${c.title}: exit 2, one line naming the field, no stack`, async () => {
      const env: NodeJS.ProcessEnv = { ...validEnv };
      for (const [k, v] of Object.entries(c.env ?? {})) {
        if (v === undefined) delete env[k];
        else env[k] = v;
      }
      const result = await runCli(c.args, env);
      expect(result.code, result.stderr).to.equal(2);
      const lines = result.stderr.trim().split("\n");
      expect(lines, result.stderr).to.have.length(1);
      expect(lines[0]).to.match(c.field);
      expect(result.stderr).not.to.match(/\n\s+at /);
      expect(result.stdout + result.stderr).not.to.include(SECRET);
    });
  }

  it("exits 2 with the usage when no command is given, 0 for --help", async () => {
    const none = await runCli([], validEnv);
    expect(none.code).to.equal(2);
    expect(none.stderr).to.match(/Usage: cxfr/);
    const help = await runCli(["--help"], validEnv);
    expect(help.code).to.equal(0);
    expect(help.stdout).to.match(/drain \[options\]/);
  });

  it("never prints the component secret, even with a connection failure", async () => {
    const result = await runCli(["check", "--json"], validEnv);
    expect(result.code).to.equal(3);
    expect(result.stdout + result.stderr).not.to.include(SECRET);
    expect(result.stdout + result.stderr).not.to.include("s3cret");
  });
});
