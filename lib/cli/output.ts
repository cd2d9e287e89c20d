import { CxfrError } from "../errors.ts";
import { escapeForTerminal, escapeJsonLine } from "./terminal-text.ts";

export interface OutputOptions {
  json: boolean;
  quiet: boolean;
  tty: boolean;
}

/**
 * Where commands write: JSON lines for scripts, tables and progress for people. Errors go to stderr, one line.
 * Text may come from the server (JIDs, resources, error texts): control and bidi characters are written escaped.
 */
export class Output {
  constructor(
    readonly options: OutputOptions,
    private readonly stdout: NodeJS.WritableStream = process.stdout,
    private readonly stderr: NodeJS.WritableStream = process.stderr,
  ) {}

  /** Machine output is chosen by --json, or when stdout is not a terminal. */
  get machine(): boolean {
    return this.options.json || !this.options.tty;
  }

  event(record: object): void {
    this.stdout.write(`${escapeJsonLine(JSON.stringify(record))}\n`);
  }

  line(text: string): void {
    if (!this.options.quiet) this.stdout.write(`${escapeForTerminal(text, "\n")}\n`);
  }

  table(columns: string[], unsafeRows: string[][]): void {
    const rows = unsafeRows.map((row) => row.map((cell) => escapeForTerminal(cell)));
    const widths = columns.map((c, i) => Math.max(c.length, ...rows.map((r) => (r[i] ?? "").length)));
    const format = (cells: string[]) => cells.map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join("  ").trimEnd();
    this.stdout.write(`${format(columns)}\n`);
    for (const row of rows) this.stdout.write(`${format(row)}\n`);
  }

  error(err: unknown): number {
    const exitCode = err instanceof CxfrError ? err.exitCode : 1;
    const message = err instanceof Error ? err.message : String(err);
    this.stderr.write(`cxfr: error: ${escapeForTerminal(firstLine(message))}\n`);
    return exitCode;
  }
}

function firstLine(text: string): string {
  return text.split("\n", 1)[0] ?? "";
}
