// The fleet shape: independent Prosody nodes of one domain with the same accounts, one component
// link each (no shared session table). Started together, stopped by PID like every lab server.
import { startServer, type LabServer, type LabUser } from "./index.ts";

export interface FleetNode {
  /** node name for cxfr's config: a, b, c, … */
  name: string;
  server: LabServer;
}

export async function startProsodyFleet(opts: { size?: number; users?: LabUser[]; label?: string } = {}): Promise<FleetNode[]> {
  const names = "abcdefgh".slice(0, opts.size ?? 3).split("");
  const servers = await Promise.allSettled(names.map((name) => startServer({ kind: "prosody", name: `${opts.label ?? "fleet"}-${name}`, users: opts.users ?? [] })));
  const started = servers.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
  const failed = servers.find((s) => s.status === "rejected");
  if (failed) {
    await Promise.all(started.map((s) => s.stop()));
    throw failed.reason;
  }
  return started.map((server, i) => ({ name: names[i] as string, server }));
}
