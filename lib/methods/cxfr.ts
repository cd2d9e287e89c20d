import { randomBytes } from "node:crypto";
import xml from "@xmpp/xml";
import type { Element } from "@xmpp/xml";
import { ConnectError, FromDomainRefusedError, StanzaError } from "../errors.ts";
import type { HostPort } from "../xmpp/address.ts";
import { buildTransferIq } from "../xmpp/transfer.ts";
import type { Attempt, Method, Reply, SessionRef } from "./method.ts";

/** The part of the component link the packet needs. */
export interface PacketLink {
  readonly component: string;
  send(el: Element): Promise<void>;
  exchange(iq: Element, timeoutMs?: number): { written: Promise<void>; reply: Promise<Element> };
  request(iq: Element, timeoutMs?: number): Promise<Element>;
  on(event: "stream-error", listener: (condition: string) => void): unknown;
}


export interface CxfrMethodOptions {
  link: PacketLink;
  /** The users' domain: the packet's `from` in domain mode. */
  domain: string;
  /** `<domain>` inside the packet (default: the users' domain). */
  packetDomain?: string;
  from: "domain" | "component";
  /** How long to wait for the client's answer (the grace). */
  replyTimeoutMs: number;
  /** Server text to allow stanzas from the users' domain (named in the error when the server refuses them). */
  fromDomainSnippet: string;
}

/**
 * Error conditions a client uses to say "I will not do this" (XEP-0051 §3, RFC 6120 §8.3.3): the chain moves on
 * at once. Anything else (a `wait` such as unexpected-request during a move) is not a refusal.
 */
const REFUSALS = new Set(["feature-not-implemented", "service-unavailable", "forbidden", "not-allowed", "not-acceptable", "bad-request", "item-not-found", "recipient-unavailable"]);

export function replyOfError(err: StanzaError): Reply {
  if (err.errorType === "wait") return { kind: "wait", condition: err.condition };
  if (err.errorType === "cancel" || err.errorType === "auth" || REFUSALS.has(err.condition)) return { kind: "rejected", condition: err.condition };
  return { kind: "wait", condition: err.condition };
}

/**
 * XEP-0051 packet. From the component, the client's answer says what it did. From the users' domain the answer goes
 * to the server and is lost; a ping after the writes proves the stream survived them (a server that refuses the
 * domain closes the stream with invalid-from instead — then the packets were never delivered).
 */
export class CxfrMethod implements Method {
  readonly name = "cxfr" as const;
  private invalidFromSeen = false;
  private barrier: Promise<void> | undefined;

  constructor(private readonly o: CxfrMethodOptions) {
    o.link.on("stream-error", (condition) => {
      if (condition === "invalid-from") this.invalidFromSeen = true;
    });
  }

  get from(): "domain" | "component" {
    return this.o.from;
  }

  /** After the server refused the domain: send from the component from now on. */
  useComponent(): void {
    this.o.from = "component";
  }

  async apply(session: SessionRef, target: HostPort): Promise<Attempt> {
    const o = this.o;
    const iq = buildTransferIq({
      id: `cxfr-${randomBytes(6).toString("hex")}`,
      to: session.jid,
      from: o.from === "domain" ? o.domain : o.link.component,
      domain: o.packetDomain ?? o.domain,
      server: target,
    });
    if (o.from === "domain") {
      await o.link.send(iq); // rejects with ConnectError when it never left
      await this.survived();
      return { status: "sent" };
    }
    const { written, reply } = o.link.exchange(iq, o.replyTimeoutMs);
    await written;
    return { status: "sent", reply: reply.then(() => ({ kind: "acked" }) as Reply, (err: unknown) => (err instanceof StanzaError ? replyOfError(err) : ({ kind: "no-reply" } as Reply))) };
  }

  /** Resolves once a ping written after the packet is answered; packets written meanwhile share the ping. */
  private async survived(): Promise<void> {
    this.barrier ??= Promise.resolve().then(async () => {
      this.barrier = undefined;
      const ping = xml("iq", { type: "get", to: this.o.domain }, xml("ping", { xmlns: "urn:xmpp:ping" }));
      await this.o.link.request(ping, this.o.replyTimeoutMs);
    });
    try {
      await this.barrier;
    } catch (err) {
      if (err instanceof ConnectError && this.invalidFromSeen) throw new FromDomainRefusedError(this.o.fromDomainSnippet);
      // A stanza error or a timeout still means the stream is up; a drop for another reason leaves it unknown.
    }
  }
}
