import type { AddressInfo } from "node:net";
import { createApp } from "../../api/app.ts";
import { isLoopback } from "../../api/auth.ts";
import { Daemon } from "../../api/daemon.ts";
import { createLogger } from "../../api/log.ts";
import { Metrics } from "../../api/metrics.ts";
import { ExitCode, InputError } from "../../errors.ts";
import { Journal } from "../../store/journal.ts";
import { parseHostPort } from "../../xmpp/address.ts";
import type { CommandContext } from "../program.ts";

/** How long SIGTERM waits for running jobs to settle before closing anyway. */
const SHUTDOWN_GRACE_MS = 120_000;

/**
 * `cxfr serve`: keeps the links up, runs jobs, serves the HTTP API; resumes jobs whose process died.
 * Logs are JSON lines on stdout. Returns on SIGTERM/SIGINT once running jobs have settled.
 */
export async function serveCommand(ctx: CommandContext, options: { listen?: string }): Promise<number> {
  const config = ctx.config();
  const field = options.listen !== undefined ? "--listen" : "api.listen";
  const listen = parseHostPort(options.listen ?? config.api.listen, field);
  if (listen.port === undefined) throw new InputError(field, `"${options.listen ?? config.api.listen}" needs a port, e.g. 127.0.0.1:5380`);
  if (!isLoopback(listen.host) && !config.api.token) throw new InputError(field, `${listen.host} is reachable from other machines: set a token (CXFR_API_TOKEN or api.token_file) or listen on 127.0.0.1`);

  const journal = Journal.open(config.journal);
  const log = createLogger();
  const metrics = new Metrics();
  const daemon = new Daemon(config, journal, log, metrics);
  let accepting = true;
  const app = createApp(daemon, { ...(config.api.token ? { token: config.api.token } : {}), log, accepting: () => accepting });

  const server = await new Promise<import("node:http").Server>((resolve, reject) => {
    const s = app.listen(listen.port as number, listen.host, () => resolve(s));
    s.once("error", (err: NodeJS.ErrnoException) => reject(new InputError(field, `cannot listen on ${listen.host}:${listen.port}: ${err.code ?? err.message}`)));
  });
  const address = server.address() as AddressInfo;
  log.info({ listen: `${address.address}:${address.port}`, journal: journal.path, nodes: config.nodes.map((n) => n.name) }, "listening");

  await daemon.start();
  const resumed = daemon.resumeOrphans();
  if (resumed.length > 0) log.info({ jobs: resumed }, "resumed jobs whose process died");

  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      accepting = false;
      log.info({ signal }, "shutting down: no new jobs; running jobs settle");
      const timer = setTimeout(() => {
        log.warn("jobs did not settle in time; closing anyway");
        resolve();
      }, SHUTDOWN_GRACE_MS);
      void daemon.shutdown().finally(() => {
        clearTimeout(timer);
        resolve();
      });
    };
    process.once("SIGTERM", () => stop("SIGTERM"));
    process.once("SIGINT", () => stop("SIGINT"));
  });
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  log.info("stopped");
  return ExitCode.ok;
}
