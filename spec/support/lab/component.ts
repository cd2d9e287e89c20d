// A bare @xmpp/component connection to a lab server, for specs that speak XEP-0114 themselves.
import { component } from "@xmpp/component";
import type { LabServer } from "./instance.ts";

export type LabComponent = ReturnType<typeof component>;

export async function connectComponent(server: LabServer): Promise<LabComponent> {
  const comp = component({ service: `xmpp://${server.componentAddress}`, domain: server.component, password: server.secret });
  comp.reconnect.stop();
  comp.on("error", () => undefined);
  await comp.start();
  return comp;
}

/** Never throws, never hangs more than ~2 s. */
export async function stopComponent(comp: LabComponent | undefined): Promise<void> {
  if (!comp) return;
  await Promise.race([comp.stop().catch(() => undefined), new Promise((r) => setTimeout(r, 2000))]);
}
