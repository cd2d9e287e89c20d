// A TCP relay between cxfr and a server whose traffic can be cut, stalled, truncated, rewritten or
// added to, to put the sidecar's link through faults without touching the server or its clients.
import net from "node:net";

export interface CuttableProxy {
  address: string;
  /** Drops every relayed connection and refuses new ones for `ms`. */
  cut(ms: number): Promise<void>;
  /** Stops relaying in both directions (bytes are held, connections stay open) until stall(false). */
  stall(on: boolean): void;
  /** Rewrites each chunk the server sends (e.g. to break a listing reply); null relays as is. */
  rewrite(fn: ((chunk: string) => string) | null): void;
  /** Stops (or resumes) reading what cxfr writes, as a server too busy to read would: its writes back up. */
  stopReading(on: boolean): void;
  /** Writes `text` to cxfr as if the server had sent it. */
  inject(text: string): void;
  /** Relays the next `bytes` bytes from the server, then drops the connections (a reply cut in the middle). */
  truncateAfter(bytes: number): void;
  /** Connections relayed so far (a reconnect adds one). */
  readonly connections: number;
  close(): Promise<void>;
}

interface Pair {
  inbound: net.Socket;
  outbound: net.Socket;
}

export async function startProxy(target: { host: string; port: number }): Promise<CuttableProxy> {
  const pairs = new Set<Pair>();
  let refusing = false;
  let stalled = false;
  let rewriter: ((chunk: string) => string) | null = null;
  let truncateBudget: number | undefined;
  let connections = 0;
  const held: Array<() => void> = [];

  const drop = (pair: Pair) => {
    pair.inbound.destroy();
    pair.outbound.destroy();
    pairs.delete(pair);
  };
  const relay = (run: () => void) => (stalled ? held.push(run) : run());

  const server = net.createServer((inbound) => {
    if (refusing) return inbound.destroy();
    connections++;
    const outbound = net.connect(target.port, target.host);
    const pair = { inbound, outbound };
    pairs.add(pair);
    for (const s of [inbound, outbound]) {
      s.on("error", () => undefined);
      s.on("close", () => drop(pair));
    }
    inbound.on("data", (chunk: Buffer) => relay(() => outbound.write(chunk)));
    outbound.on("data", (chunk: Buffer) =>
      relay(() => {
        let data = rewriter ? Buffer.from(rewriter(chunk.toString("utf8")), "utf8") : chunk;
        if (truncateBudget !== undefined) {
          const part = data.subarray(0, truncateBudget);
          truncateBudget -= part.length;
          data = part;
        }
        inbound.write(data);
        if (truncateBudget === 0) {
          truncateBudget = undefined;
          for (const p of pairs) drop(p);
        }
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    address: `127.0.0.1:${port}`,
    get connections() {
      return connections;
    },
    async cut(ms) {
      refusing = true;
      for (const p of pairs) drop(p);
      await new Promise((r) => setTimeout(r, ms));
      refusing = false;
    },
    stall(on) {
      stalled = on;
      if (!on) for (const run of held.splice(0)) run();
    },
    rewrite(fn) {
      rewriter = fn;
    },
    stopReading(on) {
      for (const p of pairs) {
        if (on) p.inbound.pause();
        else p.inbound.resume();
      }
    },
    inject(text) {
      for (const p of pairs) p.inbound.write(text);
    },
    truncateAfter(bytes) {
      truncateBudget = bytes;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const p of pairs) drop(p);
        server.close(() => resolve());
      }),
  };
}
