import { Command, CommanderError, Option } from "commander";
import type { Config, NodeConfig, selectNode } from "../config.ts";
import { ExitCode } from "../errors.ts";
import { Output } from "./output.ts";

// Commands and the config loader (yaml) are imported when a command runs, so `cxfr --version` and
// `--help` start without loading the XMPP stack (README "Performance": start-up).
type ConfigModule = typeof import("../config.ts");
import { clusterCommands } from "./commands/cluster-commands.ts";

export interface GlobalOptions {
  config?: string;
  json?: boolean;
  quiet?: boolean;
  node?: string;
  strict?: boolean;
}

export interface CommandContext {
  out: Output;
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
    .showHelpAfterError(false)
    .exitOverride()
    .configureOutput({ writeErr: (text) => process.stderr.write(text.startsWith("error:") ? `cxfr: ${text}` : text) });

  const context = ({ loadConfig, selectNode }: ConfigModule): CommandContext => {
    const globals = program.opts<GlobalOptions>();
    const out = new Output({ json: Boolean(globals.json), quiet: Boolean(globals.quiet), tty });
    let cached: Config | undefined;
    return {
      out,
      config: () => {
        if (!cached) {
          cached = loadConfig({ ...(globals.config !== undefined ? { file: globals.config } : {}), env, strict: Boolean(globals.strict) });
          for (const warning of cached.warnings) out.warning(warning);
        }
        return cached;
      },
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
      .option("--rate <n>", "packets and kicks per second, or 'unlimited' (default 50)")
      .option("--burst <n>", "packets allowed at once after a pause (default 10)")
      .option("--jitter <f>", "0..1: random stretch of each wait (default 0.2)")
      .option("--max-in-flight <n>", "transfers awaiting their outcome at once (default 200)")
      .option("--wait <dur>", "pause before the first packet, e.g. 30s")
      .option("--grace <dur>", "time a session gets to leave after its packet before the fallback (default 30s)")
      .option("--deadline <dur>", "stop the job after this long; what is left counts as remaining")
      .option("--fallback <kick|none>", `what to do with sessions that stay (default ${fallback})`)
      .option("--method <list>", "methods to use, in order: cxfr,kick")
      .option("--from <mode>", "domain | component | auto: who the packet comes from")
      .option("--domain <domain>", "value of <domain> in the packet (default: the users' domain)")
      .option("--dry-run", "print the plan; send nothing")
      .option("--no-target-check", "do not check that the targets accept TCP connections first");

  jobCommand(program.command("drain").description("move every session off a node"), "kick")
    .option("--announce <text>", "send this announcement to the node's users first")
    .option("--exclude <jid...>", "accounts (bare) or sessions (full JID) to leave alone")
    .option("--no-follow", "do not pick up sessions that log in during the drain")
    .action(wrap(async () => (await import("./commands/drain.ts")).drainCommand));

  jobCommand(program.command("transfer").description("send the transfer packet to these sessions").argument("<jid...>", "full JIDs of live sessions"), "none")
    .action(wrap(async () => (await import("./commands/transfer.ts")).transferCommand));

  clusterCommands(program, jobCommand, wrap);

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
