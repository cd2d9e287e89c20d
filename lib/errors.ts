/** Exit codes from DESIGN.md §3; every error the program reports carries one. */
export const ExitCode = {
  ok: 0,
  incomplete: 1,
  usage: 2,
  connect: 3,
  interrupted: 130,
} as const;

export class CxfrError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
    readonly code: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** Bad input from a user: a flag, a config value, an API body. Names the field. */
export class InputError extends CxfrError {
  constructor(field: string, message: string) {
    super(`${field}: ${message}`, ExitCode.usage, "invalid_input", field);
  }
}

/** The server cannot be reached, refused the handshake, or the link went away. */
export class ConnectError extends CxfrError {
  constructor(message: string, code = "connect_failed") {
    super(message, ExitCode.connect, code);
  }
}

/** The server answered but does not let us do what we need (admin rights, from-domain). */
export class NotAuthorizedError extends CxfrError {
  constructor(message: string) {
    super(message, ExitCode.connect, "not_authorized");
  }
}

/** An IQ got no answer in time. */
export class TimeoutError extends CxfrError {
  constructor(what: string, ms: number) {
    super(`${what}: no answer within ${ms} ms`, ExitCode.connect, "timeout");
  }
}

/** An IQ was answered with an error stanza. */
export class StanzaError extends CxfrError {
  constructor(
    readonly condition: string,
    readonly errorType: string,
    readonly text?: string,
  ) {
    super(text ? `${condition}: ${text}` : condition, ExitCode.connect, "stanza_error");
  }
}

export class InterruptedError extends CxfrError {
  constructor() {
    super("interrupted", ExitCode.interrupted, "interrupted");
  }
}

/** An ad-hoc command ran but reported failure (a note of type error, or status canceled). */
export class CommandError extends CxfrError {
  constructor(
    readonly node: string,
    readonly text: string,
  ) {
    super(`${node}: ${text}`, ExitCode.connect, "command_failed");
  }
}

/** The server answered with something that does not follow the protocol we expect. */
export class ProtocolError extends CxfrError {
  constructor(message: string) {
    super(message, ExitCode.connect, "protocol_error");
  }
}

/**
 * A connection that will not come back by retrying: the server refused it for a reason a retry cannot fix
 * (not-authorized: secret rotated; host-unknown; conflict: another instance holds the component). Final: exit 3.
 * A NotAuthorizedError, so whatever stops on a refused login stops on this too.
 */
export class LinkFailedError extends NotAuthorizedError {
  constructor(
    message: string,
    readonly condition: string,
  ) {
    super(message);
  }
}

/**
 * The server closed the component stream with `invalid-from` after a stanza from the users' domain: it does not
 * let this component send from the domain. `fix` is the server config that would allow it.
 */
export class FromDomainRefusedError extends CxfrError {
  constructor(
    readonly server: string,
    readonly fix: string,
  ) {
    super(`${server} does not let this component send from the users' domain (stream closed with invalid-from); to allow it, add to the server config: ${fix}`, ExitCode.connect, "from_domain_refused");
  }
}

/** The job journal cannot be opened, read or written: nothing is sent without it. */
export class JournalError extends CxfrError {
  constructor(message: string) {
    super(message, ExitCode.usage, "journal");
  }
}

/** A node is held by another running job (one job per node). Names that job. */
export class ConflictError extends CxfrError {
  constructor(
    message: string,
    readonly job: string,
  ) {
    super(message, ExitCode.usage, "conflict");
  }
}

/** A job (or other record) named by the user does not exist. */
export class NotFoundError extends CxfrError {
  constructor(field: string, message: string) {
    super(message, ExitCode.usage, "not_found", field);
  }
}
