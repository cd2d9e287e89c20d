import type { Element } from "@xmpp/xml";
import { ConnectError, StanzaError } from "../errors.ts";
import type { HostPort } from "../xmpp/address.ts";
import { buildTransferIq } from "../xmpp/transfer.ts";
import type { Attempt, Method, Reply, SessionRef } from "./method.ts";
import { nextStanzaId } from "../xmpp/stanza-id.ts";

/** The part of the component link the packet needs. */
export interface PacketLink {
  readonly component: string;
  /** Resolves once the server processed the stanza and kept the stream (lib/link/link.ts). */
  sendChecked(el: Element): Promise<void>;
  exchange(iq: Element, timeoutMs?: number): { written: Promise<void>; reply: Promise<Element> };
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
 * to the server and is lost; the link confirms the stream survived the write (a server that refuses the domain closes
 * the stream with invalid-from instead — then the packet was never delivered: FromDomainRefusedError).
 */
export class CxfrMethod implements Method {
  readonly name = "cxfr" as const;

  constructor(private readonly o: CxfrMethodOptions) {}

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
      id: nextStanzaId(),
      to: session.jid,
      from: o.from === "domain" ? o.domain : o.link.component,
      domain: o.packetDomain ?? o.domain,
      server: target,
    });
    if (o.from === "domain") {
      try {
        await o.link.sendChecked(iq);
      } catch (err) {
        // Written, but the link went down before the confirmation: it may have been delivered. Never send it twice.
        if (err instanceof ConnectError && err.code === "unconfirmed") return { status: "sent" };
        throw err;
      }
      return { status: "sent" };
    }
    const { written, reply } = o.link.exchange(iq, o.replyTimeoutMs);
    await written;
    return { status: "sent", reply: reply.then(() => ({ kind: "acked" }) as Reply, (err: unknown) => (err instanceof StanzaError ? replyOfError(err) : ({ kind: "no-reply" } as Reply))) };
  }
}
