import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "chai";
import { loadConfig } from "../../lib/config.ts";
import { InputError } from "../../lib/errors.ts";
import { isAdminAccountSession } from "../../lib/link/admin-account.ts";
import { dialects } from "../../lib/servers/dialects.ts";
import { specTempDir } from "../support/temp-dir.ts";

const dir = specTempDir("cxfr-admin-config");
const baseEnv = { CXFR_SERVER: "10.0.0.11:5347", CXFR_COMPONENT: "cxfr.example.com", CXFR_COMPONENT_SECRET: "s", CXFR_DOMAIN: "example.com" };

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe("admin account configuration", () => {
  it("defaults the c2s address to the component listener's host, port 5222", () => {
    const config = loadConfig({ env: { ...baseEnv, CXFR_ADMIN_JID: "boss@example.com", CXFR_ADMIN_PASSWORD: "pw" } });
    expect(config.nodes[0]?.admin?.server).to.deep.equal({ host: "10.0.0.11", port: 5222 });
    expect(config.nodes[0]?.admin?.password.reveal()).to.equal("pw");
    expect(JSON.stringify(config)).not.to.include('"pw"');
  });

  it("takes CXFR_ADMIN_SERVER, with 5222 when it names no port", () => {
    const env = { ...baseEnv, CXFR_ADMIN_JID: "boss@example.com", CXFR_ADMIN_PASSWORD: "pw" };
    expect(loadConfig({ env: { ...env, CXFR_ADMIN_SERVER: "xmpp.example.com:5322" } }).nodes[0]?.admin?.server).to.deep.equal({ host: "xmpp.example.com", port: 5322 });
    expect(loadConfig({ env: { ...env, CXFR_ADMIN_SERVER: "[::1]" } }).nodes[0]?.admin?.server).to.deep.equal({ host: "::1", port: 5222 });
  });

  it("reads nodes[i].admin.server from the file; without it the default follows CXFR_SERVER", () => {
    const path = file("a.yml", [
      "domain: example.com",
      "nodes:",
      "  - { name: a, server: 10.0.0.11:5347, component: cxfr.example.com, secret: s, admin: { jid: boss@example.com, password: pw, server: 10.0.0.21 } }",
      "  - { name: b, server: 10.0.0.12:5347, component: cxfr.example.com, secret: s, admin: { jid: boss@example.com, password: pw } }",
      "",
    ].join("\n"));
    const config = loadConfig({ file: path, env: {} });
    expect(config.nodes.map((n) => n.admin?.server)).to.deep.equal([{ host: "10.0.0.21", port: 5222 }, { host: "10.0.0.12", port: 5222 }]);
    const moved = loadConfig({ file: path, env: { CXFR_NODE: "b", CXFR_SERVER: "10.0.0.99:5347" } });
    expect(moved.nodes[1]?.admin?.server).to.deep.equal({ host: "10.0.0.99", port: 5222 });
  });

  it("names the field of a bad admin server", () => {
    const path = file("bad.yml", "domain: example.com\nnodes:\n  - { name: a, server: 10.0.0.11:5347, component: cxfr.example.com, secret: s, admin: { jid: boss@example.com, password: pw, server: 'a b' } }\n");
    expect(() => loadConfig({ file: path, env: {} })).to.throw(InputError, /^nodes\[0\]\.admin\.server: /);
  });

  it("recognises only cxfr's own sessions of the admin account", () => {
    expect(isAdminAccountSession({ bare: "boss@example.com", resource: "cxfr-admin-0a1b2c3d" }, "boss@example.com")).to.equal(true);
    expect(isAdminAccountSession({ bare: "boss@example.com", resource: "desk" }, "boss@example.com")).to.equal(false);
    expect(isAdminAccountSession({ bare: "alice@example.com", resource: "cxfr-admin-0a1b2c3d" }, "boss@example.com")).to.equal(false);
  });

  it("prints the server config that makes the account an admin", () => {
    expect(dialects.prosody.adminSnippet("boss@example.com", "account")).to.include('admins = { "boss@example.com" }');
    expect(dialects.ejabberd.adminSnippet("boss@example.com", "account")).to.include("user: [boss@example.com]");
    expect(dialects.ejabberd.adminSnippet("cxfr.example.com")).to.include("server: [cxfr.example.com]");
  });
});
