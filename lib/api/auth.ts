import { createHash, timingSafeEqual } from "node:crypto";
import type { RequestHandler } from "express";
import { CxfrError, ExitCode } from "../errors.ts";
import type { Secret } from "../secret.ts";

export class UnauthorizedError extends CxfrError {
  constructor(message: string) {
    super(message, ExitCode.connect, "unauthorized");
  }
}

const digest = (text: string) => createHash("sha256").update(text).digest();

/**
 * `Authorization: Bearer <token>` on every route it guards. Both sides are hashed first so the comparison
 * takes the same time whatever the length or content of the guess.
 */
export function bearerAuth(token: Secret | undefined): RequestHandler {
  const expected = token ? digest(token.reveal()) : undefined;
  return (req, _res, next) => {
    if (!expected) return next();
    const match = /^Bearer (.+)$/.exec(req.get("authorization") ?? "");
    if (!match || !timingSafeEqual(digest(match[1] as string), expected)) return next(new UnauthorizedError("missing or wrong bearer token"));
    next();
  };
}

/** Whether a listen host is only reachable from this machine. */
export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
}
