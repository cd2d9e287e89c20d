import { inspect } from "node:util";

const REDACTED = "[redacted]";

/** A secret value that prints as [redacted] in logs, JSON, errors and util.inspect; only reveal() gives the value. */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return REDACTED;
  }
}
