import { connect } from "node:net";
import type { HostPort } from "../xmpp/address.ts";

/** true when a TCP connection opens, otherwise why not (one short phrase). */
export function tcpReachable(address: HostPort, timeoutMs: number, defaultPort = 5347): Promise<true | string> {
  return new Promise((resolve) => {
    const socket = connect({ host: address.host, port: address.port ?? defaultPort });
    const done = (result: true | string) => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(timeoutMs, () => done(`no answer within ${timeoutMs} ms`));
    socket.once("connect", () => done(true));
    socket.once("error", (err: NodeJS.ErrnoException) => done(err.code === "ECONNREFUSED" ? "connection refused" : err.code ?? err.message));
  });
}
