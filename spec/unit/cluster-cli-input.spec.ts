// Bad input to the cluster commands: exit 2, one line naming the field, and nothing sent. The config
// points at a closed port: a command that tried to connect would exit 3 instead.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "chai";
import { runCli } from "../support/cli.ts";
import { specTempDir } from "../support/temp-dir.ts";

const dir = specTempDir("cxfr-cluster-cli");
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
const members = `    members:
      - { name: ej1, erlang_node: ejabberd@ej1, public: "127.0.0.1:1" }
      - { name: ej2, erlang_node: ejabberd@ej2, public: "127.0.0.1:2" }
`;
const link = `  - name: prod
    server: "127.0.0.1:1"
    component: cxfr.localhost
    secret: s3cret
`;
const withMap = file("map.yml", `domain: localhost\nclusters:\n${link}    node_map:\n      ejabberdctl: { node: ejabberd@ej1 }\n${members}`);
const noMap = file("nomap.yml", `domain: localhost\nclusters:\n${link}${members}`);
const noPublic = file("nopublic.yml", `domain: localhost\nnodes:\n  - { name: a, server: "127.0.0.1:1", component: cxfr.localhost, secret: s, public: "127.0.0.1:1" }\n  - { name: b, server: "127.0.0.1:1", component: cxfr.localhost, secret: s }\n`);
const badMap = file("homes.csv", "jid,node\nalice@localhost,ej1\nbob@localhost,ej9\n");
const env = { PATH: process.env.PATH };

const cases: Array<{ title: string; args: string[]; field: RegExp }> = [
  { title: "unknown node for --node", args: ["--config", withMap, "--node", "ej9", "drain", "--to", "ej1"], field: /^cxfr: error: --node: no node named "ej9"/ },
  { title: "unknown node for rebalance --to", args: ["--config", withMap, "rebalance", "--to", "ej9", "--count", "1"], field: /^cxfr: error: --to: no node named "ej9"/ },
  { title: "cluster member without a node map", args: ["--config", noMap, "--node", "ej2", "drain", "--to", "ej1"], field: /^cxfr: error: clusters\[0\]\.node_map: missing: ej2 is a member .* Add node_map: \{ ejabberdctl: \{ path: \/usr\/sbin\/ejabberdctl, node: ejabberd@ej2, config_dir: \/etc\/ejabberd \} \}/ },
  { title: "redirect on a cluster without a node map", args: ["--config", noMap, "redirect", "--ring"], field: /^cxfr: error: clusters\[0\]\.node_map: missing/ },
  { title: "rebalance on a cluster without a node map", args: ["--config", noMap, "rebalance", "--even"], field: /^cxfr: error: clusters\[0\]\.node_map: missing/ },
  { title: "a bad map line", args: ["--config", withMap, "redirect", "--map", badMap], field: /^cxfr: error: --map: .*homes\.csv line 3: no node named "ej9"/ },
  { title: "a map file that cannot be read", args: ["--config", withMap, "redirect", "--map", join(dir, "none.csv")], field: /^cxfr: error: --map: cannot read .*ENOENT/ },
  { title: "both --map and --ring", args: ["--config", withMap, "redirect", "--ring", "--map", badMap], field: /^cxfr: error: --map: give exactly one/ },
  { title: "neither --map nor --ring", args: ["--config", withMap, "redirect"], field: /^cxfr: error: --map: give exactly one/ },
  { title: "fraction 0", args: ["--config", withMap, "rebalance", "--to", "ej2", "--fraction", "0"], field: /^cxfr: error: --fraction: "0" is not a fraction in \(0, 1\]/ },
  { title: "fraction above 1", args: ["--config", withMap, "rebalance", "--to", "ej2", "--fraction", "1.5"], field: /^cxfr: error: --fraction:/ },
  { title: "negative fraction", args: ["--config", withMap, "rebalance", "--to", "ej2", "--fraction=-0.5"], field: /^cxfr: error: --fraction:/ },
  { title: "count 0", args: ["--config", withMap, "rebalance", "--to", "ej2", "--count", "0"], field: /^cxfr: error: --count: "0" is below the minimum 1/ },
  { title: "count and fraction", args: ["--config", withMap, "rebalance", "--to", "ej2", "--count", "3", "--fraction", "0.5"], field: /^cxfr: error: --count: give exactly one/ },
  { title: "negative tolerance", args: ["--config", withMap, "rebalance", "--even", "--tolerance=-1"], field: /^cxfr: error: --tolerance: "-1" is not a tolerance ≥ 0/ },
  { title: "tolerance without --even", args: ["--config", withMap, "rebalance", "--to", "ej2", "--count", "1", "--tolerance", "2"], field: /^cxfr: error: --tolerance: only with --even/ },
  { title: "--even with --to", args: ["--config", withMap, "rebalance", "--even", "--to", "ej2"], field: /^cxfr: error: --even: / },
  { title: "--node with rebalance (it acts on every node)", args: ["--config", withMap, "--node", "ej1", "rebalance", "--even"], field: /^cxfr: error: --node: rebalance acts on every configured node/ },
  { title: "a node without a public address", args: ["--config", noPublic, "redirect", "--ring"], field: /^cxfr: error: b\.public: node b has no public address/ },
];

describe("cluster commands: bad input", function () {
  this.timeout(20_000);
  for (const c of cases) {
    it(`${c.title}: exit 2, one line`, async () => {
      const r = await runCli(c.args, env);
      expect(r.code, r.stderr).to.equal(2);
      expect(r.stdout).to.equal("");
      expect(r.stderr.trimEnd().split("\n")).to.have.length(1);
      expect(r.stderr).to.match(c.field);
    });
  }
});
