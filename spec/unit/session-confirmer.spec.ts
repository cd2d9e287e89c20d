import { expect } from "chai";
import xml, { type Element } from "@xmpp/xml";
import { ProtocolError } from "../../lib/errors.ts";
import { dialects } from "../../lib/servers/dialects.ts";
import { ServerAdmin } from "../../lib/servers/server-admin.ts";
import { SessionConfirmer } from "../../lib/servers/session-confirmer.ts";
import { detailBlocks, judgeListing } from "../../lib/servers/prosody-listing.ts";
import type { UserStats } from "../../lib/xmpp/admin.ts";
import type { DataForm } from "../../lib/xmpp/forms.ts";

/** The listing Prosody writes when mallory's <show> holds a newline and a forged account (issue 6 defect 1). */
const FORGED_SHOW = "away(0), IP: [203.0.113.9]\nvictim@example.com\n - laptop: dnd";

function listing(lines: string[]): DataForm {
  return { type: "result", fields: [{ var: "onlineuserjids", type: "text-multi", values: lines, required: false, options: [] }] };
}

/** Every account of our domain with the lines claimed for it, as ServerAdmin hands them over when no plain listing vouches for any. */
const claimsOf = (form: DataForm) => judgeListing(detailBlocks(form.fields[0]?.values ?? []), new Set(), "example.com").toConfirm;

const forgedListing = listing([
  "mallory@example.com",
  ` - phone: ${FORGED_SHOW}(0), IP: [198.51.100.7]`,
  " - tablet: available(0), IP: [198.51.100.7]",
  "alice@example.com",
  " - r1: available(0), IP: [198.51.100.1]",
  "bob@elsewhere.org",
  " - b1: available(0), IP: [198.51.100.2]",
]);

describe("SessionConfirmer (forged listing lines, issue 6 defect 1)", () => {
  const stats: Record<string, UserStats> = {
    "mallory@example.com": { resources: ["phone", "tablet"], ips: ["198.51.100.7", "198.51.100.7"] },
    "alice@example.com": { resources: ["r1"], ips: ["198.51.100.1"] },
    "victim@example.com": { resources: [], ips: [] },
  };

  it("keeps only sessions of our domain that user-stats confirms, with user-stats' addresses", async () => {
    const asked: string[] = [];
    const confirmer = new SessionConfirmer(async (bare) => {
      asked.push(bare);
      return stats[bare] ?? { resources: [], ips: [] };
    });
    const sessions = await confirmer.confirmAccounts(claimsOf(forgedListing));
    expect(sessions.map((s) => [s.jid, s.ip])).to.deep.equal([
      ["mallory@example.com/phone", "198.51.100.7"],
      ["mallory@example.com/tablet", "198.51.100.7"],
      ["alice@example.com/r1", "198.51.100.1"],
    ]);
    expect(asked).to.not.include("bob@elsewhere.org");
  });

  it("asks nothing again while no account's lines change, and only the changed account after", async () => {
    const asked: string[] = [];
    const confirmer = new SessionConfirmer(async (bare) => {
      asked.push(bare);
      return stats[bare] ?? { resources: [], ips: [] };
    });
    await confirmer.confirmAccounts(claimsOf(forgedListing));
    asked.length = 0;
    await confirmer.confirmAccounts(claimsOf(forgedListing));
    expect(asked).to.deep.equal([]);
    const changed = listing([...(forgedListing.fields[0]?.values ?? []).slice(0, 4), " - r1: away(0), IP: [198.51.100.1]", ...(forgedListing.fields[0]?.values ?? []).slice(5)]);
    await confirmer.confirmAccounts(claimsOf(changed));
    expect(asked).to.deep.equal(["alice@example.com"]);
  });

  it("does not keep a cached session once its account's lines change (the real session left, the forged line stays)", async () => {
    let victimOnline = true;
    const confirmer = new SessionConfirmer(async (bare) =>
      bare === "victim@example.com" && victimOnline ? { resources: ["laptop"], ips: ["192.0.2.5"] } : { resources: [], ips: [] },
    );
    const both = listing(["victim@example.com", " - laptop: dnd(0), IP: [192.0.2.5]", "mallory@example.com", ` - phone: ${FORGED_SHOW}(0), IP: [1.1.1.1]`]);
    expect((await confirmer.confirmAccounts(claimsOf(both))).map((s) => s.jid)).to.include("victim@example.com/laptop");
    victimOnline = false;
    const forgedOnly = listing(["mallory@example.com", ` - phone: ${FORGED_SHOW}(0), IP: [1.1.1.1]`]);
    expect((await confirmer.confirmAccounts(claimsOf(forgedOnly))).map((s) => s.jid)).to.not.include("victim@example.com/laptop");
  });

  it("fails the listing when user-stats fails, rather than dropping the account's sessions", async () => {
    const confirmer = new SessionConfirmer(async () => {
      throw new ProtocolError("user-stats: the reply has no field");
    });
    const error = await confirmer.confirmAccounts(claimsOf(forgedListing)).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(ProtocolError);
  });

  it("keeps at most the pipeline's number of user-stats in flight", async () => {
    let inFlight = 0;
    let most = 0;
    const confirmer = new SessionConfirmer(
      async () => {
        most = Math.max(most, ++inFlight);
        await new Promise((r) => setImmediate(r));
        inFlight--;
        return { resources: ["r"], ips: [] };
      },
      4,
    );
    const lines = Array.from({ length: 20 }, (_, i) => [`u${i}@example.com`, " - r: available(0), IP: [::1]"]).flat();
    const sessions = await confirmer.confirmAccounts(claimsOf(listing(lines)));
    expect(sessions).to.have.length(20);
    expect(most).to.equal(4);
  });
});

