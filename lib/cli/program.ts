import { Command, CommanderError, Option } from "commander";
import type { Config, NodeConfig, selectNode } from "../config.ts";
import { ExitCode } from "../errors.ts";
import { DEFAULT_METHODS, FALLBACK_DEFAULT, flagHelp } from "../jobs/job-defaults.ts";
import { Secret } from "../secret.ts";
import type { ApiEndpoint } from "./api-client.ts";
import { clusterCommands } from "./commands/cluster-commands.ts";
import { Output } from "./output.ts";

// Commands and the config loader (yaml) are imported when a command runs, so `cxfr --version` and
// `--help` start without loading the XMPP stack (README "Performance": start-up).
type ConfigModule = typeof import("../config.ts");

export interface GlobalOptions {
  config?: string;
  json?: boolean;
  quiet?: boolean;
  node?: string;
  strict?: boolean;
  api?: string;
}

export interface CommandContext {
  out: Output;
  /** --node NAME, when given. */
  nodeName?: string;
  /** The daemon to run through: --api URL or CXFR_API (token from CXFR_API_TOKEN). */
  api(): ApiEndpoint | undefined;
  /** The journal file: CXFR_JOURNAL, the config file's `journal:`, or ./cxfr.db; needs no node configured. */
  journalPath(): string;
  config: () => Config;
  selectNode: typeof selectNode;
  /** The node named by --node, or every configured node. */
  nodesToShow(config: Config): NodeConfig[];
}

