// A client for Prosody 0.12's admin socket (mod_admin_shell over mod_admin_socket, `data_path/prosody.sock`):
// one stream in the namespace xmpp:prosody.im/admin; each `<repl-input>` line is answered by zero or more
// `<repl-output>` elements and then one `<repl-result>` (type="error" on failure). Results carry no id, so
// commands are pipelined and matched in order; a command that times out poisons the order, so the connection
// is closed then.
import { createConnection, type Socket } from "node:net";
import xml, { Parser, type Element } from "@xmpp/xml";
import { ConnectError, ProtocolError, TimeoutError } from "../errors.ts";

const NS_ADMIN = "xmpp:prosody.im/admin";
const NS_STREAM = "http://etherx.jabber.org/streams";
const STREAM_OPEN = `<?xml version='1.0'?><stream:stream xmlns='${NS_ADMIN}' xmlns:stream='${NS_STREAM}' version='1.0'>`;

export interface ShellResult {
  ok: boolean;
  /** The `<repl-result>` text, e.g. "Result: 0.12.3" or "OK: Total: 1 sessions closed". */
  text: string;
  /** Lines printed before the result (`<repl-output>`). */
  output: string[];
}

export interface ProsodyShellOptions {
  timeoutMs?: number;
}

interface Pending {
  resolve(result: ShellResult): void;
  reject(err: Error): void;
  output: string[];
  timer: NodeJS.Timeout;
}

/** The exact bytes sent for one console line (the XML builder escapes the text). */
export function replInput(line: string): string {
  return xml("repl-input", {}, line).toString();
}

export class ProsodyShell {
  private readonly pending: Pending[] = [];
  private closed: Error | undefined;

  private constructor(
    readonly path: string,
    private readonly socket: Socket,
    private readonly timeoutMs: number,
  ) {}

  /** Connects and opens the admin stream; ConnectError when the socket is missing or refuses us. */
  static connect(path: string, options: ProsodyShellOptions = {}): Promise<ProsodyShell> {
    const timeoutMs = options.timeoutMs ?? 5000;
    return new Promise((resolve, reject) => {
      const socket = createConnection({ path });
      const shell = new ProsodyShell(path, socket, timeoutMs);
      const parser = new Parser();
      const timer = setTimeout(() => fail(new TimeoutError(`admin socket ${path}`, timeoutMs)), timeoutMs);
      const fail = (err: Error) => {
        clearTimeout(timer);
        socket.destroy();
        reject(err);
      };
      socket.once("error", (err: NodeJS.ErrnoException) => fail(new ConnectError(`admin socket ${path}: ${err.code ?? err.message}`)));
      socket.once("connect", () => socket.write(STREAM_OPEN));
      parser.on("start", () => {
        clearTimeout(timer);
        socket.removeAllListeners("error");
        socket.on("error", (err: NodeJS.ErrnoException) => shell.shutdown(new ConnectError(`admin socket ${path}: ${err.code ?? err.message}`)));
        resolve(shell);
      });
      parser.on("element", (el: Element) => shell.onElement(el));
      parser.on("end", () => shell.shutdown(new ConnectError(`admin socket ${path}: the server closed the stream`)));
      parser.on("error", (err: Error) => shell.shutdown(new ProtocolError(`admin socket ${path}: ${err.message}`)));
      socket.on("data", (data: Buffer) => parser.write(data.toString("utf8")));
      socket.on("close", () => {
        fail(new ConnectError(`admin socket ${path}: closed before the stream opened`));
        shell.shutdown(new ConnectError(`admin socket ${path}: connection closed`));
      });
    });
  }

  /** Runs one console line (a line starting with ">" is raw Lua in the server's global environment). */
  run(line: string): Promise<ShellResult> {
    if (this.closed) return Promise.reject(this.closed);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.shutdown(new TimeoutError(`admin socket ${this.path}`, this.timeoutMs)), this.timeoutMs);
      this.pending.push({ resolve, reject, output: [], timer });
      this.socket.write(replInput(line));
    });
  }

  async close(): Promise<void> {
    if (!this.closed) {
      this.socket.end("</stream:stream>");
      this.shutdown(new ConnectError(`admin socket ${this.path}: closed`));
    }
  }

  private onElement(el: Element): void {
    const head = this.pending[0];
    if (!head) return;
    if (el.name === "repl-output") {
      head.output.push(el.text());
    } else if (el.name === "repl-result") {
      this.pending.shift();
      clearTimeout(head.timer);
      head.resolve({ ok: el.attrs.type !== "error", text: el.text(), output: head.output });
    }
  }

  private shutdown(err: Error): void {
    if (this.closed) return;
    this.closed = err;
    for (const p of this.pending.splice(0)) {
      clearTimeout(p.timer);
      p.reject(err);
    }
    this.socket.destroy();
  }
}
