import type { ErrorRequestHandler } from "express";
import { CxfrError } from "../errors.ts";
import type { Logger } from "./log.ts";

const STATUS_BY_CODE: Record<string, number> = {
  invalid_input: 400,
  unauthorized: 401,
  not_found: 404,
  conflict: 409,
  too_large: 413,
  shutting_down: 503,
  link_down: 503,
};

/** Every error as `{"error": {"code", "message", "field"}}` (DESIGN §3) with its HTTP status. */
export function errorHandler(log: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    const http = err as { type?: string; status?: number };
    let code: string;
    let message: string;
    let field: string | undefined;
    if (err instanceof CxfrError) {
      code = err.code;
      message = err.message;
      field = err.field;
    } else if (http.type === "entity.too.large") {
      code = "too_large";
      message = "body: larger than the limit";
      field = "body";
    } else if (http.type === "entity.parse.failed" || http.type === "charset.unsupported" || http.type === "encoding.unsupported") {
      code = "invalid_input";
      message = "body: not valid JSON";
      field = "body";
    } else {
      code = "internal";
      message = "internal error";
      log.error({ err, method: req.method, path: req.path }, "request failed");
    }
    const status = STATUS_BY_CODE[code] ?? (err instanceof CxfrError && err.exitCode === 3 ? 502 : 500);
    res.status(status).json({ error: { code, message, ...(field !== undefined ? { field } : {}) } });
  };
}
