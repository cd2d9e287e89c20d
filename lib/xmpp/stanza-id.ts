import { randomBytes } from "node:crypto";

// A random prefix per process and a counter: ids stay unguessable to anyone outside this process, and a drain of
// thousands of sessions does not ask the system for random bytes once per packet. Answers are matched by id and by
// sender (PendingIqs), so a client that saw one id gains nothing by predicting the next.
const prefix = randomBytes(8).toString("hex");
let counter = 0;

/** A new stanza id: `cxfr-<random>-<n>`. */
export function nextStanzaId(): string {
  counter += 1;
  return `cxfr-${prefix}-${counter.toString(36)}`;
}
