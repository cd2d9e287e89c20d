import { z } from "zod";
import { InputError } from "../errors.ts";
import { JOB_KINDS, PLANNED_KINDS } from "./job-defaults.ts";

export * from "./job-defaults.ts";

const numberOrText = z.union([z.number(), z.string()]);

/** A job as the HTTP API takes it (DESIGN §3): the CLI's option names in camelCase, the command as `kind`. */
const jobBodySchema = z.strictObject({
  kind: z.enum(JOB_KINDS),
  node: z.string().min(1).optional(),
  /** drain, transfer: targets; rebalance: the one receiving node (a string or a one-item list). */
  to: z.preprocess((v) => (typeof v === "string" ? [v] : v), z.array(z.string()).min(1)).optional(),
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
  /** redirect: the home map as CSV text (`jid,node` lines; the CLI reads it from --map FILE). */
  map: z.string().optional(),
  /** redirect: home by weighted rendezvous hashing over the configured nodes. */
  ring: z.boolean().optional(),
  /** rebalance --to: how many sessions, or what share of all, the node should hold. */
  count: numberOrText.optional(),
  fraction: numberOrText.optional(),
  /** rebalance: even out the nodes, each within `tolerance` (sessions, or "10%" of the mean). */
  even: z.boolean().optional(),
  tolerance: numberOrText.optional(),
});

/** A validated job request; it is also what the journal stores as the job's spec, so a resumed job reads it again. */
export type JobSpec = z.infer<typeof jobBodySchema>;

/** Checks the shape of a body; values are checked when the job is built (same parsers as the flags). */
export function parseJobBody(body: unknown): JobSpec {
  if (typeof body !== "object" || body === null || Array.isArray(body)) throw new InputError("body", "must be a JSON object");
  const result = jobBodySchema.safeParse(body);
  if (result.success) {
    const spec = result.data;
    if (spec.kind === "transfer" && spec.jids === undefined) throw new InputError("jids", "a transfer needs the full JIDs of its sessions");
    const planned = (PLANNED_KINDS as readonly string[]).includes(spec.kind);
    if (!planned && spec.to === undefined) throw new InputError("to", "missing");
    if (planned && spec.node !== undefined) throw new InputError("node", `${spec.kind} acts on every configured node; leave node out`);
    return spec;
  }
  const issue = result.error.issues[0] as z.core.$ZodIssue;
  const unknownKey = issue.code === "unrecognized_keys" ? issue.keys[0] : undefined;
  const field = unknownKey ?? (issue.path.length > 0 ? issue.path.map((p, i) => (typeof p === "number" ? `[${p}]` : `${i > 0 ? "." : ""}${String(p)}`)).join("") : "body");
  const message = unknownKey !== undefined ? "unknown field" : issue.code === "invalid_type" && issue.input === undefined ? "missing" : issue.message;
  throw new InputError(field, message);
}
