import type { Element } from "@xmpp/xml";
import { TimeoutError } from "../errors.ts";
import { stanzaErrorOf } from "../xmpp/stanza.ts";
import { canonicalJid } from "../xmpp/jid.ts";
import { nextStanzaId } from "../xmpp/stanza-id.ts";

interface Waiter {
  /** Canonical JID the IQ went to: only an answer from it settles the waiter. */
  to: string | undefined;
  resolve: (el: Element) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

/**
 * IQs awaiting their answer on one connection, matched by id and by sender (RFC 6120 §8.2.3: the answer comes from
 * the entity the request was addressed to), so another entity cannot answer for it by guessing an id; shared by the component link and the admin account. */
export class PendingIqs {
  private readonly waiters = new Map<string, Waiter>();

  /**
   * Sends `iq` with `write` and tracks its answer. `written` rejects (and `reply` with it) when the IQ never left;
   * `reply` resolves the result <iq>, rejects with StanzaError on an error answer, TimeoutError after timeoutMs.
   */
  exchange(iq: Element, timeoutMs: number, write: (iq: Element) => Promise<void>): { written: Promise<void>; reply: Promise<Element> } {
    const id = (iq.attrs.id ??= nextStanzaId()) as string;
    let written!: Promise<void>;
    const reply = new Promise<Element>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(id);
        reject(new TimeoutError(`iq ${iq.getChildElements()[0]?.name ?? ""} to ${String(iq.attrs.to)}`, timeoutMs));
      }, timeoutMs);
      const to = typeof iq.attrs.to === "string" ? canonicalJid(iq.attrs.to) : undefined;
      this.waiters.set(id, { to, resolve, reject, timer });
      written = write(iq).catch((err: Error) => {
        clearTimeout(timer);
        this.waiters.delete(id);
        reject(err);
        throw err;
      });
    });
    written.catch(() => undefined);
    return { written, reply };
  }

  /** Settles the waiter an incoming result/error IQ answers; false when it answers nothing of ours. */
  settle(el: Element): boolean {
    if (el.name !== "iq" || (el.attrs.type !== "result" && el.attrs.type !== "error")) return false;
    const waiter = this.waiters.get(String(el.attrs.id));
    if (!waiter || !answersFrom(el, waiter.to)) return false;
    this.waiters.delete(String(el.attrs.id));
    clearTimeout(waiter.timer);
    if (el.attrs.type === "result") waiter.resolve(el);
    else waiter.reject(stanzaErrorOf(el));
    return true;
  }

  rejectAll(err: Error): void {
    for (const [id, waiter] of this.waiters) {
      clearTimeout(waiter.timer);
      waiter.reject(err);
      this.waiters.delete(id);
    }
  }
}

/** Whether `reply` comes from `to`; a request without `to` (to our own account) may be answered without `from`. */
function answersFrom(reply: Element, to: string | undefined): boolean {
  const from: unknown = reply.attrs.from;
  if (to === undefined) return true;
  return typeof from === "string" && canonicalJid(from) === to;
}
