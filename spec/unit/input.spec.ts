import { expect } from "chai";
import { InputError } from "../../lib/errors.ts";
import { parseDuration, parseFraction, parsePositiveInt, parseRate } from "../../lib/input.ts";
import { thrownBy } from "./support/xml.ts";

function rejection(fn: () => unknown, field: string): InputError {
  const error = thrownBy(fn);
  expect(error).to.be.instanceOf(InputError);
  expect((error as InputError).field).to.equal(field);
  expect((error as InputError).message.startsWith(`${field}: `)).to.equal(true);
  return error as InputError;
}

describe("input", () => {
  describe("parseDuration", () => {
    it("reads each unit and their combinations in milliseconds", () => {
      const cases: Record<string, number> = {
        "250ms": 250,
        "30s": 30_000,
        "5m": 300_000,
        "1h": 3_600_000,
        "1h30m": 5_400_000,
        "1m30s500ms": 90_500,
        "1.5s": 1_500,
        "0s": 0,
      };
      for (const [input, ms] of Object.entries(cases)) expect(parseDuration(input, "--grace"), input).to.equal(ms);
    });

    it("reads a plain number, string or number, as seconds", () => {
      expect(parseDuration("30", "--grace")).to.equal(30_000);
      expect(parseDuration("0.25", "--grace")).to.equal(250);
      expect(parseDuration(2, "grace")).to.equal(2_000);
      expect(parseDuration(0, "grace")).to.equal(0);
    });

    it("rounds to whole milliseconds", () => {
      expect(parseDuration("1.1s", "grace")).to.equal(1_100);
      expect(parseDuration("0.0004s", "grace")).to.equal(0);
    });

    it("rejects malformed durations, naming the field", () => {
      for (const input of ["5x", "", "-1s", "1.2.3s", " 5s", "5s ", "5 s", "s", "1e3", "30m1h", "1s1s", "5M", "Infinity", ".5s"]) {
        const error = rejection(() => parseDuration(input, "--wait"), "--wait");
        expect(error.message, input).to.include("is not a duration");
      }
      for (const input of [-1, NaN, Infinity]) rejection(() => parseDuration(input, "wait"), "wait");
    });

    it("rejects durations Node's timers cannot wait for", () => {
      expect(parseDuration(`${2 ** 31 - 1}ms`, "deadline")).to.equal(2 ** 31 - 1);
      expect(rejection(() => parseDuration("1000h", "deadline"), "deadline").message).to.include("too long");
    });

    it("rejects values that are neither string nor number", () => {
      rejection(() => parseDuration(null as unknown as string, "grace"), "grace");
      rejection(() => parseDuration(true as unknown as string, "grace"), "grace");
    });
  });

  describe("parseRate", () => {
    it("reads positive numbers and 'unlimited'", () => {
      expect(parseRate("50", "--rate")).to.equal(50);
      expect(parseRate("0.5", "--rate")).to.equal(0.5);
      expect(parseRate(12, "rate")).to.equal(12);
      expect(parseRate("unlimited", "--rate")).to.equal(Infinity);
      expect(parseRate(Infinity, "rate")).to.equal(Infinity);
    });

    it("rejects zero, negatives, NaN and anything else", () => {
      for (const input of ["0", "-5", "5x", "", "NaN", " 5", "Unlimited", "1/s"]) {
        expect(rejection(() => parseRate(input, "--rate"), "--rate").message, input).to.include("is not a rate");
      }
      for (const input of [0, -1, NaN]) rejection(() => parseRate(input, "rate"), "rate");
    });
  });

  describe("parsePositiveInt", () => {
    it("reads whole numbers from strings and numbers", () => {
      expect(parsePositiveInt("200", "--max-in-flight")).to.equal(200);
      expect(parsePositiveInt(10, "burst")).to.equal(10);
      expect(parsePositiveInt("1", "burst")).to.equal(1);
    });

    it("defaults the minimum to 1 and honours min and max", () => {
      expect(rejection(() => parsePositiveInt("0", "--burst"), "--burst").message).to.include("below the minimum 1");
      expect(parsePositiveInt("0", "--burst", { min: 0 })).to.equal(0);
      expect(parsePositiveInt("10", "--count", { max: 10 })).to.equal(10);
      expect(rejection(() => parsePositiveInt("11", "--count", { max: 10 }), "--count").message).to.include("above the maximum 10");
    });

    it("rejects fractions, signs, blanks and unsafe integers", () => {
      for (const input of ["1.5", "-1", "+1", "", " 1", "1e3", "abc", "9007199254740993"]) {
        expect(rejection(() => parsePositiveInt(input, "--count"), "--count").message, input).to.include("not a whole number");
      }
      for (const input of [1.5, NaN, Infinity]) rejection(() => parsePositiveInt(input, "count"), "count");
    });
  });

  describe("parseFraction", () => {
    it("accepts 0 through 1 inclusive", () => {
      expect(parseFraction("0", "--jitter")).to.equal(0);
      expect(parseFraction("0.2", "--jitter")).to.equal(0.2);
      expect(parseFraction("1", "--jitter")).to.equal(1);
      expect(parseFraction(0.5, "jitter")).to.equal(0.5);
    });

    it("rejects values outside 0..1 and non-numbers", () => {
      for (const input of ["1.01", "-0.1", "abc", "", "20%", " 0.2"]) {
        expect(rejection(() => parseFraction(input, "--jitter"), "--jitter").message, input).to.include("not a fraction");
      }
      for (const input of [1.5, -0.1, NaN]) rejection(() => parseFraction(input, "jitter"), "jitter");
    });
  });
});
