// Clients that watch what cxfr does to them, from their own side: every transfer packet and every end of a
// connection, per connection. The fault specs judge cxfr by these, not by what cxfr says it did.
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import xml from "@xmpp/xml";
import { loginClient, type LabClient, type LabServer } from "../support/lab/index.ts";

const NS_CXFR = "urn:xmpp:cxfr";
const NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas";

/** How a witness answers a transfer packet: not at all, "try later", or a definite no. */
export type Answer = "silent" | "wait" | "refuse";

export interface Connection {
  onlineAt: number;
  packets: number[];
  endedAt?: number;
  /** ended by a server restart the spec made, not by cxfr */
  byRestart?: boolean;
}

export interface Witness {
  jid: string;
  connections: Connection[];
  stop(): Promise<void>;
}

/** `reconnects`: how many times the client logs in again (same resource) after its connection ends; default 0. */
export async function startWitness(server: LabServer, opts: { user: string; resource?: string; answer?: Answer; reconnects?: number }): Promise<Witness> {
  const client: LabClient = await loginClient(server, { user: opts.user, password: `pw-${opts.user}`, resource: opts.resource ?? "w", presence: {}, reconnect: (opts.reconnects ?? 0) > 0 });
  const connections: Connection[] = [{ onlineAt: Date.now(), packets: [] }];
  const current = () => connections.at(-1) as Connection;
  let stopping = false;
  const answer = opts.answer ?? "silent";
  client.xmpp.iqCallee.set(NS_CXFR, "query", () => {
    current().packets.push(Date.now());
    if (answer === "wait") return xml("error", { type: "wait" }, xml("unexpected-request", { xmlns: NS_STANZAS }));
    if (answer === "refuse") return xml("error", { type: "cancel" }, xml("feature-not-implemented", { xmlns: NS_STANZAS }));
    return new Promise<never>(() => undefined);
  });
  const ended = () => {
    if (!stopping && current().endedAt === undefined) current().endedAt = Date.now();
  };
  // The server closing the stream (status "close") is the moment the session ended; Prosody drops the socket
  // only ~5 s later.
  client.xmpp.on("status", (status: string) => {
    if (status === "close") ended();
  });
  client.xmpp.on("disconnect", ended);
  let reconnects = opts.reconnects ?? 0;
  client.xmpp.on("disconnect", () => {
    if (reconnects-- <= 0) client.xmpp.reconnect.stop();
  });
  client.xmpp.on("online", () => {
    if (current().endedAt !== undefined) connections.push({ onlineAt: Date.now(), packets: [] });
  });
  return {
    jid: client.jid,
    connections,
    stop: () => {
      stopping = true;
      return client.stop();
    },
  };
}

/** Marks the connections that ended between `from` and `to` (ms timestamps) as ended by a server restart. */
export function markEndedBetween(witnesses: Witness[], from: number, to: number): void {
  for (const w of witnesses) for (const c of w.connections) if (c.endedAt !== undefined && c.endedAt >= from && c.endedAt <= to) c.byRestart = true;
}

/**
 * The promises every fault row checks from the clients' side: no connection got a second packet (unless the
 * client asked for a retry), and none was ended by cxfr without its own packet and the whole grace after it
 * (a definite refusal may be ended at once).
 */
export function checkWitnesses(witnesses: Witness[], graceMs: number, opts: { answer?: Answer } = {}): void {
  const slackMs = 250;
  for (const w of witnesses) {
    for (const [i, c] of w.connections.entries()) {
      const where = `${w.jid} connection ${i + 1}`;
      if (opts.answer !== "wait" && c.packets.length > 1) throw new Error(`${where} got ${c.packets.length} packets`);
      if (c.endedAt === undefined || c.byRestart) continue;
      const first = c.packets[0];
      if (first === undefined) throw new Error(`${where} was ended without a packet`);
      if (opts.answer !== "refuse" && c.endedAt - first < graceMs - slackMs) throw new Error(`${where} was ended ${c.endedAt - first} ms after its packet, before the ${graceMs} ms grace`);
    }
  }
}

export function kicked(witnesses: Witness[]): number {
  return witnesses.filter((w) => w.connections.some((c) => c.endedAt !== undefined && !c.byRestart)).length;
}

/** Rewrites the lab server's component secret in its config files (restart() then uses the new one). */
export function rotateSecret(server: LabServer): void {
  const fresh = randomBytes(16).toString("hex");
  for (const name of readdirSync(server.dir)) {
    if (!/\.(cfg\.lua|yml|yaml)$/.test(name)) continue;
    const file = join(server.dir, name);
    const text = readFileSync(file, "utf8");
    if (text.includes(server.secret)) writeFileSync(file, text.split(server.secret).join(fresh));
  }
}
