import { expect } from "chai";
import { InputError } from "../../lib/errors.ts";
import { formatHostPort, parseHostPort, parsePort } from "../../lib/xmpp/address.ts";
import { thrownBy } from "./support/xml.ts";

function rejection(input: string, field = "to"): InputError {
  const error = thrownBy(() => parseHostPort(input, field));
  expect(error, input).to.be.instanceOf(InputError);
  return error as InputError;
}

describe("address", () => {
  describe("parseHostPort", () => {
    it("reads a host name with and without port", () => {
      expect(parseHostPort("node-a.example.com:5222", "to")).to.deep.equal({ host: "node-a.example.com", port: 5222 });
      expect(parseHostPort("localhost", "to")).to.deep.equal({ host: "localhost" });
    });

    it("reads IPv4 addresses, each octet 0-255", () => {
      expect(parseHostPort("127.0.0.1:15222", "to")).to.deep.equal({ host: "127.0.0.1", port: 15222 });
      expect(parseHostPort("255.255.255.255", "to")).to.deep.equal({ host: "255.255.255.255" });
      expect(rejection("256.1.1.1:5222").message).to.include("IPv4");
      expect(rejection("10.0.0:5222").message).to.include("IPv4");
    });

    it("reads bracketed IPv6 with and without port, storing the host without brackets", () => {
      expect(parseHostPort("[::1]:5222", "to")).to.deep.equal({ host: "::1", port: 5222 });
      expect(parseHostPort("[2001:db8::1]", "to")).to.deep.equal({ host: "2001:db8::1" });
    });

    it("accepts an unbracketed IPv6 address only when it cannot be read as address plus port", () => {
      expect(parseHostPort("::1", "to")).to.deep.equal({ host: "::1" });
      expect(parseHostPort("2001:db8::1", "to")).to.deep.equal({ host: "2001:db8::1" });
      expect(rejection("::1:5222").message).to.include("ambiguous");
      expect(rejection("fe80::1:2").message).to.include("ambiguous");
      expect(rejection("a:b:c").message).to.include("more than one");
    });

    it("accepts ports 1 and 65535 and rejects the values around them", () => {
      expect(parseHostPort("h:1", "to").port).to.equal(1);
      expect(parseHostPort("h:65535", "to").port).to.equal(65535);
      expect(rejection("host:0").message).to.include("out of range");
      expect(rejection("host:65536").message).to.include("out of range");
    });

    it("rejects the malformed shapes with a reason that names the field and the input", () => {
      const cases: Record<string, string> = {
        "host:": "empty port",
        ":5222": "no host",
        "a b": "whitespace",
        " host:5222": "whitespace",
        "host:5x": '"5x" that is not a number',
        "host:+5": "not a number",
        "host:5222:1": "more than one",
        "": "is empty",
        "[::1]5222": "not \":port\"",
        "[::1": "without a closing",
        "[example.com]:5222": "not an IPv6",
        "[fe80::1%eth0]:5222": "not an IPv6",
        "exa_mple.com:5222": '"_"',
        "-host": "hyphen",
        "example.com.": "ends with a dot",
      };
      for (const [input, reason] of Object.entries(cases)) {
        const error = rejection(input, "--to");
        expect(error.message, input).to.include(reason);
        expect(error.message, input).to.match(/^--to: /);
        expect(error.field).to.equal("--to");
      }
    });

    it("limits a host name to 253 characters", () => {
      const host253 = `${"a".repeat(63)}.${"b".repeat(63)}.${"c".repeat(63)}.${"d".repeat(61)}`;
      expect(host253).to.have.length(253);
      expect(parseHostPort(host253, "to").host).to.equal(host253);
      expect(rejection(`${host253}e`).message).to.include("longer than 253");
    });
  });

  describe("parsePort", () => {
    it("accepts digits and whole numbers within 1-65535", () => {
      expect(parsePort("5222", "port")).to.equal(5222);
      expect(parsePort(5347, "port")).to.equal(5347);
      expect(parsePort("1", "port")).to.equal(1);
      expect(parsePort(65535, "port")).to.equal(65535);
    });

    it("rejects everything else, naming the field", () => {
      for (const input of ["", "0", "65536", "5x", "-1", " 5222", "52.2", "0x10"] as const) {
        const error = thrownBy(() => parsePort(input, "port")) as InputError;
        expect(error, input).to.be.instanceOf(InputError);
        expect(error.field).to.equal("port");
      }
      for (const input of [0, -1, 65536, 52.5, NaN, Infinity]) {
        expect(thrownBy(() => parsePort(input, "port")), String(input)).to.be.instanceOf(InputError);
      }
    });
  });

  describe("formatHostPort", () => {
    it("brackets IPv6 and appends the port when there is one", () => {
      expect(formatHostPort({ host: "::1", port: 5222 })).to.equal("[::1]:5222");
      expect(formatHostPort({ host: "::1" })).to.equal("[::1]");
      expect(formatHostPort({ host: "127.0.0.1", port: 15222 })).to.equal("127.0.0.1:15222");
      expect(formatHostPort({ host: "node-b.example.com" })).to.equal("node-b.example.com");
    });

    it("round-trips through parseHostPort", () => {
      for (const input of ["[::1]:5222", "[2001:db8::1]", "127.0.0.1:15222", "node-a.example.com:5222", "localhost"]) {
        expect(formatHostPort(parseHostPort(input, "to"))).to.equal(input);
      }
    });
  });
});
