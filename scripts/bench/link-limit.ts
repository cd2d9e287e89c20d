// The component link's own limit: a minimal raw XEP-0114 component sends N transfer IQs at once
// (pipelined) and counts the replies. The IQs go to resources that are not online, so the server
// itself answers each one (an error), the way it answers a packet to a session that has just left:
// what is measured is the link plus the server's routing, nothing of cxfr and nothing of clients.
import { createHash } from "node:crypto";
import { connect } from "node:net";
import xml, { Parser, type Element } from "@xmpp/xml";
import { buildTransferIq } from "../../lib/xmpp/transfer.ts";

const NS_STREAM = "http://etherx.jabber.org/streams";

export interface LinkLimitOptions {
  host: string;
  port: number;
  component: string;
  secret: string;
  /** users' domain; the IQs go to <user>@domain/<absent resource> */
  domain: string;
  users: string[];
  count: number;
  timeoutMs?: number;
  /** Instead of absent resources: these live full JIDs, one IQ each (a raw component's dispatch to real clients). */
  to?: string[];
  /** the `<server>` the packets name (default 127.0.0.1:5222) */
  server?: { host: string; port: number };
  /**
   * Who the packets come from: the component (default; each answer comes back and is counted) or the users' domain
   * (the answers go to the server: a ping to the component itself after the packets tells when the server took them all).
   */
  from?: "component" | "domain";
}

export interface LinkLimit {
  sent: number;
  answered: number;
  /** from the first write to the last reply (ms) */
  elapsedMs: number;
  /** answered IQs per second */
  perSecond: number;
}

/** A bare component sends the transfer packet once to each of these live full JIDs on `source`, naming `target`'s c2s address; undefined when nothing answered. */
export function rawTransferPackets(source: { host: string; componentPort: number; component: string; secret: string; domain: string }, target: { host: string; c2sPort: number }, jids: string[], from: "component" | "domain" = "component"): Promise<LinkLimit | undefined> {
  return measureLinkLimit({ host: source.host, port: source.componentPort, component: source.component, secret: source.secret, domain: source.domain, users: [], count: jids.length, to: jids, server: { host: target.host, port: target.c2sPort }, timeoutMs: 30_000, from }).catch(() => undefined);
}

export function measureLinkLimit(o: LinkLimitOptions): Promise<LinkLimit> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: o.host, port: o.port });
    socket.setNoDelay(true);
    const parser = new Parser();
    let started = 0;
    let answered = 0;
    const finish = (err?: Error) => {
      clearTimeout(timer);
      socket.end("</stream:stream>");
      socket.destroy();
      if (err) reject(err);
      else {
        const elapsedMs = performance.now() - started;
        resolve({ sent: o.count, answered, elapsedMs, perSecond: (answered / elapsedMs) * 1000 });
      }
    };
    const timer = setTimeout(() => finish(answered > 0 ? undefined : new Error("link limit: no replies")), o.timeoutMs ?? 60_000);
    socket.on("error", (err) => finish(err));
    socket.on("data", (chunk: Buffer) => {
      try {
        parser.write(chunk.toString("utf8"));
      } catch (err) {
        finish(err as Error);
      }
    });
    socket.once("connect", () => {
      const header = xml("stream:stream", { to: o.component, xmlns: "jabber:component:accept", "xmlns:stream": NS_STREAM });
      socket.write(`<?xml version='1.0'?>${header.toString().slice(0, -2)}>`);
    });
    parser.on("start", (el: Element) => {
      const digest = createHash("sha1").update(`${String(el.attrs.id)}${o.secret}`).digest("hex");
      socket.write(xml("handshake", {}, digest).toString()); // XEP-0114 §3
    });
    parser.on("element", (el: Element) => {
      if (el.is("handshake")) {
        started = performance.now();
        const chunks: string[] = [];
        for (let i = 0; i < o.count; i++) {
          const user = o.users[i % o.users.length] as string;
          const to = o.to?.[i] ?? `${user}@${o.domain}/absent-${i}`;
          const iq = buildTransferIq({ to, from: o.from === "domain" ? o.domain : o.component, domain: o.domain, server: o.server ?? { host: "127.0.0.1", port: 5222 }, id: `lim${i}` });
          chunks.push(iq.toString());
        }
        if (o.from === "domain") chunks.push(xml("iq", { type: "get", from: o.component, to: o.component, id: "taken" }, xml("ping", { xmlns: "urn:xmpp:ping" })).toString());
        socket.write(chunks.join(""));
      } else if (el.is("iq") && el.attrs.id === "taken") {
        // the ping comes to us as a request first; its answer means the server took every packet before it
        // (`answered` stays 0: the clients' answers went to the server)
        if (el.attrs.type === "get") socket.write(xml("iq", { type: "result", from: o.component, to: o.component, id: "taken" }).toString());
        else finish();
      } else if (el.is("iq") && String(el.attrs.id).startsWith("lim")) {
        if (++answered === o.count) finish();
      } else if (el.is("error", NS_STREAM)) {
        finish(new Error(`link limit: stream error ${el.toString()}`));
      }
    });
  });
}
