import type { MethodName } from "../methods/method.ts";
import type { AutoRateCause } from "./auto-rate.ts";
import type { JobSummary } from "./outcomes.ts";
import type { JobState } from "./journal-port.ts";

/** Fields every event carries. */
interface Stamp {
  ts: string;
  job: string;
}

/** What a job tells its watchers (CLI progress, --json lines, the API's event stream, metrics), one type per event. */
export type JobEventBody =
  | { event: "started"; kind: string; node: string; targets: string[]; from: string; methods: MethodName[]; dry_run: boolean; resumed: number }
  | { event: "job"; state: JobState }
  | { event: "scan"; sessions: number }
  | { event: "scan-failed"; attempt: number; reason: string }
  | { event: "planned"; jid: string; target: string }
  /** redirect, rebalance: how many sessions the plan moves (and, for --even, the counts it starts from and aims at). */
  | { event: "plan"; kind: string; planned: number; counts?: Record<string, number>; mean?: number; tolerance?: number; goal?: Record<string, number> }
  | { event: "announced" }
  | { event: "waiting"; ms: number }
  | { event: "link"; state: "down" | "up"; reason?: string }
  | { event: "from"; from: "component"; reason: string }
  /** `--rate auto`: the rate (sessions per second) from now on, and why it changed. */
  | { event: "rate"; rate: number; previous: number; change: "start" | "raise" | "cut"; cause: AutoRateCause; reason: string }
  /** A method was applied to a session (kept as `sent` for the packet and `kick` for the kick, as scripts read them). */
  | { event: "sent" | "kick" | "applied"; jid: string; method: MethodName; target: string }
  /** A method could not act on a session (no channel, no permission …); the chain moves on. */
  | { event: "unavailable"; jid: string; method: MethodName; reason: string }
  | { event: "acked" | "rejected" | "wait" | "no-reply"; jid: string; condition?: string }
  /** After reset: the client is back on another node; the session it left here was ended with this method. */
  | { event: "leftover"; jid: string; method: MethodName }
  | { event: "moved" | "kicked" | "failed" | "skipped" | "remaining"; jid: string; method?: MethodName; reason?: string; after_ms?: number }
  /** `--rate auto` to configured nodes: the user is listed on a target, `after_ms` after its method (within a listing round). */
  | { event: "back"; jid: string; after_ms: number }
  | ({ event: "summary" } & JobSummary);

export type JobEvent = Stamp & JobEventBody;
export type JobEventName = JobEventBody["event"];
