import { buildProgram } from "./program.ts";

/** Entry point of the executable: returns the exit code (DESIGN.md §3). */
export async function main(argv: string[]): Promise<number> {
  const internalError = (err: unknown) => {
    const error = err instanceof Error ? err : new Error(String(err));
    process.stderr.write(process.env.CXFR_DEBUG ? `${error.stack ?? error.message}\n` : `cxfr: internal error: ${error.message.split("\n", 1)[0]} (CXFR_DEBUG=1 shows the stack)\n`);
    process.exit(1);
  };
  process.on("uncaughtException", internalError);
  process.on("unhandledRejection", internalError);
  return buildProgram(process.env, Boolean(process.stdout.isTTY)).run(argv);
}
