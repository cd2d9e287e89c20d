import type { HostPort } from "../xmpp/address.ts";
import { clientAddressLine, closeLine, lineOutcome, parseClientAddress, seeOtherHostLine } from "./prosody-lua.ts";
import { ProsodyShell } from "./prosody-shell.ts";
import type { ClientAddress, ControlResult, SessionControl } from "./session-control.ts";

/** Sessions on one Prosody 0.12 node through its admin socket: one connection, opened on first use, reopened if lost. */
export class ProsodyControl implements SessionControl {
  readonly channel = "admin-socket";
  private shell: Promise<ProsodyShell> | undefined;

  constructor(
    readonly socketPath: string,
    private readonly timeoutMs = 5000,
  ) {}

  seeOtherHostProblem(): string | undefined {
    return undefined;
  }

  seeOtherHost(jid: string, target: HostPort): Promise<ControlResult> {
    return this.act(seeOtherHostLine(jid, target));
  }

  shutdown(jid: string): Promise<ControlResult> {
    return this.act(closeLine(jid, "system-shutdown"));
  }

  async clientAddress(jid: string): Promise<ClientAddress | undefined> {
    return parseClientAddress(await this.run(clientAddressLine(jid)));
  }

  async stop(): Promise<void> {
    const shell = this.shell;
    this.shell = undefined;
    await shell?.then((s) => s.close()).catch(() => undefined);
  }

  private async act(line: string): Promise<ControlResult> {
    const outcome = lineOutcome(await this.run(line));
    if (outcome.kind === "done") return { done: true };
    return { done: false, why: outcome.kind === "absent" ? "no such session on this node" : `admin socket: ${outcome.text}` };
  }

  private async run(line: string) {
    this.shell ??= ProsodyShell.connect(this.socketPath, { timeoutMs: this.timeoutMs });
    const shell = this.shell;
    try {
      return await (await shell).run(line);
    } catch (err) {
      if (this.shell === shell) this.shell = undefined;
      throw err;
    }
  }
}
