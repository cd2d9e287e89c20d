// Config files (DESIGN §3 YAML) for lab fleets and clusters, written to a temp dir the caller removes.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { LabCluster } from "./lab/ejabberd-cluster.ts";
import type { LabServer } from "./lab/index.ts";

/** Standalone nodes named after `names`, each with its public c2s address. */
export function fleetConfig(dir: string, servers: Array<{ name: string; server: LabServer }>, domain = "localhost"): string {
  const path = join(dir, "fleet.yml");
  const nodes = servers.map(({ name, server }) => `  - { name: ${name}, server: "${server.componentAddress}", component: ${server.component}, secret: "${server.secret}", public: "${server.c2sAddress}" }`);
  writeFileSync(path, `domain: ${domain}\nnodes:\n${nodes.join("\n")}\n`);
  return path;
}

/**
 * One cluster, members ej1, ej2, …; node map from member 1's ejabberdctl (default), its mod_http_api, or none.
 * `memberCtl`: each member also gets its own ejabberdctl (see-other-host, close, reset).
 */
export function clusterConfig(dir: string, cluster: LabCluster, opts: { nodeMap?: boolean | "http_api"; file?: string; memberCtl?: boolean } = {}): string {
  const path = join(dir, opts.file ?? (opts.nodeMap === false ? "cluster-nomap.yml" : opts.nodeMap === "http_api" ? "cluster-http.yml" : "cluster.yml"));
  const first = cluster.members[0] as LabCluster["members"][number];
  const lines = [
    `domain: ${cluster.domain}`,
    "clusters:",
    `  - name: ${cluster.name.replace(/[^A-Za-z0-9._-]/g, "_")}`,
    `    server: "${first.server.componentAddress}"`,
    `    component: ${cluster.component}`,
    `    secret: "${cluster.secret}"`,
    ...(opts.nodeMap === false
      ? []
      : opts.nodeMap === "http_api"
        ? ["    node_map:", `      http_api: { url: "${first.httpApi ?? "(start the cluster with httpApi)"}" }`]
        : ["    node_map:", `      ejabberdctl: { path: /usr/sbin/ejabberdctl, node: "${first.erlangNode}", config_dir: "${first.configDir}" }`]),
    "    members:",
    ...cluster.members.map((m, i) => `      - { name: ej${i + 1}, erlang_node: "${m.erlangNode}", public: "${m.server.c2sAddress}"${opts.memberCtl ? `, ejabberdctl: { path: /usr/sbin/ejabberdctl, node: "${m.erlangNode}", config_dir: "${m.configDir}" }` : ""} }`),
  ];
  writeFileSync(path, `${lines.join("\n")}\n`);
  return path;
}
