import { execFile } from "node:child_process";
import type { NodeMapSource } from "../config.ts";
import { ConnectError, ProtocolError } from "../errors.ts";

/** Full JID of each live session → the Erlang node (cluster member) that holds it. */
export type NodeMap = Map<string, string>;

export interface NodeMapReader {
  read(): Promise<NodeMap>;
}

// ejabberdctl connected_users_info columns (ejabberd 23.01): jid, connection, ip, port, priority, node,
// uptime, status, resource, statustext — tab-separated, one session per line.
const JID_COLUMN = 0;
const NODE_COLUMN = 5;

/** Reads `ejabberdctl connected_users_info` output; lines that do not have the expected shape are an error, not skipped. */
export function parseConnectedUsersInfo(text: string): NodeMap {
  const map: NodeMap = new Map();
  text.split("\n").forEach((line, i) => {
    if (line.trim() === "") return;
    const columns = line.split("\t");
    const jid = columns[JID_COLUMN] ?? "";
    const node = columns[NODE_COLUMN] ?? "";
    if (!jid.includes("@") || !jid.includes("/") || !node.includes("@")) throw new ProtocolError(`connected_users_info line ${i + 1}: expected "jid<TAB>…<TAB>node<TAB>…", got ${JSON.stringify(line.slice(0, 120))}`);
    map.set(jid, node);
  });
  return map;
}

/** mod_http_api's connected_users_info answer: a JSON list of objects with `jid` and `node`. */
export function parseHttpApiConnectedUsers(body: unknown): NodeMap {
  if (!Array.isArray(body)) throw new ProtocolError("connected_users_info over mod_http_api: expected a JSON list");
  const map: NodeMap = new Map();
  for (const entry of body as unknown[]) {
    const jid = (entry as { jid?: unknown } | null)?.jid;
    const node = (entry as { node?: unknown } | null)?.node;
    if (typeof jid !== "string" || typeof node !== "string") throw new ProtocolError("connected_users_info over mod_http_api: every entry needs string jid and node");
    map.set(jid, node);
  }
  return map;
}

/** Reads the node map from a co-located ejabberdctl or from mod_http_api; failures are ConnectErrors (retried by jobs). */
export function nodeMapReader(source: NodeMapSource, timeoutMs = 15_000): NodeMapReader {
  if (source.via === "ejabberdctl") {
    const args = [...(source.configDir !== undefined ? ["--config-dir", source.configDir] : []), "--node", source.node, "connected_users_info"];
    return {
      read: () =>
        new Promise((resolve, reject) => {
          execFile(source.path, args, { timeout: timeoutMs, maxBuffer: 256 * 1024 * 1024 }, (err, stdout, stderr) => {
            if (err) {
              const detail = (String(stderr).trim() || String(stdout).trim() || err.message).split("\n", 1)[0];
              reject(new ConnectError(`node map: ${source.path} connected_users_info on ${source.node} failed: ${detail}`));
              return;
            }
            try {
              resolve(parseConnectedUsersInfo(String(stdout)));
            } catch (parseError) {
              reject(parseError as Error);
            }
          });
        }),
    };
  }
  return {
    async read() {
      let response: Response;
      try {
        response = await fetch(`${source.url}/connected_users_info`, {
          method: "POST",
          headers: { "content-type": "application/json", ...(source.token ? { authorization: `Bearer ${source.token.reveal()}` } : {}) },
          body: "{}",
          signal: AbortSignal.timeout(timeoutMs),
        });
      } catch (err) {
        throw new ConnectError(`node map: ${source.url} unreachable: ${(err as Error).message}`);
      }
      if (!response.ok) throw new ConnectError(`node map: ${source.url}/connected_users_info answered HTTP ${response.status}`);
      return parseHttpApiConnectedUsers(await response.json().catch(() => undefined));
    },
  };
}
