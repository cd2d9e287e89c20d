// One benchmark client on a raw socket: thousands of these fit in one process, where @xmpp/client
// sessions cost far more. Many logins run at once; each one waits for the stream features before SASL
// and before binding (resource binding and initial presence go in one write).
// Behaviours:
//   "move":  on a transfer packet (urn:xmpp:cxfr), answers it, closes, and logs in to the server it
//            names with the same account (SCRAM-SHA-1, as against a real server)
//   "plain": knows nothing of transfers; when the server ends its stream (a kick, a node stopping), it
//            reconnects to the configured target after a client-like random backoff
// Every session records timestamps (ms, performance.now() of this process) for the benchmark.
import { connect, type Socket } from "node:net";
import xml, { Parser, type Element } from "@xmpp/xml";
import { scramSha1 } from "./scram.ts";

const NS_STREAM = "http://etherx.jabber.org/streams";
const NS_SASL = "urn:ietf:params:xml:ns:xmpp-sasl";
const NS_BIND = "urn:ietf:params:xml:ns:xmpp-bind";
const NS_CXFR = "urn:xmpp:cxfr";

export interface Endpoint {
  host: string;
  port: number;
  domain: string;
}

export type Mechanism = "PLAIN" | "SCRAM-SHA-1";
/**
 * move: answers the packet, closes and logs in to the target. plain: ignores it and logs in to the target after a
 * kick. refuse: answers it with service-unavailable and stays, as a client without XEP-0051 does (RFC 6120 §8.4);
 * every packet's arrival is kept, so one load serves several turns of packets without logging in again.
 */
export type Behaviour = "move" | "plain" | "refuse";

export interface SessionTimes {
  /** first login started / bound (on the source node) */
  loginStart?: number;
  online?: number;
  /** transfer packet received (move) */
  packetAt?: number;
  /** every transfer packet received, in order (refuse) */
  packets?: number[];
  /** connection to the source node closed, by us (move) or by the server (plain) */
  leftAt?: number;
  /** the login that finally succeeded on the target: started / bound */
  targetStart?: number;
  targetOnline?: number;
  /** login attempts on the target (1 when the first one worked) */
  targetAttempts: number;
}

function streamHeader(domain: string): string {
  const header = xml("stream:stream", { to: domain, version: "1.0", xmlns: "jabber:client", "xmlns:stream": NS_STREAM });
  return `<?xml version='1.0'?>${header.toString().slice(0, -2)}>`;
}

/** One XML stream on one socket, from connect to online (bound, presence sent). */
class Connection {
  readonly socket: Socket;
  private parser = new Parser();
  private onStanza: (el: Element) => void = () => undefined;
  private closedHandlers: Array<() => void> = [];
  private closed = false;
  jid = "";
  /** When the socket delivered the chunk being parsed (performance.now()). */
  dataAt = 0;

  constructor(ep: Endpoint) {
    this.socket = connect({ host: ep.host, port: ep.port });
    this.socket.setNoDelay(true);
    this.socket.on("error", () => undefined);
    this.socket.on("data", (chunk: Buffer) => {
      this.dataAt = performance.now();
      try {
        this.parser.write(chunk.toString("utf8"));
      } catch {
        this.socket.destroy();
      }
    });
    this.socket.on("close", () => {
      this.closed = true;
      for (const h of this.closedHandlers) h();
    });
    this.attachParser();
  }

  private attachParser(): void {
    this.parser.on("element", (el: Element) => this.onStanza(el));
    this.parser.on("end", () => this.socket.end());
    this.parser.on("error", () => this.socket.destroy());
  }

  onClose(handler: () => void): void {
    if (this.closed) handler();
    else this.closedHandlers.push(handler);
  }

