import { expect } from "chai";
import { InputError } from "../../lib/errors.ts";
import { fieldName, flagHelp, parseJobBody, readTiming, TIMING_FIELDS } from "../../lib/jobs/job-schema.ts";

function fieldOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof InputError) return err.field;
    throw err;
  }
  return undefined;
}

describe("job schema: one home for a job's defaults", () => {
  it("the defaults when nothing is given", () => {
    expect(readTiming({}, {}, "flag")).to.deep.equal({ pacing: { rate: 50, burst: 10, jitter: 0.2, maxInFlight: 1000 }, waitMs: 0, graceMs: 30_000 });
  });

  it("--rate unlimited has no in-flight cap unless one is given (flag, body or file)", () => {
    expect(readTiming({ rate: "unlimited" }, {}, "flag").pacing.maxInFlight).to.equal(Infinity);
    expect(readTiming({ rate: "unlimited", maxInFlight: "300" }, {}, "flag").pacing.maxInFlight).to.equal(300);
    expect(readTiming({}, { rate: "unlimited", max_in_flight: 400 }, "flag").pacing.maxInFlight).to.equal(400);
    expect(readTiming({ rate: "unlimited" }, { max_in_flight: 500 }, "body").pacing.maxInFlight).to.equal(500);
    expect(readTiming({ rate: "100" }, {}, "flag").pacing.maxInFlight).to.equal(1000);
  });

  it("the request wins over the file, the file over the default", () => {
    const timing = readTiming({ rate: "7" }, { rate: 5, burst: 3, grace: "10s", deadline: "1m" }, "flag");
    expect(timing.pacing).to.include({ rate: 7, burst: 3 });
    expect(timing.graceMs).to.equal(10_000);
    expect(timing.deadlineMs).to.equal(60_000);
  });

  it("errors name the field as the user wrote it: flag, pacing: key or body key", () => {
    expect(fieldOf(() => readTiming({ maxInFlight: "0" }, {}, "flag"))).to.equal("--max-in-flight");
    expect(fieldOf(() => readTiming({ maxInFlight: 0 }, {}, "body"))).to.equal("maxInFlight");
    expect(fieldOf(() => readTiming({}, { max_in_flight: 0 }, "flag"))).to.equal("pacing.max_in_flight");
    expect(fieldOf(() => readTiming({}, { jitter: 3 }, "body"))).to.equal("pacing.jitter");
    expect(fieldOf(() => readTiming({ grace: "soon" }, {}, "body"))).to.equal("grace");
  });

  it("--rate auto starts at the controller's starting rate, capped by --max-rate; --max-rate needs auto", () => {
    expect(readTiming({ rate: "auto" }, {}, "flag")).to.deep.include({ autoRate: { maxRate: 1000 } });
    expect(readTiming({ rate: "auto" }, {}, "flag").pacing.rate).to.equal(100);
    expect(readTiming({ rate: "auto", maxRate: "5" }, {}, "flag")).to.deep.include({ autoRate: { maxRate: 5 }, pacing: { rate: 5, burst: 10, jitter: 0.2, maxInFlight: 1000 } });
    expect(readTiming({}, { rate: "auto", max_rate: 300 }, "flag").autoRate).to.deep.equal({ maxRate: 300 });
    // a request's fixed rate wins over the file's auto
    expect(readTiming({ rate: 7 }, { rate: "auto" }, "body")).not.to.have.property("autoRate");
    expect(fieldOf(() => readTiming({ maxRate: "100" }, {}, "flag"))).to.equal("--max-rate");
    expect(fieldOf(() => readTiming({ maxRate: 100 }, {}, "body"))).to.equal("maxRate");
    expect(fieldOf(() => readTiming({}, { max_rate: 100 }, "flag"))).to.equal("pacing.max_rate");
    expect(fieldOf(() => readTiming({ rate: "auto", maxRate: "unlimited" }, {}, "flag"))).to.equal("--max-rate");
    expect(fieldOf(() => readTiming({ rate: "auto", maxRate: "0.5" }, {}, "flag"))).to.equal("--max-rate");
    expect(fieldOf(() => readTiming({ rate: "automatic" }, {}, "flag"))).to.equal("--rate");
    expect(parseJobBody({ kind: "drain", to: ["b"], rate: "auto", maxRate: 200 })).to.include({ rate: "auto", maxRate: 200 });
  });

  it("help texts show the same defaults the engine uses", () => {
    expect(flagHelp("jitter")).to.match(/\(default 0\.2\)$/);
    expect(flagHelp("rate")).to.match(/\(default 50\)$/);
    expect(flagHelp("deadline")).not.to.match(/default/);
    for (const key of Object.keys(TIMING_FIELDS)) expect(fieldName(key, "flag")).to.match(/^--[a-z-]+$/);
  });

  it("a body: known keys only, kind required, transfer needs jids", () => {
    expect(parseJobBody({ kind: "drain", to: ["b"], maxInFlight: 5, grace: "3s" })).to.deep.equal({ kind: "drain", to: ["b"], maxInFlight: 5, grace: "3s" });
    expect(fieldOf(() => parseJobBody({ kind: "drain", to: ["b"], max_in_flight: 5 }))).to.equal("max_in_flight");
    expect(fieldOf(() => parseJobBody({ to: ["b"] }))).to.equal("kind");
    expect(fieldOf(() => parseJobBody({ kind: "drain", to: [1] }))).to.equal("to[0]");
    expect(fieldOf(() => parseJobBody({ kind: "drain", to: ["b"], dryRun: "yes" }))).to.equal("dryRun");
    expect(fieldOf(() => parseJobBody({ kind: "transfer", to: ["b"] }))).to.equal("jids");
    expect(fieldOf(() => parseJobBody(null))).to.equal("body");
    expect(fieldOf(() => parseJobBody("drain"))).to.equal("body");
  });
});
