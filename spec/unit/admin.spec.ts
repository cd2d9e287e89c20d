import { expect } from "chai";
import {
  AdminNode,
  parseDiscoOnlineUsers,
  requiredFieldValues,
  parseUserStats,
  type LiveSession,
} from "../../lib/xmpp/admin.ts";
import { parseCommandResponse } from "../../lib/xmpp/commands.ts";
import { detailBlocks, judgeListing } from "../../lib/servers/prosody-listing.ts";
import { ProtocolError } from "../../lib/errors.ts";
import type { DataForm } from "../../lib/xmpp/forms.ts";
import { parseXml } from "../../lib/xmpp/stanza.ts";
import * as ejabberd from "../fixtures/ejabberd.ts";
import * as prosody from "../fixtures/prosody.ts";

function resultForm(stanza: string): DataForm {
  return parseCommandResponse(parseXml(stanza)).form!;
}

/** A Prosody details form with the given onlineuserjids lines. */
function onlineUsersForm(lines: string[]): DataForm {
  return {
    type: "result",
    fields: [{ var: "onlineuserjids", type: "text-multi", values: lines, required: false, options: [] }],
  };
}

describe("admin (XEP-0133)", () => {
  it("names the XEP-0133 nodes both servers list", () => {
    expect(AdminNode).to.deep.equal({
      onlineUsersList: "http://jabber.org/protocol/admin#get-online-users-list",
      endUserSession: "http://jabber.org/protocol/admin#end-user-session",
      userStats: "http://jabber.org/protocol/admin#user-stats",
      announce: "http://jabber.org/protocol/admin#announce",
      addUser: "http://jabber.org/protocol/admin#add-user",
    });
  });

  describe("Prosody's details listing: what its lines claim", () => {
    // with no plain listing to vouch for them, every account is handed to user-stats with its claimed lines
    const claims = (form: DataForm) => [...judgeListing(detailBlocks(requiredFieldValues(form, "onlineuserjids", "get-online-users-list")), new Set(), "localhost").toConfirm.values()].flat();

    it("reads every session of the real details=1 result", () => {
      const local = { ip: "127.0.0.1" };
      expect(claims(resultForm(prosody.ONLINE_USERS_DETAILS_RESULT))).to.deep.equal([
        { jid: "alice@localhost/r1", bare: "alice@localhost", resource: "r1", ...local, show: "available", priority: 0 },
        { jid: "alice@localhost/r2", bare: "alice@localhost", resource: "r2", ...local, show: "available", priority: 0 },
        { jid: "carol@localhost/phone", bare: "carol@localhost", resource: "phone", ...local, show: "away", priority: 5 },
        { jid: "admin@localhost/console", bare: "admin@localhost", resource: "console", ...local, show: "available", priority: 0 },
        { jid: "bob@localhost/laptop", bare: "bob@localhost", resource: "laptop", ...local, show: "available", priority: 0 },
      ] satisfies LiveSession[]);
    });

    it("reads the component's result (alice/r1 only)", () => {
      expect(claims(resultForm(prosody.COMPONENT_ONLINE_USERS_RESULT)).map((session) => session.jid)).to.deep.equal(["alice@localhost/r1"]);
    });

    it("gives no sessions for account lines without detail lines (details=0)", () => {
      expect(claims(resultForm(prosody.ONLINE_USERS_RESULT))).to.deep.equal([]);
    });

    it("reads unavailable(-) as a session without presence and without priority", () => {
      const [session] = claims(onlineUsersForm(["alice@localhost", " - r2: unavailable(-), IP: [127.0.0.1]"]));
      expect(session).to.deep.equal({ jid: "alice@localhost/r2", bare: "alice@localhost", resource: "r2", ip: "127.0.0.1", show: "unavailable" });
    });

    it("splits on the last ': ' before the show token, so resources may contain ':' and spaces", () => {
      const sessions = claims(onlineUsersForm(["dave@localhost", " - my phone: work: dnd(-1), IP: [::1]", " - a:b: xa(10), IP: [10.0.0.5]", " - tablet (home): chat(3), IP: [192.0.2.1]"]));
      expect(sessions.map(({ resource, show, priority, ip }) => ({ resource, show, priority, ip }))).to.deep.equal([
        { resource: "my phone: work", show: "dnd", priority: -1, ip: "::1" },
        { resource: "a:b", show: "xa", priority: 10, ip: "10.0.0.5" },
        { resource: "tablet (home)", show: "chat", priority: 3, ip: "192.0.2.1" },
      ]);
    });

    it("leaves out an unknown IP; a line of another layout or another presence word claims nothing (its account is asked)", () => {
      const sessions = claims(onlineUsersForm(["erin@localhost", " - r1: available(0), IP: [unknown]", " - r2: something new", " - r3: gone-fishing(0), IP: [127.0.0.1]"]));
      expect(sessions.map((s) => s.jid)).to.deep.equal(["erin@localhost/r1"]);
      expect(sessions[0]).to.not.have.property("ip");
    });

    it("splits values that hold several lines and ignores detail lines before any account line", () => {
      const sessions = claims(onlineUsersForm([" - orphan: available(0), IP: [1.2.3.4]", "frank@localhost\n - r1: away(1), IP: [1.2.3.4]"]));
      expect(sessions.map((session) => session.jid)).to.deep.equal(["frank@localhost/r1"]);
    });

    // issue 6 defect 2: a broken listing is not "everyone left"
    it("refuses a reply without the field or without a form as a protocol error", () => {
      expect(() => requiredFieldValues({ type: "result", fields: [] }, "onlineuserjids", "get-online-users-list")).to.throw(ProtocolError, /onlineuserjids/);
      expect(() => requiredFieldValues(undefined, "onlineuserjids", "get-online-users-list")).to.throw(ProtocolError, /data form/);
    });
  });

  describe("parseDiscoOnlineUsers", () => {
    it("reads ejabberd's 'online users' items as full JIDs, from the query or the iq", () => {
      const iq = parseXml(ejabberd.DISCO_ONLINE_USERS_RESULT);
      const expected = [
        ["admin@localhost", "adm"],
        ["alice@localhost", "r1"],
        ["alice@localhost", "r2"],
        ["bob@localhost", "b1"],
        ["bob@localhost", "b2"],
        ["carol@localhost", "c1"],
      ].map(([bare, resource]) => ({ jid: `${bare}/${resource}`, bare, resource }));
      expect(parseDiscoOnlineUsers(iq.getChild("query")!)).to.deep.equal(expected);
      expect(parseDiscoOnlineUsers(iq)).to.deep.equal(expected);
    });

    it("skips bare items (the 'all users' node) and items without a jid", () => {
      const query = parseXml(
        "<query xmlns='http://jabber.org/protocol/disco#items' node='all users'><item name='admin@localhost' jid='admin@localhost'/><item name='x'/><item jid='bob@localhost/'/><item jid='bob@localhost/b 1'/></query>",
      );
      expect(parseDiscoOnlineUsers(query)).to.deep.equal([{ jid: "bob@localhost/b 1", bare: "bob@localhost", resource: "b 1" }]);
    });
  });

  describe("parseUserStats", () => {
    it("reads Prosody's resources and IPs", () => {
      expect(parseUserStats(resultForm(prosody.USER_STATS_RESULT))).to.deep.equal({
        resources: ["r1", "r2"],
        ips: ["127.0.0.1", "127.0.0.1"],
      });
    });

    it("reads ejabberd's resources and ip:port addresses as written", () => {
      expect(parseUserStats(resultForm(ejabberd.USER_STATS_RESULT))).to.deep.equal({
        resources: ["r2", "r1"],
        ips: ["127.0.0.1:55848", "127.0.0.1:55834"],
      });
    });

    it("gives empty lists for an account with no sessions", () => {
      const empty = { var: "onlineresources", type: "text-multi", values: [], required: false, options: [] };
      expect(parseUserStats({ type: "result", fields: [empty] })).to.deep.equal({ resources: [], ips: [] });
    });

    it("refuses a reply without onlineresources: an account whose sessions cannot be read is not an account without sessions", () => {
      expect(() => parseUserStats({ type: "result", fields: [] })).to.throw(ProtocolError, /onlineresources/);
    });
  });
});