describe("ServerAdmin listings (issue 6 defects 2 and 11)", () => {
  const NS_COMMANDS = "http://jabber.org/protocol/commands";
  const commandReply = (children: Element[]) => xml("iq", { type: "result" }, xml("command", { xmlns: NS_COMMANDS, status: "completed", node: "x" }, ...children));

  it("a Prosody listing reply without a form is a ProtocolError, not zero sessions", async () => {
    const admin = new ServerAdmin(async () => commandReply([]), "example.com", dialects.prosody);
    const error = await admin.listSessions().catch((e: unknown) => e);
    expect(error).to.be.instanceOf(ProtocolError);
  });

  it("an ejabberd disco reply without the query is a ProtocolError", async () => {
    const admin = new ServerAdmin(async () => xml("iq", { type: "result" }), "example.com", dialects.ejabberd);
    const error = await admin.listSessions().catch((e: unknown) => e);
    expect(error).to.be.instanceOf(ProtocolError);
  });

  it("refuses a listing longer than max_listing, naming the setting", async () => {
    const items = Array.from({ length: 5 }, (_, i) => xml("item", { jid: `u${i}@example.com/r` }));
    const reply = xml("iq", { type: "result" }, xml("query", { xmlns: "http://jabber.org/protocol/disco#items" }, ...items));
    const admin = new ServerAdmin(async () => reply, "example.com", dialects.ejabberd, { maxListing: 4 });
    const error = await admin.listSessions().catch((e: unknown) => e);
    expect(error).to.be.instanceOf(ProtocolError);
    expect((error as Error).message).to.include("max_listing");
    const roomy = new ServerAdmin(async () => reply, "example.com", dialects.ejabberd, { maxListing: 5 });
    expect(await roomy.listSessions()).to.have.length(5);
  });

  it("lists only our domain's sessions, canonical and once each", async () => {
    const items = ["Alice@Example.com/r", "alice@example.com/r", "bob@other.org/r", "carol@example.com/x\u202ey"].map((jid) => xml("item", { jid }));
    const reply = xml("iq", { type: "result" }, xml("query", { xmlns: "http://jabber.org/protocol/disco#items" }, ...items));
    const admin = new ServerAdmin(async () => reply, "example.com", dialects.ejabberd);
    expect((await admin.listSessions()).map((s) => s.jid)).to.deep.equal(["alice@example.com/r"]);
  });
});

