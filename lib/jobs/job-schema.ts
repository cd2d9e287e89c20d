import { z } from "zod";
import { InputError } from "../errors.ts";
import { JOB_KINDS } from "./job-defaults.ts";

export * from "./job-defaults.ts";

const numberOrText = z.union([z.number(), z.string()]);

/** A job as the HTTP API takes it (DESIGN §3): the CLI's option names in camelCase, the command as `kind`. */
const jobBodySchema = z.strictObject({
  kind: z.enum(JOB_KINDS),
  node: z.string().min(1).optional(),
  to: z.array(z.string()).min(1),
  /** `transfer`: the full JIDs of the sessions to move. */
  jids: z.array(z.string()).min(1).optional(),
  rate: numberOrText.optional(),
  maxRate: numberOrText.optional(),
  burst: numberOrText.optional(),
  jitter: numberOrText.optional(),
  maxInFlight: numberOrText.optional(),
  wait: numberOrText.optional(),
  grace: numberOrText.optional(),
  deadline: numberOrText.optional(),
  fallback: z.string().optional(),
  method: z.union([z.string(), z.array(z.string())]).optional(),
  announce: z.string().optional(),
  exclude: z.array(z.string()).optional(),
  dryRun: z.boolean().optional(),
  follow: z.boolean().optional(),
  targetCheck: z.boolean().optional(),
  from: z.string().optional(),
  domain: z.string().optional(),
});

/** A validated job request; it is also what the journal stores as the job's spec, so a resumed job reads it again. */
export type JobSpec = z.infer<typeof jobBodySchema>;

/** Checks the shape of a body; values are checked when the job is built (same parsers as the flags). */
export function parseJobBody(body: unknown): JobSpec {
  if (typeof body !== "object" || body === null || Array.isArray(body)) throw new InputError("body", "must be a JSON object");
  const result = jobBodySchema.safeParse(body);
  if (result.success) {
    if (result.data.kind === "transfer" && result.data.jids === undefined) throw new InputError("jids", "a transfer needs the full JIDs of its sessions");
    return result.data;
  }
  const issue = result.error.issues[0] as z.core.$ZodIssue;
  const unknownKey = issue.code === "unrecognized_keys" ? issue.keys[0] : undefined;
  const field = unknownKey ?? (issue.path.length > 0 ? issue.path.map((p, i) => (typeof p === "number" ? `[${p}]` : `${i > 0 ? "." : ""}${String(p)}`)).join("") : "body");
  const message = unknownKey !== undefined ? "unknown field" : issue.code === "invalid_type" && issue.input === undefined ? "missing" : issue.message;
  throw new InputError(field, message);
}
