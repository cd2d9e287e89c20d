// A login probe: how long a node takes to greet a new client — TCP connect, stream open (RFC 6120
// §4.2) and <stream:features> — without logging in. A node busy with a reconnect storm (SCRAM
// logins are CPU-bound) answers this later; `--rate auto` uses it as one of its signals.
import { connect, type Socket } from "node:net";
import xml, { Parser, type Element } from "@xmpp/xml";
import type { HostPort } from "../xmpp/address.ts";

const NS_STREAM = "http://etherx.jabber.org/streams";

export type LoginProbeResult =
  | { ok: true; ms: number; connectMs: number; streamMs: number }
  | { ok: false; ms: number; reason: string };

export interface LoginProbeOptions {
  /** The users' domain: the stream's `to`. */
  domain: string;
  timeoutMs: number;
  /** Port when the address has none (default 5222). */
  defaultPort?: number;
}

/** The opening tag of a client stream, built by the XML builder (as xmpp.js does: the element minus "/>"). */
function streamHeader(domain: string): string {
  const header = xml("stream:stream", { to: domain, version: "1.0", xmlns: "jabber:client", "xmlns:stream": NS_STREAM });
  return `<?xml version='1.0'?>${header.toString().slice(0, -2)}>`;
}

/** Probes one address once; never rejects. `ms` is the time to <stream:features> (or to the failure). */
export function probeLogin(address: HostPort, options: LoginProbeOptions): Promise<LoginProbeResult> {
  const started = performance.now();
  const elapsed = () => performance.now() - started;
  return new Promise((resolve) => {
    let connectMs = 0;
    let streamMs = 0;
    let settled = false;
    const socket: Socket = connect({ host: address.host, port: address.port ?? options.defaultPort ?? 5222 });
    const parser = new Parser();
    const finish = (result: LoginProbeResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      parser.removeAllListeners();
      if (result.ok) socket.end("</stream:stream>");
      socket.destroy();
      resolve(result);
    };
    const fail = (reason: string) => finish({ ok: false, ms: elapsed(), reason });
    const timer = setTimeout(() => fail(`no stream features within ${options.timeoutMs} ms`), options.timeoutMs);

    socket.setNoDelay(true);
    socket.once("connect", () => {
      connectMs = elapsed();
      socket.write(streamHeader(options.domain));
    });
    socket.on("data", (chunk: Buffer) => {
      try {
        parser.write(chunk.toString("utf8"));
      } catch (err) {
        // ltx throws (rather than emitting "error") on some malformed input, e.g. a stray end tag
        fail(`bad XML: ${(err as Error).message}`);
      }
    });
    socket.once("error", (err: NodeJS.ErrnoException) => fail(err.code === "ECONNREFUSED" ? "connection refused" : (err.code ?? err.message)));
    socket.once("close", () => fail("closed before stream features"));
    parser.on("start", () => (streamMs = elapsed()));
    parser.on("element", (el: Element) => {
      if (el.is("features", NS_STREAM)) finish({ ok: true, ms: elapsed(), connectMs, streamMs });
      else if (el.is("error", NS_STREAM)) fail(`stream error: ${el.children.map((c) => (typeof c === "string" ? c : c.name)).join(" ") || "unknown"}`);
    });
    parser.on("error", (err: Error) => fail(`bad XML: ${err.message}`));
  });
}

export interface LoginProber {
  stop(): void;
}

/**
 * Probes every target every intervalMs, one probe per target at a time, and hands each result to
 * onResult(label, result); onStart(label), if given, hears when each probe goes out (an unanswered
 * probe is news too). The first round starts at once, so a baseline exists before any load.
 */
export function startLoginProbes(
  targets: Array<{ label: string; address: HostPort }>,
  options: LoginProbeOptions & { intervalMs: number },
  onResult: (label: string, result: LoginProbeResult) => void,
  onStart?: (label: string) => void,
): LoginProber {
  let stopped = false;
  const timers = new Set<NodeJS.Timeout>();
  const loop = async (target: { label: string; address: HostPort }) => {
    while (!stopped) {
      onStart?.(target.label);
      const result = await probeLogin(target.address, options);
      if (stopped) return;
      onResult(target.label, result);
      const wait = Math.max(0, options.intervalMs - result.ms);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          timers.delete(timer);
          resolve();
        }, wait);
        timers.add(timer);
      });
    }
  };
  for (const target of targets) void loop(target);
  return {
    stop() {
      stopped = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
    },
  };
}
