// Simulated users for transfer specs: "handler" clients run cxfr/client's transfer handler; "plain" clients
// know nothing of transfers and, when their connection drops, reconnect to the next node of a list — the
// way a client behind a load balancer that has stopped sending users to the drained node would.
import type { Element } from "@xmpp/xml";
import { handleTransfers, type TransferHandler } from "../../lib/client/index.ts";
import { loginClient, type LabClient, type LabServer } from "./lab/index.ts";

export type MemberKind = "handler" | "plain";

export interface FleetMember {
  kind: MemberKind;
  user: string;
  jid: string;
  client: LabClient;
  handler?: TransferHandler;
  /** transfer packets this session received */
  packets: number;
  /** bodies of headline messages (announcements) received */
  headlines: string[];
  /** ms timestamps */
  packetAt?: number;
  leftAt?: number;
  backOnlineAt?: number;
  /** c2s port of the server the client is connected to now, if online */
  port(): number | undefined;
}

export interface FleetOptions {
  on: LabServer;
  /** nodes plain clients cycle through after a disconnect */
  reconnectTo: LabServer[];
  handlers: number;
  plain: number;
  /** JIDs handler clients accept transfers from besides their own domain (e.g. the component) */
  trusted?: string[];
  /** first user index; users are u<index>, password pw-u<index> */
  firstUser?: number;
}

export function fleetUsers(count: number, first = 1): Array<{ user: string; password: string }> {
  return Array.from({ length: count }, (_, i) => ({ user: `u${first + i}`, password: `pw-u${first + i}` }));
}

const NS_CXFR = "urn:xmpp:cxfr";

export async function startFleet(options: FleetOptions): Promise<FleetMember[]> {
  const users = fleetUsers(options.handlers + options.plain, options.firstUser ?? 1);
  // alternate the kinds so both are spread over the send order
  const kinds: MemberKind[] = [];
  for (let handlers = options.handlers, plain = options.plain; handlers + plain > 0; ) {
    if (handlers > 0 && (kinds.length % 2 === 0 || plain === 0)) {
      kinds.push("handler");
      handlers--;
    } else {
      kinds.push("plain");
      plain--;
    }
  }
  return Promise.all(users.map((u, i) => startMember(u.user, u.password, kinds[i] as MemberKind, options)));
}

async function startMember(user: string, password: string, kind: MemberKind, options: FleetOptions): Promise<FleetMember> {
  const client = await loginClient(options.on, { user, password, resource: "fleet", presence: {}, reconnect: true });
  const xmpp = client.xmpp;
  const member: FleetMember = {
    kind,
    user,
    jid: client.jid,
    client,
    packets: 0,
    headlines: [],
    port: () => {
      const socket = (xmpp as unknown as { socket?: { remotePort?: number } }).socket;
      return xmpp.status === "online" ? socket?.remotePort : undefined;
    },
  };
  xmpp.on("stanza", (el: Element) => {
    if (el.name === "iq" && el.attrs.type === "set" && el.getChild("query", NS_CXFR)) {
      member.packets++;
      member.packetAt ??= Date.now();
    }
    if (el.name === "message" && el.attrs.type === "headline") member.headlines.push(el.getChildText("body") ?? "");
  });
  xmpp.on("disconnect", () => {
    member.leftAt ??= Date.now();
  });
  xmpp.on("online", () => {
    if (member.leftAt !== undefined) member.backOnlineAt ??= Date.now();
  });
  if (kind === "handler") {
    member.handler = handleTransfers(xmpp, { trusted: options.trusted ?? [] });
  } else {
    let next = 0;
    xmpp.on("disconnect", () => {
      const node = options.reconnectTo[next++ % options.reconnectTo.length] as LabServer;
      xmpp.options.service = `xmpp://${node.c2sAddress}`;
    });
  }
  return member;
}

export function stopFleet(members: FleetMember[]): Promise<unknown> {
  return Promise.all(members.map((m) => {
    m.handler?.stop();
    return m.client.stop();
  }));
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}
