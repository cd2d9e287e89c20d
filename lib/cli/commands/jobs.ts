import { existsSync } from "node:fs";
import { ExitCode, NotFoundError } from "../../errors.ts";
import { jobView, sessionView } from "../../store/views.ts";
import { Journal } from "../../store/journal.ts";
import { callApi } from "../api-client.ts";
import type { CommandContext } from "../program.ts";
import { resumeJobHere } from "../run-job.ts";

/** `cxfr jobs` lists jobs, newest first; `cxfr jobs ID` shows one with its per-session outcomes. */
export async function jobsCommand(ctx: CommandContext, id: string | undefined): Promise<number> {
  const { jobs, sessions } = await readJobs(ctx, id);
  if (ctx.out.options.json) {
    for (const s of sessions) ctx.out.event(s);
    for (const j of jobs) ctx.out.event(j);
    return ExitCode.ok;
  }
  if (id === undefined && jobs.length === 0) {
    ctx.out.line("no jobs");
    return ExitCode.ok;
  }
  if (id === undefined) {
    ctx.out.table(
      ["ID", "KIND", "NODES", "STATE", "TARGETED", "MOVED", "KICKED", "FAILED", "REMAINING", "CREATED"],
      jobs.map((j) => [j.job, j.kind, (j.nodes as string[]).join(","), j.state, j.targeted, j.moved, j.kicked, j.failed, j.remaining, j.created_at].map(String)),
    );
    return ExitCode.ok;
  }
  ctx.out.table(
    ["JID", "STATE", "TARGET", "METHODS", "REASON"],
    sessions.map((s) => [`${String(s.jid)}${Number(s.login) > 1 ? ` (#${String(s.login)})` : ""}`, String(s.state), String(s.target), (s.methods as string[]).join(",") || "-", String(s.reason ?? s.reply ?? "")]),
  );
  const j = jobs[0] as Record<string, unknown>;
  ctx.out.line(`${String(j.kind)} ${String(j.job)} ${String(j.state)}: targeted ${String(j.targeted)}, moved ${String(j.moved)}, kicked ${String(j.kicked)}, failed ${String(j.failed)}, skipped ${String(j.skipped)}, remaining ${String(j.remaining)}${j.error ? ` (${String(j.error)})` : ""}`);
  return ExitCode.ok;
}

async function readJobs(ctx: CommandContext, id: string | undefined): Promise<{ jobs: Array<Record<string, unknown>>; sessions: Array<Record<string, unknown>> }> {
  const api = ctx.api();
  if (api) {
    if (id === undefined) return { jobs: ((await (await callApi(api, "GET", "v1/jobs")).json()) as { jobs: Array<Record<string, unknown>> }).jobs, sessions: [] };
    const one = (await (await callApi(api, "GET", `v1/jobs/${encodeURIComponent(id)}?sessions=1`)).json()) as Record<string, unknown> & { sessions?: Array<Record<string, unknown>> };
    const { sessions = [], ...job } = one;
    return { jobs: [job], sessions };
  }
  // reading must not leave an empty journal behind where none was
  if (!existsSync(ctx.journalPath())) {
    if (id === undefined) return { jobs: [], sessions: [] };
    throw new NotFoundError("ID", `no job ${id}: there is no journal at ${ctx.journalPath()}`);
  }
  const journal = Journal.open(ctx.journalPath());
  try {
    if (id === undefined) return { jobs: journal.list().map(jobView), sessions: [] };
    const job = journal.get(id);
    if (!job) throw new NotFoundError("ID", `no job ${id} in ${journal.path}`);
    return { jobs: [jobView(job)], sessions: journal.sessions(id).map(sessionView) };
  } finally {
    journal.close();
  }
}

/** `cxfr cancel ID`: a running job stops at its next renewal; a job whose process died is released at once. */
export async function cancelCommand(ctx: CommandContext, id: string): Promise<number> {
  const api = ctx.api();
  let state: string;
  if (api) {
    state = ((await (await callApi(api, "DELETE", `v1/jobs/${encodeURIComponent(id)}`)).json()) as { state: string }).state;
  } else {
    const journal = Journal.open(ctx.journalPath());
    try {
      state = journal.cancel(id);
    } finally {
      journal.close();
    }
  }
  if (ctx.out.options.json) ctx.out.event({ job: id, state });
  else ctx.out.line(`job ${id}: ${state}`);
  return ExitCode.ok;
}

/** `cxfr jobs resume ID`: continues a job whose process died (in the daemon with --api). */
export async function resumeCommand(ctx: CommandContext, id: string): Promise<number> {
  const api = ctx.api();
  if (!api) return resumeJobHere(ctx, id);
  const job = (await (await callApi(api, "POST", `v1/jobs/${encodeURIComponent(id)}/resume`)).json()) as { id: string; state: string };
  if (ctx.out.options.json) ctx.out.event({ job: job.id, state: job.state });
  else ctx.out.line(`job ${job.id}: ${job.state}`);
  return ExitCode.ok;
}
