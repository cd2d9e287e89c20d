// Sessions of a real client nobody here wrote: Debian's python3-slixmpp (see client.py), one process each,
// stopped by PID.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const SCRIPT = fileURLToPath(new URL("./client.py", import.meta.url));

export interface SlixmppSession {
  pid: number;
  jid: string;
  /** namespaces of the IQ sets it received */
  iqs: string[];
  disconnected: Promise<void>;
  stop(): Promise<void>;
}

export function startSlixmpp(server: { host: string; c2sPort: number }, jid: string, password: string, timeoutMs = 15_000): Promise<SlixmppSession> {
  const child = spawn("/usr/bin/python3", [SCRIPT, server.host, String(server.c2sPort), jid, password], { stdio: ["ignore", "pipe", "pipe"] });
  const iqs: string[] = [];
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  let markDisconnected: () => void = () => undefined;
  const disconnected = new Promise<void>((resolve) => (markDisconnected = resolve));
  void exited.then(() => markDisconnected());
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`slixmpp ${jid} not online within ${timeoutMs} ms: ${stderr.trim().split("\n").at(-1) ?? ""}`));
    }, timeoutMs);
    let buffered = "";
    child.stdout.on("data", (d: Buffer) => {
      buffered += d.toString();
      const lines = buffered.split("\n");
      buffered = lines.pop() ?? "";
      for (const line of lines) {
        if (line.startsWith("online ")) {
          clearTimeout(timer);
          resolve({ pid: child.pid as number, jid: line.slice("online ".length), iqs, disconnected, stop });
        } else if (line.startsWith("iq ")) iqs.push(line.slice(3));
        else if (line === "disconnected") markDisconnected();
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`slixmpp ${jid} exited: ${stderr.trim().split("\n").at(-1) ?? ""}`));
    });
  });
}