  /** Logs in and binds `resource`; resolves when bound and presence is sent. */
  login(ep: Endpoint, user: string, password: string, resource: string, mechanism: Mechanism, timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let done = false;
      const finish = (err?: Error) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        if (err) {
          this.socket.destroy();
          reject(err);
        } else resolve();
      };
      const timer = setTimeout(() => finish(new Error(`login timed out after ${timeoutMs} ms`)), timeoutMs);
      this.onClose(() => finish(new Error("closed during login")));
      const scram = mechanism === "SCRAM-SHA-1" ? scramSha1(user, password) : undefined;
      const initial = scram ? scram.first : Buffer.from(`\0${user}\0${password}`).toString("base64");
      let authenticated = false;
      this.socket.once("connect", () => this.socket.write(streamHeader(ep.domain)));
      this.onStanza = (el) => {
        if (el.is("features", NS_STREAM)) {
          // Waiting for the features costs one loopback round trip; ejabberd 23.01 loses about one
          // login in a hundred when <auth> arrives in the same packet as the stream header.
          const bind = xml("iq", { type: "set", id: "bind" }, xml("bind", { xmlns: NS_BIND }, xml("resource", {}, resource)));
          this.socket.write(authenticated ? bind.toString() + xml("presence").toString() : xml("auth", { xmlns: NS_SASL, mechanism }, initial).toString());
        } else if (el.is("challenge", NS_SASL) && scram) {
          scram.final(el.text()).then(
            (response) => this.socket.write(xml("response", { xmlns: NS_SASL }, response).toString()),
            (err: Error) => finish(err),
          );
        } else if (el.is("success", NS_SASL)) {
          // RFC 6120 §6.4.6: a new stream over the same socket; the old parser's root is gone
          this.parser.removeAllListeners();
          this.parser = new Parser();
          this.attachParser();
          authenticated = true;
          this.socket.write(streamHeader(ep.domain));
        } else if (el.is("failure", NS_SASL)) {
          finish(new Error(`SASL failure: ${el.children.map((c) => (typeof c === "string" ? c : c.name)).join(" ")}`));
        } else if (el.is("iq") && el.attrs.id === "bind") {
          if (el.attrs.type !== "result") return finish(new Error(`bind failed: ${el.toString()}`));
          this.jid = el.getChild("bind", NS_BIND)?.getChildText("jid") ?? "";
          this.onStanza = () => undefined;
          finish();
        } else if (el.is("error", NS_STREAM)) {
          finish(new Error(`stream error: ${el.children.map((c) => (typeof c === "string" ? c : c.name)).join(" ")}`));
        }
      };
    });
  }

  /**
   * Starts SCRAM and stops at the server's challenge: the client now knows this server's salt and has derived
   * its SaltedPassword (scram.ts keeps it), as a client that logged in there before would have.
   */
  learnSalt(ep: Endpoint, user: string, password: string, timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => done(new Error(`SCRAM challenge timed out after ${timeoutMs} ms`)), timeoutMs);
      const done = (err?: Error) => {
        clearTimeout(timer);
        this.socket.destroy();
        if (err) reject(err);
        else resolve();
      };
      this.onClose(() => done(new Error("closed before the SCRAM challenge")));
      const scram = scramSha1(user, password);
      this.socket.once("connect", () => this.socket.write(streamHeader(ep.domain)));
      this.onStanza = (el) => {
        if (el.is("features", NS_STREAM)) this.socket.write(xml("auth", { xmlns: NS_SASL, mechanism: "SCRAM-SHA-1" }, scram.first).toString());
        else if (el.is("challenge", NS_SASL)) scram.final(el.text()).then(() => done(), done);
        else if (el.is("failure", NS_SASL) || el.is("error", NS_STREAM)) done(new Error(`no SCRAM challenge: ${el.toString()}`));
      };
    });
  }

  /** Stanzas after login. */
  listen(handler: (el: Element) => void): void {
    this.onStanza = handler;
  }

  close(): void {
    if (this.closed) return;
    this.socket.end("</stream:stream>");
    setTimeout(() => this.socket.destroy(), 1000).unref();
  }
}

export interface SessionOptions {
  user: string;
  password: string;
  resource: string;
  behaviour: Behaviour;
  /** where plain clients reconnect to (move clients go where the packet says) */
  target: Endpoint;
  /** ms to wait before a plain client's first reconnect; doubled (capped at 30 s) after each failure */
  backoffMs: () => number;
  loginTimeoutMs?: number;
  /**
   * How long one login to the target may take before the client gives up and tries again (default 15 s, as
   * clients' connect timeouts go). When 1,000 clients reconnected at once, some logins got no answer at all:
   * 86 and 139 clients of one turn each waited out a 60 s timeout (session 11).
   */
  targetLoginTimeoutMs?: number;
}

export class RawSession {
  times: SessionTimes = { targetAttempts: 0 };
  jid = "";
  state: "idle" | "source" | "away" | "target" | "failed" | "stopped" = "idle";
  error = "";
  private conn: Connection | undefined;
  private readonly listeners: Array<(s: RawSession) => void> = [];

  constructor(readonly o: SessionOptions) {}

  /** Called when the session reaches the target (or gives up). */
  onSettled(listener: (s: RawSession) => void): void {
    this.listeners.push(listener);
  }

  /** First login, on the source node (PLAIN: the benchmark is about moving, not about this login). */
  async loginSource(ep: Endpoint, mechanism: Mechanism = "PLAIN"): Promise<void> {
    this.times.loginStart = performance.now();
    const conn = new Connection(ep);
    this.conn = conn;
    await conn.login(ep, this.o.user, this.o.password, this.o.resource, mechanism, this.o.loginTimeoutMs ?? 60_000);
    this.times.online = performance.now();
    this.jid = conn.jid;
    this.state = "source";
    conn.listen((el) => this.onSourceStanza(conn, el));
    conn.onClose(() => this.onSourceClosed());
  }

