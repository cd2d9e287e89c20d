import type { EventEmitter } from "node:events";

export function withTimeout<T>(promise: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(onTimeout()), ms);
    promise.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

interface Opening extends EventEmitter {
  connect(service: string): Promise<unknown>;
  open(options: { domain: string }): Promise<unknown>;
}

/**
 * Connects an xmpp.js entity and waits until it is online. entity.start() leaves its "online" promise
 * unobserved when the socket fails mid-handshake, which surfaces as an unhandled rejection (ECONNRESET)
 * that kills the process; this awaits every step itself.
 */
export async function connectUntilOnline(entity: Opening, service: string, domain: string): Promise<void> {
  const online = new Promise<void>((resolve, reject) => {
    const onError = (err: Error) => {
      entity.off("online", onOnline);
      reject(err);
    };
    const onOnline = () => {
      entity.off("error", onError);
      resolve();
    };
    entity.once("online", onOnline);
    entity.once("error", onError);
  });
  online.catch(() => undefined);
  await entity.connect(service);
  await entity.open({ domain });
  await online;
}
