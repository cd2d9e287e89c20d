import { buildProgram } from "./program.ts";

/** Entry point of the executable: returns the exit code (DESIGN.md §3). */
export async function main(argv: string[]): Promise<number> {
  return buildProgram(process.env, Boolean(process.stdout.isTTY)).run(argv);
}
