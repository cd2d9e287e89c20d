import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "chai";
import { loadConfig } from "../../lib/config.ts";
import { StanzaError } from "../../lib/errors.ts";
import { clusterLocator } from "../../lib/cluster/locate.ts";
import { parseConnectedUsersInfo, parseHttpApiConnectedUsers } from "../../lib/cluster/node-map.ts";
import { parseRunningNodes, runningNodes } from "../../lib/cluster/running-nodes.ts";
import { parseXml } from "../../lib/xmpp/stanza.ts";
import { CONNECTED_USERS_INFO_LAB, CONNECTED_USERS_INFO_RESEARCH, RUNNING_NODES_RESULT } from "../fixtures/ejabberd-cluster.ts";
import { specTempDir } from "../support/temp-dir.ts";

const dir = specTempDir("cxfr-cluster-unit");
function config(text: string) {
  const path = join(dir, `c${Math.random().toString(16).slice(2)}.yml`);
  writeFileSync(path, text);
  return loadConfig({ file: path, env: {} });
}
const CLUSTER = `domain: example.com
clusters:
  - name: prod
    server: 10.0.0.21:5347
    component: cxfr.example.com
    secret: s3cret
    node_map:
      ejabberdctl: { path: /usr/sbin/ejabberdctl, node: ejabberd@ej1, config_dir: /etc/ejabberd }
    members:
      - { name: ej1, erlang_node: ejabberd@ej1, public: ej1.example.com:5222 }
      - { name: ej2, erlang_node: ejabberd@ej2, public: ej2.example.com:5222, weight: 2 }
`;

describe("clusters", () => {
  describe("node map", () => {
    it("reads ejabberdctl connected_users_info (research cluster)", () => {
      expect([...parseConnectedUsersInfo(CONNECTED_USERS_INFO_RESEARCH)]).to.deep.equal([
        ["bob@localhost/r2", "ejabberd2@localhost"],
        ["bob@localhost/r1", "ejabberd2@localhost"],
        ["alice@localhost/a1", "ejabberd1@localhost"],
      ]);
    });
    it("reads long node names (lab cluster) and an empty listing", () => {
      expect([...parseConnectedUsersInfo(CONNECTED_USERS_INFO_LAB).values()]).to.deep.equal(["cxfrlab_cluster1_f4b115@127.0.0.2", "cxfrlab_cluster1_f4b115@127.0.0.3"]);
      expect(parseConnectedUsersInfo("").size).to.equal(0);
    });
    it("refuses output of another shape, naming the line", () => {
      expect(() => parseConnectedUsersInfo(`${CONNECTED_USERS_INFO_LAB}Error: command failed\n`)).to.throw(/line 3/);
    });
    it("reads mod_http_api's JSON and refuses other shapes", () => {
      expect([...parseHttpApiConnectedUsers([{ jid: "a@x/r", node: "ejabberd@ej1", ip: "::1" }])]).to.deep.equal([["a@x/r", "ejabberd@ej1"]]);
      expect(() => parseHttpApiConnectedUsers({ error: 1 })).to.throw(/JSON list/);
      expect(() => parseHttpApiConnectedUsers([{ jid: "a@x/r" }])).to.throw(/jid and node/);
    });
  });

  describe("running nodes (XMPP detection)", () => {
    it("reads the member names from disco#items node 'running nodes'", () => {
      const query = parseXml(RUNNING_NODES_RESULT).getChild("query", "http://jabber.org/protocol/disco#items");
      expect(parseRunningNodes(query as NonNullable<typeof query>)).to.deep.equal(["ejabberd1@localhost", "ejabberd2@localhost"]);
    });
    it("is undefined when the server has no such node (Prosody answers item-not-found)", async () => {
      expect(await runningNodes(() => Promise.reject(new StanzaError("item-not-found", "cancel")), "example.com")).to.equal(undefined);
    });
  });

  describe("config", () => {
    it("makes each member a node sharing the cluster's link", () => {
      const c = config(CLUSTER);
      expect(c.nodes.map((n) => [n.name, n.server, n.component, n.erlangNode, n.public, n.weight, n.cluster?.name])).to.deep.equal([
        ["ej1", { host: "10.0.0.21", port: 5347 }, "cxfr.example.com", "ejabberd@ej1", { host: "ej1.example.com", port: 5222 }, undefined, "prod"],
        ["ej2", { host: "10.0.0.21", port: 5347 }, "cxfr.example.com", "ejabberd@ej2", { host: "ej2.example.com", port: 5222 }, 2, "prod"],
      ]);
      expect(c.clusters[0]?.nodeMap).to.deep.equal({ via: "ejabberdctl", path: "/usr/sbin/ejabberdctl", node: "ejabberd@ej1", configDir: "/etc/ejabberd" });
      expect(c.clusters[0]?.members).to.deep.equal(["ej1", "ej2"]);
    });
    const bad: Array<[string, string, RegExp]> = [
      ["member without erlang_node", CLUSTER.replace("erlang_node: ejabberd@ej2, ", ""), /^clusters\[0\]\.members\[1\]\.erlang_node: missing/],
      ["bad erlang node", CLUSTER.replace("erlang_node: ejabberd@ej2", "erlang_node: ej2"), /members\[1\]\.erlang_node: "ej2" is not an Erlang node name/],
      ["unknown member key", CLUSTER.replace("weight: 2", "wieght: 2"), /members\[1\]\.wieght: unknown setting/],
      ["both node map sources", CLUSTER.replace("config_dir: /etc/ejabberd }", "config_dir: /etc/ejabberd }\n      http_api: { url: http://x/api, token_file: /nope }"), /node_map: give exactly one/],
      ["no members", CLUSTER.replace(/ {4}members:[\s\S]*$/, ""), /clusters\[0\]\.members: list each member/],
      ["zero weight", CLUSTER.replace("weight: 2", "weight: 0"), /members\[1\]\.weight: must be a positive number/],
      ["duplicate name", CLUSTER.replace("name: ej2", "name: ej1"), /duplicate node name "ej1"/],
      ["http_api url", CLUSTER.replace(/ejabberdctl: \{.*\}/, "http_api: { url: ftp://x, token_file: /nope }"), /http_api\.url: "ftp:\/\/x" is not an http\(s\) URL/],
    ];
    for (const [title, text, error] of bad) it(`refuses ${title}, naming the field`, () => expect(() => config(text)).to.throw(error));
  });

  it("locates sessions by member; one in the listing but not (yet) in the map is left out", async () => {
    const members = config(CLUSTER).nodes;
    const list = async () => ["a@example.com/1", "b@example.com/1", "c@example.com/1"].map((jid) => ({ jid, bare: jid.split("/")[0] as string, resource: "1" }));
    const map = new Map([["a@example.com/1", "ejabberd@ej1"], ["b@example.com/1", "ejabberd@ej2"], ["x@example.com/1", "ejabberd@ej2"]]);
    const located = await clusterLocator(members, list, { read: async () => map })();
    expect(located.map((l) => [l.session.jid, l.node, l.configured])).to.deep.equal([["a@example.com/1", "ej1", true], ["b@example.com/1", "ej2", true]]);
  });
});
