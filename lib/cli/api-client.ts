import { ConnectError, CxfrError, ExitCode } from "../errors.ts";
import type { JobSpec } from "../jobs/job-schema.ts";
import type { JobSummary } from "../jobs/outcomes.ts";
import type { JobEvent } from "../jobs/runner.ts";
import type { Secret } from "../secret.ts";
import { presentJob } from "./job-output.ts";
import type { Output } from "./output.ts";

export interface ApiEndpoint {
  url: string;
  token?: Secret;
}

/** Exit codes for the API's error codes, so `--api` exits as a direct run would. */
const EXIT_BY_CODE: Record<string, number> = {
  invalid_input: ExitCode.usage,
  conflict: ExitCode.usage,
  not_found: ExitCode.usage,
  journal: ExitCode.usage,
  unauthorized: ExitCode.connect,
  shutting_down: ExitCode.connect,
};

/** An error the daemon reported, carrying the exit code a direct run would have given. */
export class ApiError extends CxfrError {
  constructor(code: string, message: string, field?: string) {
    super(message, EXIT_BY_CODE[code] ?? (code.startsWith("connect") || code === "timeout" || code === "not_authorized" ? ExitCode.connect : 1), code, field);
  }
}

/** Calls the daemon; a JSON error body becomes an ApiError with the daemon's message. */
export async function callApi(api: ApiEndpoint, method: string, path: string, body?: unknown): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(new URL(path, api.url.endsWith("/") ? api.url : `${api.url}/`), {
      method,
      headers: { ...(api.token ? { authorization: `Bearer ${api.token.reveal()}` } : {}), ...(body !== undefined ? { "content-type": "application/json" } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  } catch (err) {
    throw new ConnectError(`cannot reach the daemon at ${api.url}: ${(err as Error & { cause?: Error }).cause?.message ?? (err as Error).message}`);
  }
  if (response.ok) return response;
  const payload = (await response.json().catch(() => undefined)) as { error?: { code?: string; message?: string; field?: string } } | undefined;
  const error = payload?.error;
  throw new ApiError(error?.code ?? `http_${response.status}`, error?.message ?? `the daemon answered HTTP ${response.status}`, error?.field);
}

/** Reads a newline-delimited JSON stream line by line. */
export async function* jsonLines(response: Response): AsyncGenerator<Record<string, unknown>> {
  if (!response.body) return;
  const decoder = new TextDecoder();
  let partial = "";
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    partial += decoder.decode(chunk, { stream: true });
    const lines = partial.split("\n");
    partial = lines.pop() ?? "";
    for (const line of lines) if (line.trim() !== "") yield JSON.parse(line) as Record<string, unknown>;
  }
  if (partial.trim() !== "") yield JSON.parse(partial) as Record<string, unknown>;
}

/** Submits the job to the daemon and follows its events with the same output and exit code as a direct run. */
export async function runJobViaApi(out: Output, api: ApiEndpoint, spec: JobSpec): Promise<number> {
  const accepted = (await (await callApi(api, "POST", "v1/jobs", spec)).json()) as { id: string };
  const view = presentJob(out, Boolean(spec.dryRun));
  let interruptedHere = false;
  const onSignal = () => {
    interruptedHere = true;
    void callApi(api, "DELETE", `v1/jobs/${encodeURIComponent(accepted.id)}`).catch(() => undefined);
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    let summary: JobSummary | undefined;
    for await (const event of jsonLines(await callApi(api, "GET", `v1/jobs/${encodeURIComponent(accepted.id)}/events`))) {
      view.onEvent(event as unknown as JobEvent);
      if (event.event === "summary") summary = event as unknown as JobSummary;
    }
    const job = (await (await callApi(api, "GET", `v1/jobs/${encodeURIComponent(accepted.id)}`)).json()) as JobSummary & { state: string; error?: string | { code: string; message: string } };
    if (job.state === "failed") {
      // the daemon knows the error's code while it remembers the job; the journal keeps its message
      const error = typeof job.error === "object" ? job.error : { code: "job_failed", message: job.error ?? `job ${accepted.id} failed` };
      throw new ApiError(error.code, error.message);
    }
    const { state: _state, error: _error, ...counts } = job;
    return view.finish(summary ?? counts, interruptedHere || job.state === "cancelled" || job.state === "interrupted");
  } finally {
    view.stop();
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}