  /**
   * A moving client that reached its target takes the next transfer packet there, as it did on its source: the
   * benchmark's next turn moves it back without logging N clients in again. Its timestamps and last login error
   * start afresh, and the listeners of the turn before are dropped. False (and nothing changes) when it is not on a target.
   */
  rearm(): boolean {
    const conn = this.conn;
    if (this.state !== "target" || this.o.behaviour !== "move" || !conn) return false;
    this.times = { targetAttempts: 0, online: this.times.targetOnline };
    this.error = "";
    this.listeners.length = 0;
    this.state = "source";
    conn.listen((el) => this.onSourceStanza(conn, el));
    conn.onClose(() => this.onSourceClosed());
    return true;
  }

  /** Learns the target's SCRAM salt ahead of the move (see Connection.learnSalt). */
  async learnTargetSalt(ep: Endpoint = this.o.target): Promise<void> {
    await new Connection(ep).learnSalt(ep, this.o.user, this.o.password, this.o.loginTimeoutMs ?? 60_000);
  }

  private onSourceStanza(conn: Connection, el: Element): void {
    if (!el.is("iq") || el.attrs.type !== "set") return;
    const query = el.getChild("query", NS_CXFR);
    if (query && this.o.behaviour === "refuse") return this.refuse(conn, el);
    if (!query || this.o.behaviour !== "move" || this.state !== "source") return;
    // When the packet reached this client, not when this process got round to it: the sockets that are readable
    // together are read one after another in one turn, so the move itself (answer, close, connect to the target)
    // waits for the next turn instead of delaying the other clients' timestamps, which would measure this process.
    this.times.packetAt = conn.dataAt;
    this.state = "away";
    setImmediate(() => this.move(conn, el, query));
  }

  private refuse(conn: Connection, el: Element): void {
    (this.times.packets ??= []).push(conn.dataAt);
    const error = xml("error", { type: "cancel" }, xml("service-unavailable", { xmlns: "urn:ietf:params:xml:ns:xmpp-stanzas" }));
    const reply = xml("iq", { type: "error", id: String(el.attrs.id), ...(el.attrs.from ? { to: String(el.attrs.from) } : {}) }, error);
    setImmediate(() => conn.socket.write(reply.toString()));
  }

  private move(conn: Connection, el: Element, query: Element): void {
    const reply = xml("iq", { type: "result", id: String(el.attrs.id), ...(el.attrs.from ? { to: String(el.attrs.from) } : {}) });
    conn.socket.write(reply.toString());
    this.times.leftAt = performance.now();
    conn.close();
    const server = query.getChildText("server")?.trim() ?? "";
    const colon = server.lastIndexOf(":");
    const ep: Endpoint = {
      host: colon > 0 ? server.slice(0, colon) : server,
      port: colon > 0 ? Number(server.slice(colon + 1)) : 5222,
      domain: query.getChildText("domain")?.trim() || this.o.target.domain,
    };
    void this.reachTarget(ep, 0);
  }

  private onSourceClosed(): void {
    if (this.state !== "source") return;
    // the server ended the stream: a kick or a node going down
    this.state = "away";
    this.times.leftAt = performance.now();
    if (this.o.behaviour === "plain") void this.reachTarget(this.o.target, this.o.backoffMs());
    else this.settle("failed", "closed by the server without a transfer packet");
  }

  private async reachTarget(ep: Endpoint, firstDelayMs: number): Promise<void> {
    let delay = firstDelayMs;
    for (let attempt = 1; attempt <= 8; attempt++) {
      if (delay > 0) await new Promise((r) => setTimeout(r, delay));
      if (this.state === "stopped") return;
      this.times.targetAttempts = attempt;
      this.times.targetStart = performance.now();
      const conn = new Connection(ep);
      this.conn = conn;
      try {
        await conn.login(ep, this.o.user, this.o.password, this.o.resource, "SCRAM-SHA-1", this.o.targetLoginTimeoutMs ?? 15_000);
        this.times.targetOnline = performance.now();
        this.jid = conn.jid;
        this.settle("target");
        return;
      } catch (err) {
        this.error = (err as Error).message;
        delay = Math.min(30_000, Math.max(1000, delay * 2));
      }
    }
    this.settle("failed", this.error);
  }

  private settle(state: "target" | "failed", error = ""): void {
    if (this.state === "stopped") return;
    this.state = state;
    if (error) this.error = error;
    for (const l of this.listeners) l(this);
  }

  stop(): void {
    this.state = "stopped";
    this.conn?.close();
  }
}
