import { expect } from "chai";
import { detailBlocks, judgeListing } from "../../lib/servers/prosody-listing.ts";

// Which accounts of Prosody's details listing are read as they stand, and which go to user-stats (issue 6 defect 1).
const judge = (lines: string[], online: string[]) => {
  const verdict = judgeListing(detailBlocks(lines), new Set(online), "example.com");
  return { trusted: verdict.trusted.map((s) => [s.jid, s.ip, s.show, s.priority]), confirm: [...verdict.toConfirm.keys()].sort() };
};
const line = (resource: string, show = "available", ip = "192.0.2.1") => ` - ${resource}: ${show}(0), IP: [${ip}]`;

describe("Prosody listing: which lines are read as they stand", () => {
  it("reads accounts with one plain line each without asking user-stats", () => {
    const r = judge(["alice@example.com", " - r1: away(5), IP: [192.0.2.1]", "bob@example.com", " - b: unavailable(-), IP: [2001:db8::1]"], ["alice@example.com", "bob@example.com"]);
    expect(r.trusted).to.deep.equal([
      ["alice@example.com/r1", "192.0.2.1", "away", 5],
      ["bob@example.com/b", "2001:db8::1", "unavailable", undefined],
    ]);
    expect(r.confirm).to.deep.equal([]);
  });

  it("confirms the forger and the forged account when a show holds a newline and an offline account", () => {
    const forged = ` - phone: away(0), IP: [203.0.113.9]\nvictim@example.com\n - laptop: dnd(0), IP: [192.0.2.7]`;
    const r = judge(["alice@example.com", line("r1"), "mallory@example.com", forged], ["alice@example.com", "mallory@example.com"]);
    expect(r.trusted.map((t) => t[0])).to.deep.equal(["alice@example.com/r1"]);
    expect(r.confirm).to.deep.equal(["mallory@example.com", "victim@example.com"]);
  });

  it("confirms an online account named twice, and the accounts listed above each of its lines", () => {
    const forged = ` - phone: away(0), IP: [203.0.113.9]\nalice@example.com\n - r1: dnd(0), IP: [192.0.2.7]`;
    const r = judge(["carol@example.com", line("c"), "alice@example.com", line("r1"), "mallory@example.com", forged, "dave@example.com", line("d")], ["alice@example.com", "carol@example.com", "mallory@example.com", "dave@example.com"]);
    expect(r.confirm).to.deep.equal(["alice@example.com", "carol@example.com", "mallory@example.com"]);
    expect(r.trusted.map((t) => t[0])).to.deep.equal(["dave@example.com/d"]);
  });

  it("confirms an account whose block holds more than one line: a forged line in its own block cannot be told apart", () => {
    const forged = ` - phone: dnd(0), IP: [203.0.113.9]\n - phantom: away(0), IP: [192.0.2.7]`;
    expect(judge(["mallory@example.com", forged], ["mallory@example.com"]).confirm).to.deep.equal(["mallory@example.com"]);
    expect(judge(["alice@example.com", line("r1"), line("r2")], ["alice@example.com"]).confirm).to.deep.equal(["alice@example.com"]);
  });

  it("confirms a line that reads two ways or names no real address", () => {
    const online = ["m@example.com"];
    expect(judge(["m@example.com", " - phone: dnd(0), IP: [203.0.113.9]: away(0), IP: [192.0.2.7]"], online).confirm).to.deep.equal(online);
    expect(judge(["m@example.com", " - phone: away(0), IP: [fake(0), IP: [192.0.2.7]"], online).confirm).to.deep.equal(online);
    expect(judge(["m@example.com", " - phone: busy(0), IP: [192.0.2.7]"], online).confirm).to.deep.equal(online);
    expect(judge(["m@example.com", " - phone: away(0), IP: [192.0.2.7"], online).confirm).to.deep.equal(online);
    // "phone" showing "x: dnd" would read as a session "phone: x": a resource with ": " is not read as it stands
    expect(judge(["m@example.com", " - phone: x: dnd(0), IP: [192.0.2.7]"], online).confirm).to.deep.equal(online);
  });

  it("never claims a session for a resource that is not a valid resourcepart, and confirms its account", () => {
    // a bidi control would make the JID read differently from what it is; an over-long resource is no JID at all
    for (const resource of ["ph\u202Eone", "x".repeat(1024)]) {
      const verdict = judgeListing(detailBlocks(["m@example.com", line(resource), "a@example.com", line("r")]), new Set(["m@example.com", "a@example.com"]), "example.com");
      expect(verdict.trusted.map((t) => t.jid)).to.deep.equal(["a@example.com/r"]);
      expect([...verdict.toConfirm]).to.deep.equal([["m@example.com", []]]);
    }
  });

  it("reads Prosody's 'unknown' address as no address", () => {
    expect(judge(["a@example.com", " - r: away(0), IP: [unknown]"], ["a@example.com"]).trusted).to.deep.equal([["a@example.com/r", undefined, "away", 0]]);
  });

  it("confirms accounts missing from either listing, and never trusts a line written in another case or domain", () => {
    expect(judge(["a@example.com", line("r")], ["a@example.com", "late@example.com"]).confirm).to.deep.equal(["late@example.com"]);
    expect(judge(["gone@example.com", line("r")], []).confirm).to.deep.equal(["gone@example.com"]);
    const r = judge(["a@example.com", line("r"), "B@Example.com", line("s"), "x@elsewhere.org", line("t")], ["a@example.com", "b@example.com"]);
    expect(r.trusted).to.deep.equal([]);
    expect(r.confirm).to.deep.equal(["a@example.com", "b@example.com"]);
  });

  it("drops detail lines that come before any account line", () => {
    const r = judge([line("orphan"), "a@example.com", line("r")], ["a@example.com"]);
    expect(r.trusted.map((t) => t[0])).to.deep.equal(["a@example.com/r"]);
  });
});
