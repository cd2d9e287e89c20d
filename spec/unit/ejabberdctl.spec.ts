import { expect } from "chai";
import { InputError } from "../../lib/errors.ts";
import { EjabberdControl } from "../../lib/servers/ejabberd-control.ts";
import { c2sPortsFromConfig, Ejabberdctl, ejabberdSeeOtherHost, parseConnectedUsersInfo, streamErrorXml, validateEjabberdctlConfig } from "../../lib/servers/ejabberdctl.ts";
import type { ExecFileRunner } from "../../lib/servers/exec.ts";
import { parseXml } from "../../lib/xmpp/stanza.ts";
import { thrownBy } from "./support/xml.ts";

const CONFIG = { path: "/usr/sbin/ejabberdctl", node: "ejabberd@ej1", configDir: "/etc/ejabberd" };

/** A fake runner that records every call and answers with `reply`. */
function recorder(reply = { code: 0, stdout: "", stderr: "" }) {
  const calls: Array<{ file: string; args: string[] }> = [];
  const exec: ExecFileRunner = async (file, args) => {
    calls.push({ file, args });
    return reply;
  };
  return { calls, exec };
}

describe("ejabberdctl", () => {
  it("passes a hostile resource as one argument, byte for byte, next to the escaped stream error", async () => {
    const { calls, exec } = recorder();
    const control = new EjabberdControl(new Ejabberdctl(CONFIG, exec));
    const resource = `'..os.execute("id")..' $(id) \`id\` ; rm -rf / "]]>`;
    const result = await control.seeOtherHost(`alice@localhost/${resource}`, { host: "127.0.0.2", port: 15222 });
    expect(result).to.deep.equal({ done: true });
    expect(calls).to.deep.equal([
      {
        file: "/usr/sbin/ejabberdctl",
        args: [
          "--config-dir", "/etc/ejabberd", "--node", "ejabberd@ej1", "send_stanza_c2s", "alice", "localhost", resource,
          "<stream:error xmlns:stream=\"http://etherx.jabber.org/streams\"><see-other-host xmlns=\"urn:ietf:params:xml:ns:xmpp-streams\">[127.0.0.2]:15222</see-other-host></stream:error>",
        ],
      },
    ]);
  });

  it("refuses an invalid or oversized JID before running anything", async () => {
    const { calls, exec } = recorder();
    const ctl = new Ejabberdctl(CONFIG, exec);
    for (const jid of ["alice@localhost", "a'b@localhost/r", "alice@localhost/a\nb", `alice@localhost/${"x".repeat(3000)}`, "alice@[evil/r"]) {
      const err = await ctl.sendStanzaC2s(jid, "<x/>").catch((e: unknown) => e);
      expect(err, jid.slice(0, 30)).to.be.instanceOf(InputError);
    }
    expect(calls).to.deep.equal([]);
  });

  it("validates the config fields, naming each", () => {
    expect(validateEjabberdctlConfig(CONFIG, "nodes[0].ejabberdctl")).to.equal(CONFIG);
    const node = thrownBy(() => validateEjabberdctlConfig({ ...CONFIG, node: "ej@h; id" }, "nodes[0].ejabberdctl")) as InputError;
    expect(node.field).to.equal("nodes[0].ejabberdctl.node");
    const dir = thrownBy(() => validateEjabberdctlConfig({ ...CONFIG, configDir: "etc\n/x" }, "nodes[0].ejabberdctl")) as InputError;
    expect(dir.field).to.equal("nodes[0].ejabberdctl.config_dir");
  });

  describe("ejabberdSeeOtherHost (p1_xmpp 1.6.1 rejects name:port)", () => {
    it("brackets an IPv4 or IPv6 address with its port", () => {
      expect(ejabberdSeeOtherHost({ host: "127.0.0.2", port: 15222 })).to.deep.equal({ text: "[127.0.0.2]:15222" });
      expect(ejabberdSeeOtherHost({ host: "::1", port: 25222 })).to.deep.equal({ text: "[::1]:25222" });
      expect(ejabberdSeeOtherHost({ host: "10.0.0.1" })).to.deep.equal({ text: "[10.0.0.1]:5222" });
    });

    it("sends a host name alone when the port is the default, and cannot send it with another port", () => {
      expect(ejabberdSeeOtherHost({ host: "ej2.example.com", port: 5222 })).to.deep.equal({ text: "ej2.example.com" });
      expect(ejabberdSeeOtherHost({ host: "ej2.example.com", port: 5223 })).to.have.property("why").that.includes("host name with a port");
    });

    it("so the channel reports the target unusable and runs nothing", async () => {
      const { calls, exec } = recorder();
      const control = new EjabberdControl(new Ejabberdctl(CONFIG, exec));
      expect(control.seeOtherHostProblem({ host: "ej2.example.com", port: 5223 })).to.be.a("string");
      expect(await control.seeOtherHost("alice@localhost/r1", { host: "ej2.example.com", port: 5223 })).to.have.property("done", false);
      expect(calls).to.deep.equal([]);
    });
  });

  it("reads the node's c2s listener ports from its ejabberd.yml", () => {
    const yml = "listen:\n  - { port: 5222, ip: '::', module: ejabberd_c2s }\n  - { port: 5269, module: ejabberd_s2s_in }\n  - { port: 5223, module: ejabberd_c2s, tls: true }\n";
    expect(c2sPortsFromConfig("/etc/x", (path) => (path === "/etc/x/ejabberd.yml" ? yml : ""))).to.deep.equal([5222, 5223]);
    expect(c2sPortsFromConfig("/etc/x", () => "listen: [")).to.deep.equal([]);
    expect(c2sPortsFromConfig("/nonexistent-dir")).to.deep.equal([]);
  });

  it("streamErrorXml escapes its content", () => {
    const text = streamErrorXml("see-other-host", "a</see-other-host><x/>&");
    expect(parseXml(text).getChildText("see-other-host", "urn:ietf:params:xml:ns:xmpp-streams")).to.equal("a</see-other-host><x/>&");
    expect(streamErrorXml("system-shutdown")).to.equal('<stream:error xmlns:stream="http://etherx.jabber.org/streams"><system-shutdown xmlns="urn:ietf:params:xml:ns:xmpp-streams"/></stream:error>');
  });

  it("parses connected_users_info rows (user, conn, ip, port, priority, node, …)", () => {
    const out = "bob@localhost/b1\tc2s\t127.0.0.1\t55860\t0\tej1@localhost\t2\tavailable\tb1\t\nalice@localhost/r 1\tc2s\t::ffff:10.0.0.5\t40000\t-1\tej2@localhost\t5\tunavailable\tr 1\t\n\n";
    expect(parseConnectedUsersInfo(out)).to.deep.equal([
      { jid: "bob@localhost/b1", ip: "127.0.0.1", port: 55860, node: "ej1@localhost" },
      { jid: "alice@localhost/r 1", ip: "10.0.0.5", port: 40000, node: "ej2@localhost" },
    ]);
  });

  it("reports send_stanza_c2s failures with ejabberdctl's text", async () => {
    const { exec } = recorder({ code: 1, stdout: "Error: error\n", stderr: "" });
    const control = new EjabberdControl(new Ejabberdctl(CONFIG, exec));
    expect(await control.shutdown("alice@localhost/r1")).to.deep.equal({ done: false, why: "ejabberdctl send_stanza_c2s: Error: error" });
  });
});
