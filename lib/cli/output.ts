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
 * When stdout's reader goes away (`cxfr sessions --json | head -1`) output to it stops quietly, as `ls | head` does;
 * a job goes on and writes its summary to stderr instead.
 */
export class Output {
  private stdoutClosed = false;
  /** stdout text of this event-loop turn (see toStdout) */
  private queued = "";
  private flushQueued = false;

  constructor(
    readonly options: OutputOptions,
    private readonly stdout: NodeJS.WritableStream = process.stdout,
    private readonly stderr: NodeJS.WritableStream = process.stderr,
  ) {
    stdout.on("error", (err: NodeJS.ErrnoException) => {
      if (err.code !== "EPIPE" && err.code !== "ERR_STREAM_DESTROYED") throw err;
      this.stdoutClosed = true;
    });
    // process.exit() (an internal error) skips the queued turn otherwise; writes to pipes and files are synchronous
    if (stdout === process.stdout) process.once("exit", () => this.flush());
  }

  /**
   * One write per event-loop turn: a drain writes thousands of lines in a few turns, and on Linux each write to a
   * pipe or file is a blocking system call of its own.
   */
  private toStdout(text: string): void {
    if (this.stdoutClosed) return;
    this.queued += text;
    if (this.flushQueued) return;
    this.flushQueued = true;
    setImmediate(() => this.flush());
  }

  /** Writes what this turn queued for stdout. */
  flush(): void {
    this.flushQueued = false;
    const text = this.queued;
    this.queued = "";
    if (text && !this.stdoutClosed) this.stdout.write(text);
  }

  /** A result that must reach someone (a job summary): stdout, or stderr once stdout is closed. */
  result(text: string): void {
    if (this.options.quiet) return;
    this.flush();
    (this.stdoutClosed ? this.stderr : this.stdout).write(`${escapeForTerminal(text, "\n")}\n`);
  }

  /** Machine output is chosen by --json, or when stdout is not a terminal. */
  get machine(): boolean {
    return this.options.json || !this.options.tty;
  }

  event(record: object): void {
    const line = `${escapeJsonLine(JSON.stringify(record))}\n`;
    if (this.stdoutClosed && (record as { event?: unknown }).event === "summary") this.stderr.write(line);
    else this.toStdout(line);
  }

  line(text: string): void {
    if (!this.options.quiet) this.toStdout(`${escapeForTerminal(text, "\n")}\n`);
  }

  table(columns: string[], unsafeRows: string[][]): void {
    const rows = unsafeRows.map((row) => row.map((cell) => escapeForTerminal(cell)));
    const widths = columns.map((c, i) => Math.max(c.length, ...rows.map((r) => (r[i] ?? "").length)));
    const format = (cells: string[]) => cells.map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join("  ").trimEnd();
    this.toStdout(`${format(columns)}\n`);
    for (const row of rows) this.toStdout(`${format(row)}\n`);
  }

  warning(text: string): void {
    this.flush();
    this.stderr.write(`cxfr: warning: ${escapeForTerminal(firstLine(text))}\n`);
  }

  error(err: unknown): number {
    const exitCode = err instanceof CxfrError ? err.exitCode : 1;
    const message = err instanceof Error ? err.message : String(err);
    this.flush();
    this.stderr.write(`cxfr: error: ${escapeForTerminal(firstLine(message))}\n`);
    return exitCode;
  }
}

function firstLine(text: string): string {
  return text.split("\n", 1)[0] ?? "";
}
