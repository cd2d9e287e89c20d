import { expect } from "chai";
import { InputError } from "../../lib/errors.ts";
import { bareJid, canonicalJid, formatJid, parseFullJid, parseJid, resourceOf, sameJid } from "../../lib/xmpp/jid.ts";
import { thrownBy } from "./support/xml.ts";

function rejection(input: string, field = "jid"): InputError {
  const error = thrownBy(() => parseJid(input, field));
  expect(error).to.be.instanceOf(InputError);
  return error as InputError;
}

/** `count` labels of `size` letters joined with dots. */
function longDomain(count: number, size: number): string {
  return Array.from({ length: count }, () => "a".repeat(size)).join(".");
}

describe("jid", () => {
  describe("parseJid", () => {
    it("splits a full JID into its three parts", () => {
      expect(parseJid("alice@localhost/r1", "to")).to.deep.equal({ local: "alice", domain: "localhost", resource: "r1" });
    });

    it("omits the parts that are absent", () => {
      expect(parseJid("localhost", "to")).to.deep.equal({ domain: "localhost" });
      expect(parseJid("alice@localhost", "to")).to.deep.equal({ local: "alice", domain: "localhost" });
      expect(parseJid("localhost/r1", "to")).to.deep.equal({ domain: "localhost", resource: "r1" });
    });

    it("starts the resource at the first slash, so it may contain '/', '@', ':' and spaces", () => {
      expect(parseJid("alice@example.com/a/b", "to").resource).to.equal("a/b");
      expect(parseJid("example.com/x@y", "to")).to.deep.equal({ domain: "example.com", resource: "x@y" });
      expect(parseJid("alice@localhost/my phone: 2", "to").resource).to.equal("my phone: 2");
    });

    it("refuses an invalid domain however many valid ones it checked before", () => {
      for (let i = 0; i < 100; i++) expect(parseJid(`alice@host${i}.example`, "to").domain).to.equal(`host${i}.example`);
      expect(parseJid("alice@host1.example", "to").domain).to.equal("host1.example");
      expect(rejection("alice@bad_host.example").message).to.include("not allowed in a host name");
      expect(rejection("alice@bad_host.example").message).to.include("not allowed in a host name");
    });

    it("accepts IPv4 and bracketed IPv6 domains", () => {
      expect(parseJid("alice@127.0.0.1/r", "to").domain).to.equal("127.0.0.1");
      expect(parseJid("alice@[::1]/r", "to")).to.deep.equal({ local: "alice", domain: "[::1]", resource: "r" });
      expect(parseJid("[2001:db8::7]", "to").domain).to.equal("[2001:db8::7]");
    });

    it("accepts internationalised parts and hyphens inside labels", () => {
      expect(parseJid("jürgen@bücher.example/電話", "to")).to.deep.equal({
        local: "jürgen",
        domain: "bücher.example",
        resource: "電話",
      });
      expect(parseJid("a@my-host.example", "to").domain).to.equal("my-host.example");
    });

    it("keeps case as written", () => {
      expect(parseJid("Alice@LocalHost/R1", "to")).to.deep.equal({ local: "Alice", domain: "LocalHost", resource: "R1" });
    });

    it("names the field and quotes the input in a one-line message", () => {
      const error = rejection("alice@", "to");
      expect(error.message).to.equal('to: "alice@" has an empty domain');
      expect(error.field).to.equal("to");
      expect(error.exitCode).to.equal(2);
      expect(error.code).to.equal("invalid_input");
      expect(rejection("a@b\nc").message).to.not.include("\n");
    });

    it("rejects empty input and empty parts", () => {
      expect(rejection("").message).to.include("is empty");
      expect(rejection("@localhost").message).to.include("empty localpart");
      expect(rejection("alice@localhost/").message).to.include("empty resource");
      expect(rejection("alice@/r1").message).to.include("empty domain");
    });

    it("rejects leading or trailing whitespace instead of trimming it", () => {
      for (const input of [" alice@localhost", "alice@localhost ", "alice@localhost/r1\n", "\talice@localhost"]) {
        expect(rejection(input).message, input).to.include("leading or trailing whitespace");
      }
    });

    it("rejects each character RFC 7622 forbids in a localpart", () => {
      for (const char of ['"', "&", "'", ":", "<", ">", " ", "\t", "\u0000", "\u00a0"]) {
        const error = rejection(`al${char}ice@localhost`);
        expect(error.message, JSON.stringify(char)).to.include("in the localpart");
      }
    });

    it("rejects a second '@' before the resource", () => {
      expect(rejection("a@b@c").message).to.include('more than one "@"');
    });

    it("rejects domains that are not hostnames, IPv4 or [IPv6]", () => {
      const cases: Record<string, string> = {
        "alice@-host": "hyphen",
        "alice@host-": "hyphen",
        "alice@exa_mple.com": '"_"',
        "alice@a..b": "empty label",
        "alice@example.com.": "ends with a dot",
        [`alice@${"a".repeat(64)}.com`]: "longer than 63",
        "alice@999.1.1.1": "IPv4",
        "alice@1.2.3": "IPv4",
        "alice@[::1": "[IPv6]",
        "alice@[not-v6]": "[IPv6]",
        "alice@[fe80::1%eth0]": "[IPv6]",
        "alice@::1": '":"',
      };
      for (const [input, reason] of Object.entries(cases)) {
        expect(rejection(input).message, input).to.include(reason);
      }
    });

    it("rejects control characters in the resource", () => {
      expect(rejection("alice@localhost/r\u0007").message).to.include("control character");
    });

    it("accepts 1023-byte parts and rejects 1024-byte parts, counting UTF-8 bytes", () => {
      expect(parseJid(`${"a".repeat(1023)}@localhost`, "to").local).to.have.length(1023);
      expect(rejection(`${"a".repeat(1024)}@localhost`).message).to.include("localpart longer than 1023 bytes");
      // "é" is two bytes in UTF-8.
      expect(parseJid(`${"é".repeat(511)}a@localhost`, "to").local).to.have.length(512);
      expect(rejection(`${"é".repeat(512)}@localhost`).message).to.include("localpart longer");

      expect(parseJid(`alice@localhost/${"r".repeat(1023)}`, "to").resource).to.have.length(1023);
      expect(rejection(`alice@localhost/${"r".repeat(1024)}`).message).to.include("resource longer than 1023 bytes");
      expect(rejection(`alice@localhost/${"é".repeat(512)}`).message).to.include("resource longer");

      const domain1023 = longDomain(16, 63); // 16 × 63 + 15 dots
      expect(domain1023).to.have.length(1023);
      expect(parseJid(`alice@${domain1023}`, "to").domain).to.equal(domain1023);
      expect(rejection(`alice@${domain1023}a`).message).to.include("domain longer than 1023 bytes");
    });

    it("rejects input that is not a string", () => {
      expect(thrownBy(() => parseJid(42 as unknown as string, "to"))).to.be.instanceOf(InputError);
    });
  });

  describe("parseFullJid", () => {
    it("returns all three parts of a full JID", () => {
      expect(parseFullJid("bob@localhost/laptop", "jid")).to.deep.equal({
        local: "bob",
        domain: "localhost",
        resource: "laptop",
      });
    });

    it("rejects a JID without localpart or without resource", () => {
      const noLocal = thrownBy(() => parseFullJid("localhost/r1", "jid")) as InputError;
      expect(noLocal).to.be.instanceOf(InputError);
      expect(noLocal.message).to.equal('jid: "localhost/r1" has no localpart (expected user@domain/resource)');
      const noResource = thrownBy(() => parseFullJid("alice@localhost", "jid")) as InputError;
      expect(noResource.message).to.equal('jid: "alice@localhost" has no resource (expected user@domain/resource)');
    });

    it("still applies every parseJid rule", () => {
      expect(thrownBy(() => parseFullJid("al ice@localhost/r1", "jid"))).to.be.instanceOf(InputError);
    });
  });

  describe("formatJid", () => {
    it("round-trips every valid shape", () => {
      for (const input of [
        "alice@localhost/r1",
        "localhost",
        "alice@localhost",
        "localhost/r1",
        "alice@[::1]/a/b",
        "jürgen@bücher.example/電話",
        "alice@localhost/my phone: 2",
      ]) {
        expect(formatJid(parseJid(input, "to"))).to.equal(input);
      }
    });
  });

  describe("bareJid", () => {
    it("drops the resource of a string at its first slash", () => {
      expect(bareJid("alice@localhost/r1/x")).to.equal("alice@localhost");
      expect(bareJid("localhost/r1")).to.equal("localhost");
      expect(bareJid("alice@localhost")).to.equal("alice@localhost");
    });

    it("drops the resource of a parsed JID", () => {
      expect(bareJid({ local: "alice", domain: "localhost", resource: "r1" })).to.equal("alice@localhost");
      expect(bareJid({ domain: "localhost", resource: "r1" })).to.equal("localhost");
    });
  });

  describe("resourceOf", () => {
    it("returns what follows the first slash, or undefined", () => {
      expect(resourceOf("alice@localhost/r1/x")).to.equal("r1/x");
      expect(resourceOf("alice@localhost")).to.equal(undefined);
    });
  });

  // issue 6 defect 6
  describe("canonicalJid", () => {
    it("case-folds localpart and domain, keeps the resource as is", () => {
      expect(canonicalJid("VIP@Example.COM/Laptop")).to.equal("vip@example.com/Laptop");
      expect(canonicalJid("VIP@Example.COM")).to.equal("vip@example.com");
      expect(canonicalJid({ local: "Ä", domain: "X.org", resource: "R" })).to.equal("ä@x.org/R");
      expect(sameJid("VIP@example.com", "vip@EXAMPLE.com")).to.equal(true);
      expect(sameJid("vip@example.com/A", "vip@example.com/a")).to.equal(false);
    });

    it("normalises to NFC, so a decomposed letter equals the composed one", () => {
      expect(sameJid("jo\u0065\u0301@example.com", "jo\u00e9@example.com")).to.equal(true);
    });

    it("drops the domain's trailing dot and leaves an already canonical JID as it is", () => {
      expect(canonicalJid("vip@example.com./Laptop")).to.equal("vip@example.com/Laptop");
      expect(canonicalJid("example.com.")).to.equal("example.com");
      expect(canonicalJid("vip@example.com/Laptop.")).to.equal("vip@example.com/Laptop.");
      expect(canonicalJid("vip@example.com/A@B.C")).to.equal("vip@example.com/A@B.C");
      expect(canonicalJid("vip@ex\u00c4mple.com/r")).to.equal("vip@ex\u00e4mple.com/r");
      expect(canonicalJid("vip@example.com/r")).to.equal("vip@example.com/r");
      expect(canonicalJid({ local: "vip", domain: "example.com.", resource: "R" })).to.equal("vip@example.com/R");
      expect(canonicalJid({ local: "vip", domain: "example.com", resource: "R" })).to.equal("vip@example.com/R");
      expect(canonicalJid({ domain: "Example.com" })).to.equal("example.com");
    });
  });

  describe("RFC 7622 forbidden characters", () => {
    it("rejects bidi controls and format characters in every part, naming them by code point", () => {
      for (const input of ["vi\u202ep@example.com", "vip@example.com/lap\u202etop", "vip@exa\u202emple.com", "a\u200eb@example.com", "vip@example.com/x\u2066y"]) {
        const message = rejection(input).message;
        expect(message, input).to.match(/U\+20[026]/);
        expect(message, input).not.to.match(/[\u200e\u202a-\u202e\u2066-\u2069]/);
      }
    });
  });
});
