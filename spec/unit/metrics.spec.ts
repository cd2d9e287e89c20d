import { EventEmitter } from "node:events";
import { expect } from "chai";
import { Metrics } from "../../lib/api/metrics.ts";
import type { Link } from "../../lib/link/link.ts";

const at = (ms: number) => new Date(1_700_000_000_000 + ms).toISOString();

describe("daemon metrics", () => {
  it("counts settled sessions by outcome and last method, and observes packet round trips", async () => {
    const metrics = new Metrics();
    const job = "j-1";
    const events = [
      { event: "scan", sessions: 3, ts: at(0) },
      { event: "sent", jid: "u1@x/r", ts: at(10) },
      { event: "acked", jid: "u1@x/r", ts: at(60) },
      { event: "moved", jid: "u1@x/r", ts: at(900) },
      { event: "sent", jid: "u2@x/r", ts: at(20) },
      { event: "rejected", jid: "u2@x/r", condition: "service-unavailable", ts: at(30) },
      { event: "kick", jid: "u2@x/r", ts: at(40) },
      { event: "kicked", jid: "u2@x/r", ts: at(1000) },
      { event: "skipped", jid: "u3@x/r", ts: at(50) },
    ];
    for (const e of events) metrics.jobEvent("a", { ...e, job });
    metrics.jobFinished("drain", "done", 2500);
    const text = await metrics.registry.metrics();
    expect(text).to.include('cxfr_transfers_total{node="a",outcome="moved",method="cxfr"} 1');
    expect(text).to.include('cxfr_transfers_total{node="a",outcome="kicked",method="kick"} 1');
    expect(text).to.include('cxfr_transfers_total{node="a",outcome="skipped",method="none"} 1');
    expect(text).to.include('cxfr_sessions{node="a"} 3');
    expect(text).to.include('cxfr_packet_round_trip_seconds_count{node="a",reply="acked"} 1');
    expect(text).to.include('cxfr_packet_round_trip_seconds_sum{node="a",reply="acked"} 0.05');
    expect(text).to.include('cxfr_packet_round_trip_seconds_sum{node="a",reply="rejected"} 0.01');
    expect(text).to.include('cxfr_job_duration_seconds_sum{kind="drain",state="done"} 2.5');
    expect(text).to.include('cxfr_jobs_total{kind="drain",state="done"} 1');
  });

  it("follows a link up, down and reconnecting", async () => {
    const metrics = new Metrics();
    const link = Object.assign(new EventEmitter(), { state: "online" }) as unknown as Link;
    metrics.watchLink("a", link);
    link.emit("offline");
    link.emit("reconnecting", 1, 1000);
    link.emit("reconnecting", 2, 2000);
    let text = await metrics.registry.metrics();
    expect(text).to.include('cxfr_link_up{node="a"} 0');
    expect(text).to.include('cxfr_link_reconnects_total{node="a"} 2');
    link.emit("online");
    text = await metrics.registry.metrics();
    expect(text).to.include('cxfr_link_up{node="a"} 1');
    expect(text).to.include('cxfr_link_changes_total{node="a",state="down"} 1');
    expect(text).to.include('cxfr_link_changes_total{node="a",state="up"} 1');
  });
});
