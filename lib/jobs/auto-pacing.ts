// Glue between the --rate auto controller (auto-rate.ts, pure) and the world: login probes against
// each target's public address, the targets' listings (appearances, when they are configured nodes), a
// decision timer, and a setter for the pacer's rate. The job engine starts it with the job, reports each
// method applied, and stops it with the job.
import { startLoginProbes, type LoginProber } from "../link/login-probe.ts";
import type { HostPort } from "../xmpp/address.ts";
import type { AppearanceWatch, Awaited } from "./appearance-watch.ts";
import { AutoRate, type AutoRateEvent, type AutoRateOptions } from "./auto-rate.ts";
import { nap, realClock, type Clock } from "./clock.ts";

export interface AutoPacingOptions {
  /** targets to probe: label (node name or host:port, shown in reasons) and public c2s address */
  targets: Array<{ label: string; address: HostPort }>;
  /** the users' domain (the probe's stream `to`) */
  domain: string;
  controller?: Partial<AutoRateOptions>;
  /** default 250 ms: a probe per target at most this often (two per decision interval) */
  probeIntervalMs?: number;
  /** default 3000 ms */
  probeTimeoutMs?: number;
  /** called with every new rate (also the starting one): e.g. the pacer's rate setter */
  setRate(rate: number): void;
  onEvent(event: AutoRateEvent): void;
  /** the decision timer's clock (default: real time); specs pass the job's fake clock */
  clock?: Clock;
  /** starts the login probes (default: real TCP probes, lib/link/login-probe.ts) */
  startProbes?: typeof startLoginProbes;
  /**
   * Targets that are configured nodes: watches their listings for the moved users (appearance-watch.ts). The
   * controller then also judges how long moved users take to be back, and how many are not back yet.
   */
  watchAppearances?: (hooks: { onBack(user: Awaited, afterMs: number): void; onGiveUp(user: Awaited): void }) => AppearanceWatch;
  /** A moved user seen back on a target (with watchAppearances). */
  onBack?(user: Awaited, afterMs: number): void;
}

export interface AutoPacing {
  readonly controller: AutoRate;
  /** resolves once every target answered (or failed) its first probe: the baseline before any load */
  ready: Promise<void>;
  /** A method was applied: `user` is awaited on the targets when appearances are watched. */
  sent(count?: number, user?: Awaited): void;
  stop(): void;
}

export function startAutoPacing(o: AutoPacingOptions): AutoPacing {
  const clock = o.clock ?? realClock;
  const now = () => clock.now();
  const controller = new AutoRate({ ...o.controller, ...(o.watchAppearances ? { tracksAppearance: true } : {}) });
  const watch = o.watchAppearances?.({
    onBack: (user, afterMs) => {
      controller.appeared(afterMs, now());
      o.onBack?.(user, afterMs);
    },
    onGiveUp: () => controller.forget(),
  });
  controller.on((event) => {
    o.setRate(event.rate);
    o.onEvent(event);
  });
  const waiting = new Set(o.targets.map((t) => t.label));
  let baseline: () => void = () => undefined;
  const probed = new Promise<void>((resolve) => (baseline = resolve));
  if (waiting.size === 0) baseline();
  // nothing goes before the baselines: the probes' first round, and the sessions already on the targets
  const ready = Promise.all([probed, watch?.ready.catch(() => undefined)]).then(() => undefined);
  let started = false;
  const stopped = new AbortController();
  const prober: LoginProber = (o.startProbes ?? startLoginProbes)(
    o.targets,
    { domain: o.domain, timeoutMs: o.probeTimeoutMs ?? 3000, intervalMs: o.probeIntervalMs ?? 250 },
    (label, result) => {
      controller.probed(label, result.ok ? { ok: true, ms: result.ms } : { ok: false, reason: result.reason });
      if (waiting.delete(label) && waiting.size === 0) baseline();
    },
    (label) => controller.probing(label, now()),
  );
  const tickMs = Math.max(50, controller.options.intervalMs / 4);
  const decide = async () => {
    while (!stopped.signal.aborted) {
      await nap(clock, tickMs, stopped.signal);
      if (!stopped.signal.aborted) controller.update(now());
    }
  };
  // registered before anyone else can wait for `ready`: the starting rate is set before they go on
  void ready.then(() => {
    if (stopped.signal.aborted) return;
    started = true;
    controller.begin(now());
    void decide();
  });
  return {
    controller,
    ready,
    sent: (count = 1, user) => {
      controller.sent(count);
      if (user) watch?.expect(user);
      else if (watch) controller.forget(count); // ended, not sent on: never counted as not back
    },
    stop() {
      if (!started) baseline();
      stopped.abort();
      prober.stop();
      watch?.stop();
    },
  };
}