/** Builds the `cxfr` program; run() resolves with the process exit code and never throws. */
export function buildProgram(env: NodeJS.ProcessEnv, tty: boolean): { run(argv: string[]): Promise<number> } {
  let exitCode: number = ExitCode.ok;
  const program = new Command("cxfr")
    .description("Move live XMPP client sessions between cluster nodes (XEP-0051), from an XEP-0114 component")
    .version("0.1.0")
    .option("--config <file>", "YAML config file")
    .option("--json", "JSON lines on stdout")
    .option("--quiet", "no progress or notes")
    .addOption(new Option("--node <name>", "configured node to act on"))
    .option("--strict", "refuse secret files that group or others can read (default: warn)")
    .option("--api <url>", "run through a cxfr serve daemon at this URL (default: CXFR_API)")
    .showHelpAfterError(false)
    .exitOverride()
    .configureOutput({ writeErr: (text) => process.stderr.write(text.startsWith("error:") ? `cxfr: ${text}` : text) });

  const context = ({ loadConfig, selectNode }: ConfigModule): CommandContext => {
    const globals = program.opts<GlobalOptions>();
    const out = new Output({ json: Boolean(globals.json), quiet: Boolean(globals.quiet), tty });
    let cached: Config | undefined;
    const config = () => {
      if (!cached) {
        cached = loadConfig({ ...(globals.config !== undefined ? { file: globals.config } : {}), env, strict: Boolean(globals.strict) });
        for (const warning of cached.warnings) out.warning(warning);
      }
      return cached;
    };
    const apiUrl = globals.api ?? env.CXFR_API;
    return {
      out,
      ...(globals.node !== undefined ? { nodeName: globals.node } : {}),
      api: () => (apiUrl ? { url: apiUrl, ...(env.CXFR_API_TOKEN ? { token: new Secret(env.CXFR_API_TOKEN) } : {}) } : undefined),
      journalPath: () => env.CXFR_JOURNAL ?? (globals.config !== undefined ? config().journal : "./cxfr.db"),
      config,
      selectNode: (config, name) => selectNode(config, name ?? globals.node),
      nodesToShow: (config) => (globals.node !== undefined ? [selectNode(config, globals.node)] : config.nodes),
    };
  };

  // commander hands actions (args..., options, command); each command declares the shape it expects
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const wrap = <A extends any[]>(load: () => Promise<(ctx: CommandContext, ...args: A) => Promise<number>>) =>
    async (...args: A) => {
      const [fn, configModule] = await Promise.all([load(), import("../config.ts")]);
      const ctx = context(configModule);
      try {
        exitCode = await fn(ctx, ...args);
      } catch (err) {
        exitCode = ctx.out.error(err);
      }
    };

  program
    .command("check")
    .description("verify the component link, admin rights and transfer methods; exit 0 only if transfers can work")
    .action(wrap(async () => (await import("./commands/check.ts")).checkCommand));

  program
    .command("sessions")
    .description("list live sessions on a node")
    .option("--user <jid>", "only this account (bare JID) or session (full JID)")
    .action(wrap(async () => (await import("./commands/sessions.ts")).sessionsCommand));

  const jobCommand = (command: Command, fallback: string, withTo = true) =>
    (withTo ? command.requiredOption("--to <target...>", "HOST[:PORT][=WEIGHT] or a configured node name; several are spread by rendezvous hashing") : command)
      .option("--rate <n>", flagHelp("rate"))
      .option("--max-rate <n>", flagHelp("maxRate"))
      .option("--burst <n>", flagHelp("burst"))
      .option("--jitter <f>", flagHelp("jitter"))
      .option("--max-in-flight <n>", flagHelp("maxInFlight"))
      .option("--wait <dur>", flagHelp("wait"))
      .option("--grace <dur>", flagHelp("grace"))
      .option("--deadline <dur>", flagHelp("deadline"))
      .option("--fallback <kick|none>", `what to do with sessions that stay (default ${fallback})`)
      .option("--method <list>", `methods to try, in order, from cxfr,see-other-host,reset,close,kick (default: what \`cxfr check\` finds usable, else ${DEFAULT_METHODS})`)
      .option("--from <mode>", "domain | component | auto: who the packet comes from")
      .option("--domain <domain>", "value of <domain> in the packet (default: the users' domain)")
      .option("--dry-run", "print the plan; send nothing")
      .option("--no-target-check", "do not check that the targets accept TCP connections first");

  jobCommand(program.command("drain").description("move every session off a node"), FALLBACK_DEFAULT.drain)
    .option("--announce <text>", "send this announcement to the node's users first")
    .option("--exclude <jid...>", "accounts (bare) or sessions (full JID) to leave alone")
    .option("--no-follow", "do not pick up sessions that log in during the drain")
    .action(wrap(async () => (await import("./commands/drain.ts")).drainCommand));

  jobCommand(program.command("transfer").description("send the transfer packet to these sessions").argument("<jid...>", "full JIDs of live sessions"), FALLBACK_DEFAULT.transfer)
    .action(wrap(async () => (await import("./commands/transfer.ts")).transferCommand));

  clusterCommands(program, jobCommand, wrap);

  const jobs = program
    .command("jobs")
    .description("list journaled jobs, or show one with its per-session outcomes")
    .argument("[id]", "job id")
    .action(wrap(async () => (await import("./commands/jobs.ts")).jobsCommand));
  jobs
    .command("resume")
    .description("continue a job whose process died")
    .argument("<id>", "job id")
    .action(wrap(async () => (await import("./commands/jobs.ts")).resumeCommand));

  program
    .command("cancel")
    .description("stop a job; releases the nodes of a job whose process died")
    .argument("<id>", "job id")
    .action(wrap(async () => (await import("./commands/jobs.ts")).cancelCommand));

  program
    .command("serve")
    .description("run the daemon: keeps the links up, runs jobs, serves the HTTP API")
    .option("--listen <host:port>", "address to bind (default: api.listen, 127.0.0.1:5380)")
    .action(wrap(async () => (await import("./commands/serve.ts")).serveCommand));

  return {
    async run(argv: string[]): Promise<number> {
      try {
        await program.parseAsync(argv, { from: "user" });
        return exitCode;
      } catch (err) {
        if (err instanceof CommanderError) {
          // --help and --version exit 0; help shown because no command was given is a usage error
          return err.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
        }
        process.stderr.write(`cxfr: error: ${(err as Error).message.split("\n", 1)[0]}\n`);
        return 1;
      }
    },
  };
}
