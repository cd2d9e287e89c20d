import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "chai";
import { loadConfig } from "../../lib/config.ts";
import { InputError } from "../../lib/errors.ts";
import { specTempDir } from "../support/temp-dir.ts";

const dir = specTempDir("cxfr-channel-config");

function load(nodeExtra: string): ReturnType<typeof loadConfig> {
  const path = join(dir, "c.yml");
  writeFileSync(path, `domain: example.com\nnodes:\n  - { name: a, server: 10.0.0.11:5347, component: cxfr.example.com, secret: s, ${nodeExtra} }\n`);
  return loadConfig({ file: path, env: {} });
}

function fieldOf(nodeExtra: string): string | undefined {
  try {
    load(nodeExtra);
    return undefined;
  } catch (err) {
    expect(err).to.be.instanceOf(InputError);
    return (err as InputError).field;
  }
}

describe("per-node channel configuration", () => {
  it("reads admin_socket and ejabberdctl { path, node, config_dir }", () => {
    expect(load("admin_socket: /var/lib/prosody/prosody.sock").nodes[0]?.adminSocket).to.equal("/var/lib/prosody/prosody.sock");
    expect(load("ejabberdctl: { path: /opt/bin/ejabberdctl, node: ejabberd@ej1, config_dir: /opt/etc }").nodes[0]?.ejabberdctl).to.deep.equal({ path: "/opt/bin/ejabberdctl", node: "ejabberd@ej1", configDir: "/opt/etc" });
  });

  it("defaults ejabberdctl's path and config_dir to Debian's", () => {
    expect(load("ejabberdctl: { node: ejabberd@ej1 }").nodes[0]?.ejabberdctl).to.deep.equal({ path: "/usr/sbin/ejabberdctl", node: "ejabberd@ej1", configDir: "/etc/ejabberd" });
  });

  it("names the field of every bad value", () => {
    expect(fieldOf("admin_socket: relative/prosody.sock")).to.equal("nodes[0].admin_socket");
    expect(fieldOf("ejabberdctl: { node: 'ej@h; reboot' }")).to.equal("nodes[0].ejabberdctl.node");
    expect(fieldOf("ejabberdctl: { path: ejabberdctl, node: ej@h }")).to.equal("nodes[0].ejabberdctl.path");
    expect(fieldOf("ejabberdctl: { node: ej@h, confdir: /etc }")).to.equal("nodes[0].ejabberdctl.confdir");
    expect(fieldOf("ejabberdctl: { path: /x }")).to.equal("nodes[0].ejabberdctl.node");
    expect(fieldOf("ejabberdctl: ej@h")).to.equal("nodes[0].ejabberdctl");
  });
});

describe("a cluster member's own ejabberdctl", () => {
  const cluster = (member: string) => {
    const path = join(dir, "cluster.yml");
    writeFileSync(path, `domain: example.com\nclusters:\n  - name: prod\n    server: 10.0.0.21:5347\n    component: cxfr.example.com\n    secret: s\n    members:\n      - { name: ej1, erlang_node: ejabberd@ej1 }\n      - { name: ej2, erlang_node: ejabberd@ej2, ${member} }\n`);
    return loadConfig({ file: path, env: {} });
  };

  it("is read per member; a member without one has none", () => {
    const config = cluster("ejabberdctl: { node: ejabberd@ej2, config_dir: /etc/ej2 }");
    expect(config.nodes.map((n) => n.ejabberdctl)).to.deep.equal([undefined, { path: "/usr/sbin/ejabberdctl", node: "ejabberd@ej2", configDir: "/etc/ej2" }]);
  });

  it("names the member's field when a value is bad", () => {
    try {
      cluster("ejabberdctl: { node: 'ej@h; reboot' }");
      expect.fail("accepted a bad node name");
    } catch (err) {
      expect((err as InputError).field).to.equal("clusters[0].members[1].ejabberdctl.node");
    }
  });
});
