import type { SessionControl, ClientAddress } from "../servers/session-control.ts";
import type { Attempt, Method, SessionRef } from "./method.ts";
import type { SocketDestroyer } from "./socket-destroy.ts";

/**
 * Aborts the client's TCP connection on the server host, without a stream close: the server keeps an XEP-0198
 * session resumable, the client sees a network error, reconnects (wherever the load balancer or its own list sends
 * it) and resumes. A client without XEP-0198 reconnects with a new session.
 */
export class ResetMethod implements Method {
  readonly name = "reset" as const;

  constructor(
    private readonly destroyer: SocketDestroyer,
    /** Where the client's address comes from when the listing lacks it. */
    private readonly control: SessionControl | undefined,
  ) {}

  async apply(session: SessionRef, _target: unknown, signal: AbortSignal): Promise<Attempt> {
    const permission = await this.destroyer.permission();
    if (!permission.ok) return { status: "unavailable", reason: permission.why };
    const address = await this.addressOf(session);
    if (!address) return { status: "unavailable", reason: "the client's address and port are not known (configure admin_socket or ejabberdctl)" };
    if (signal.aborted) return { status: "unavailable", reason: "job stopped" };
    const result = await this.destroyer.destroy(address, address.serverPorts);
    if (result.destroyed > 0) return { status: "sent" };
    return { status: "unavailable", reason: result.error ? `socket destroy failed: ${result.error}` : `no TCP connection from ${address.ip} port ${address.port} on this host` };
  }

  private async addressOf(session: SessionRef): Promise<ClientAddress | undefined> {
    if (session.ip !== undefined && session.port !== undefined) return { ip: session.ip, port: session.port };
    return this.control?.clientAddress(session.jid);
  }
}