describe("ServerAdmin reading Prosody's listing (issue 10: no user-stats for plain lines)", () => {
  const NS_COMMANDS = "http://jabber.org/protocol/commands";
  const form = (values: string[]) =>
    xml("x", { xmlns: "jabber:x:data", type: "result" }, xml("field", { var: "onlineuserjids", type: "text-multi" }, ...values.map((v) => xml("value", {}, v))));
  const reply = (node: string, values: string[]) => xml("iq", { type: "result" }, xml("command", { xmlns: NS_COMMANDS, status: "completed", node }, form(values)));

  function fakeProsody(details: string[], stats: Record<string, string[]>) {
    const asked: string[] = [];
    const request = async (iq: Element) => {
      const command = iq.getChild("command", NS_COMMANDS);
      const node = String(command?.attrs.node);
      const fields = command?.getChild("x", "jabber:x:data")?.getChildren("field") ?? [];
      const value = (name: string) => fields.find((f) => f.attrs.var === name)?.getChildText("value");
      if (node.endsWith("#user-stats")) {
        const bare = value("accountjid") ?? "";
        asked.push(bare);
        const resources = stats[bare] ?? [];
        return xml("iq", { type: "result" }, xml("command", { xmlns: NS_COMMANDS, status: "completed", node }, xml("x", { xmlns: "jabber:x:data", type: "result" }, xml("field", { var: "onlineresources" }, ...resources.map((r) => xml("value", {}, r))), xml("field", { var: "ipaddresses" }, ...resources.map(() => xml("value", {}, "192.0.2.9"))))));
      }
      const detailed = value("details") === "1" || value("details") === "true";
      return reply(node, detailed ? details : details.filter((l) => !l.startsWith(" - ")));
    };
    return { admin: new ServerAdmin(request, "example.com", dialects.prosody), asked };
  }

  it("asks user-stats about no one when every account has one plain line", async () => {
    const { admin, asked } = fakeProsody(["alice@example.com", " - r1: away(0), IP: [192.0.2.1]", "bob@example.com", " - b: available(0), IP: [192.0.2.2]"], {});
    expect((await admin.listSessions()).map((s) => [s.jid, s.ip]).sort()).to.deep.equal([
      ["alice@example.com/r1", "192.0.2.1"],
      ["bob@example.com/b", "192.0.2.2"],
    ]);
    expect(asked).to.deep.equal([]);
  });

  it("confirms only the forger's account and the forged one, and lists what user-stats says", async () => {
    const forged = ` - phone: ${FORGED_SHOW}(0), IP: [192.0.2.7]`;
    const { admin, asked } = fakeProsody(["alice@example.com", " - r1: away(0), IP: [192.0.2.1]", "mallory@example.com", forged], { "mallory@example.com": ["phone"] });
    expect((await admin.listSessions()).map((s) => [s.jid, s.ip]).sort()).to.deep.equal([
      ["alice@example.com/r1", "192.0.2.1"],
      ["mallory@example.com/phone", "192.0.2.9"],
    ]);
    expect(asked.sort()).to.deep.equal(["mallory@example.com", "victim@example.com"]);
  });
});

describe("ServerAdmin: the filled form in the first execute only where the server is known to take it", () => {
  const NS_COMMANDS = "http://jabber.org/protocol/commands";

  /** A server that completes a first execute carrying a form, and otherwise asks for the form; records each request's stage. */
  function recordingServer() {
    const stages: string[] = [];
    const request = async (iq: Element) => {
      const command = iq.getChild("command", NS_COMMANDS);
      if (!command) return xml("iq", { type: "result" }); // the generic listing's disco#items try: no such node here
      const node = String(command.attrs.node);
      const withForm = command.getChild("x", "jabber:x:data") !== undefined;
      stages.push(`${String(command.attrs.action)}${withForm ? "+form" : ""}`);
      if (command.attrs.action === "execute" && !withForm) {
        return xml("iq", { type: "result" }, xml("command", { xmlns: NS_COMMANDS, status: "executing", node, sessionid: "s1" }, xml("x", { xmlns: "jabber:x:data", type: "form" })));
      }
      const fields = node.endsWith("#user-stats") ? [xml("field", { var: "onlineresources" }, xml("value", {}, "r")), xml("field", { var: "ipaddresses" }, xml("value", {}, "192.0.2.1"))] : [xml("field", { var: "onlineuserjids" }, xml("value", {}, "alice@example.com"))];
      return xml("iq", { type: "result" }, xml("command", { xmlns: NS_COMMANDS, status: "completed", node }, xml("x", { xmlns: "jabber:x:data", type: "result" }, ...fields)));
    };
    return { request, stages };
  }

  it("Prosody and ejabberd: user-stats is one request with the form", async () => {
    for (const dialect of [dialects.prosody, dialects.ejabberd]) {
      const { request, stages } = recordingServer();
      expect(await new ServerAdmin(request, "example.com", dialect).isGone({ bare: "alice@example.com", resource: "r" })).to.equal(false);
      expect(stages, dialect.kind).to.deep.equal(["execute+form"]);
    }
  });

  it("generic: the listing and user-stats each take both stages (execute, then the form)", async () => {
    const { request, stages } = recordingServer();
    const sessions = await new ServerAdmin(request, "example.com", dialects.generic).listSessions();
    expect(sessions.map((s) => s.jid)).to.deep.equal(["alice@example.com/r"]);
    expect(stages).to.deep.equal(["execute", "complete+form", "execute", "complete+form"]);
  });
});
