import { pino, type Logger as PinoLogger } from "pino";

export type Logger = PinoLogger;

/** Paths whose values never reach a log line, whatever an object logged carries. */
const REDACT = ["secret", "token", "password", "authorization", "*.secret", "*.token", "*.password", "*.authorization", "req.headers.authorization", "headers.authorization", "config.nodes[*].secret", "config.api.token"];

/** The daemon's logger: JSON lines on the given stream (stdout by default), secrets redacted. */
export function createLogger(stream: NodeJS.WritableStream = process.stdout, level = process.env.CXFR_LOG_LEVEL ?? "info"): Logger {
  return pino({ level, base: { service: "cxfr" }, redact: { paths: REDACT, censor: "[redacted]" }, timestamp: pino.stdTimeFunctions.isoTime }, stream);
}
