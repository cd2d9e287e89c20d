import { expect } from "chai";
import { CommandError, ProtocolError, StanzaError } from "../../lib/errors.ts";
import { AdminNode } from "../../lib/xmpp/admin.ts";
import { buildCommandIq, parseCommandResponse, runCommand } from "../../lib/xmpp/commands.ts";
import { buildSubmitForm, fieldValue, fieldValues } from "../../lib/xmpp/forms.ts";
import { parseXml } from "../../lib/xmpp/stanza.ts";
import * as ejabberd from "../fixtures/ejabberd.ts";
import * as prosody from "../fixtures/prosody.ts";
import { canonicalXml, ignoreId, ignoreIdAndFormTypeType, rejectionOf, scriptedRequester, thrownBy } from "./support/xml.ts";

const ADMIN = "http://jabber.org/protocol/admin";

/** Asserts that each sent stanza equals the transcript's, ignoring ids (and, for Prosody, FORM_TYPE's type). */
function expectSent(sent: { toString(): string }[], expected: string[], ignore = ignoreId): void {
  expect(sent.map((el) => canonicalXml(parseXml(el.toString()), ignore))).to.deep.equal(
    expected.map((stanza) => canonicalXml(parseXml(stanza), ignore)),
  );
}

/** Prosody's forbidden payload (status canceled, note type error) delivered in a result, as XEP-0050 allows. */
const CANCELED_WITH_ERROR_NOTE = prosody.FORBIDDEN_REPLY.replace("type='error'", "type='result'").replace(
  /<error type='auth'>.*<\/error>/,
  "",
);

describe("commands (XEP-0050)", () => {
  describe("buildCommandIq", () => {
    it("writes exactly the execute the Prosody probe sent", () => {
      const iq = buildCommandIq({ to: "localhost", node: AdminNode.onlineUsersList, id: "pzy162814u" });
      expect(iq.toString()).to.equal(prosody.ONLINE_USERS_EXECUTE);
    });

    it("adds from, sessionid, action and the form as the ejabberd probe sent them", () => {
      const iq = buildCommandIq({
        to: "localhost",
        from: "cxfr.localhost",
        node: AdminNode.endUserSession,
        sessionid: "2026-11-25T22:00:12.351832Z",
        action: "complete",
        form: buildSubmitForm({ accountjid: "alice@localhost/r2" }, ADMIN),
      });
      expectSent([iq], [ejabberd.END_SESSION_SUBMIT]);
    });

    it("leaves out id, from and sessionid when not given", () => {
      const iq = buildCommandIq({ to: "localhost", node: AdminNode.announce });
      expect(Object.keys(iq.attrs)).to.deep.equal(["type", "to"]);
      expect(iq.getChild("command")!.attrs).to.deep.equal({
        xmlns: "http://jabber.org/protocol/commands",
        node: AdminNode.announce,
        action: "execute",
      });
    });
  });

  describe("parseCommandResponse", () => {
    it("reads Prosody's executing reply: session, form and actions", () => {
      const response = parseCommandResponse(parseXml(prosody.ONLINE_USERS_FORM));
      expect(response.node).to.equal(AdminNode.onlineUsersList);
      expect(response.sessionid).to.equal("1ea14dcd-8e04-4dc6-8ef0-26ace790cae7");
      expect(response.status).to.equal("executing");
      expect(response.actions).to.deep.equal(["next", "complete"]);
      expect(response.notes).to.deep.equal([]);
      expect(response.form?.fields.map((field) => field.var)).to.deep.equal(["FORM_TYPE", "max_items", "details"]);
    });

    it("reads Prosody's multi-line info note verbatim", () => {
      const response = parseCommandResponse(parseXml(prosody.END_SESSION_RESULT));
      expect(response.status).to.equal("completed");
      expect(response.notes).to.deep.equal([
        { type: "info", text: "The following accounts were successfully disconnected:\nalice@localhost/r2\n" },
      ]);
      expect(response).to.not.have.property("form");
    });

    it("reads ejabberd's bare completed command and its actions-first form", () => {
      const done = parseCommandResponse(parseXml(ejabberd.END_SESSION_RESULT));
      expect(done).to.deep.equal({
        node: AdminNode.endUserSession,
        sessionid: "2026-11-25T22:00:12.351832Z",
        status: "completed",
        notes: [],
        actions: [],
      });
      const form = parseCommandResponse(parseXml(ejabberd.USER_STATS_FORM));
      expect(form.actions).to.deep.equal(["complete"]);
      expect(form.form?.title).to.equal("Get User Statistics");
    });

    it("throws the StanzaError of an error reply", () => {
      const error = thrownBy(() => parseCommandResponse(parseXml(prosody.FORBIDDEN_REPLY)));
      expect(error).to.be.instanceOf(StanzaError);
      expect((error as StanzaError).condition).to.equal("forbidden");
    });

    it("throws ProtocolError for a result without a command", () => {
      expect(thrownBy(() => parseCommandResponse(parseXml(prosody.TRANSFER_RESULT)))).to.be.instanceOf(ProtocolError);
    });
  });

  describe("runCommand", () => {
    it("runs Prosody's two stages, reusing the sessionid and copying FORM_TYPE", async () => {
      const { request, sent } = scriptedRequester([prosody.ONLINE_USERS_FORM, prosody.ONLINE_USERS_RESULT]);
      const response = await runCommand(request, {
        to: "localhost",
        node: AdminNode.onlineUsersList,
        fields: { max_items: "all", details: false },
      });
      expectSent(sent, [prosody.ONLINE_USERS_EXECUTE, prosody.ONLINE_USERS_SUBMIT], ignoreIdAndFormTypeType);
      const submit = sent[1]!.getChild("command")!;
      expect(submit.attrs).to.include({ sessionid: "1ea14dcd-8e04-4dc6-8ef0-26ace790cae7", action: "complete" });
      expect(response.status).to.equal("completed");
      expect(fieldValues(response.form!, "onlineuserjids")).to.deep.equal([
        "alice@localhost",
        "carol@localhost",
        "admin@localhost",
        "bob@localhost",
      ]);
    });

    it("runs ejabberd's two stages from the component exactly as the probe did", async () => {
      const { request, sent } = scriptedRequester([ejabberd.USER_STATS_FORM, ejabberd.USER_STATS_RESULT]);
      const response = await runCommand(request, {
        to: "localhost",
        from: "cxfr.localhost",
        node: AdminNode.userStats,
        fields: { accountjid: "alice@localhost" },
      });
      expectSent(sent, [ejabberd.USER_STATS_EXECUTE, ejabberd.USER_STATS_SUBMIT]);
      expect(fieldValues(response.form!, "onlineresources")).to.deep.equal(["r2", "r1"]);
    });

    it("copies FORM_TYPE from the server's form rather than assuming one", async () => {
      const customForm = ejabberd.USER_STATS_FORM.replace(`<value>${ADMIN}</value>`, "<value>urn:example:stats</value>");
      const { request, sent } = scriptedRequester([customForm, ejabberd.USER_STATS_RESULT]);
      await runCommand(request, { to: "localhost", node: AdminNode.userStats, fields: { accountjid: "a@localhost" } });
      const submitted = sent[1]!.getChild("command")!.getChild("x")!.getChildren("field")[0]!;
      expect(submitted.attrs.var).to.equal("FORM_TYPE");
      expect(submitted.getChildText("value")).to.equal("urn:example:stats");
    });

    it("returns at once when the execute completes (ejabberd get-online-users-list)", async () => {
      const { request, sent } = scriptedRequester([ejabberd.ONLINE_USERS_RESULT]);
      const response = await runCommand(request, { to: "localhost", node: AdminNode.onlineUsersList });
      expectSent(sent, [ejabberd.ONLINE_USERS_EXECUTE]);
      expect(response.sessionid).to.equal("2026-11-25T22:00:09.196000Z");
      expect(fieldValue(response.form!, "onlineuserjids")).to.equal("admin@localhost");
    });

    it("puts the filled form in the first execute when single-stage (Prosody)", async () => {
      const { request, sent } = scriptedRequester([prosody.SINGLE_STAGE_RESULT]);
      const response = await runCommand(request, {
        to: "localhost",
        node: AdminNode.onlineUsersList,
        fields: { max_items: "25", details: "true" },
        singleStage: true,
      });
      expectSent(sent, [prosody.SINGLE_STAGE_EXECUTE], ignoreIdAndFormTypeType);
      expect(response.status).to.equal("completed");
      expect(fieldValues(response.form!, "onlineuserjids")).to.have.length(9);
    });

    it("takes FORM_TYPE from formType in a single-stage execute", async () => {
      const { request, sent } = scriptedRequester([prosody.SINGLE_STAGE_RESULT]);
      await runCommand(request, { to: "localhost", node: "urn:x#y", fields: { a: "1" }, singleStage: true, formType: "urn:z" });
      expect(sent[0]!.getChild("command")!.getChild("x")!.getChildren("field")[0]!.getChildText("value")).to.equal("urn:z");
    });

    it("still runs the second stage when the server ignores a single-stage form (Prosody announce)", async () => {
      const { request, sent } = scriptedRequester([prosody.ANNOUNCE_FORM, prosody.ANNOUNCE_RESULT]);
      const fields = { subject: "Maintenance", announcement: "Server restarts at 22:00" };
      const response = await runCommand(request, { to: "localhost", node: AdminNode.announce, fields, singleStage: true });
      expect(sent).to.have.length(2);
      expect(sent[0]!.getChild("command")!.getChild("x")).to.not.equal(undefined);
      expectSent(sent.slice(1), [prosody.ANNOUNCE_SUBMIT], ignoreIdAndFormTypeType);
      expect(response.notes).to.deep.equal([{ type: "info", text: "Announcement sent to 4 online users" }]);
    });

    it("runs Prosody's announce and end-user-session in two stages and exposes their info notes", async () => {
      const announce = scriptedRequester([prosody.ANNOUNCE_FORM, prosody.ANNOUNCE_RESULT]);
      await runCommand(announce.request, {
        to: "localhost",
        node: AdminNode.announce,
        fields: { subject: "Maintenance", announcement: "Server restarts at 22:00" },
      });
      expectSent(announce.sent, [prosody.ANNOUNCE_EXECUTE, prosody.ANNOUNCE_SUBMIT], ignoreIdAndFormTypeType);

      const end = scriptedRequester([prosody.END_SESSION_FORM, prosody.END_SESSION_RESULT]);
      const response = await runCommand(end.request, {
        to: "localhost",
        node: AdminNode.endUserSession,
        fields: { accountjids: ["alice@localhost/r2"] },
      });
      expectSent(end.sent, [prosody.END_SESSION_EXECUTE, prosody.END_SESSION_SUBMIT], ignoreIdAndFormTypeType);
      expect(response.notes[0]?.type).to.equal("info");
      expect(response.notes[0]?.text).to.include("alice@localhost/r2");
    });

    it("runs ejabberd's announce with its 'body' field", async () => {
      const { request, sent } = scriptedRequester([ejabberd.ANNOUNCE_FORM, ejabberd.ANNOUNCE_RESULT]);
      const response = await runCommand(request, {
        to: "localhost",
        from: "cxfr.localhost",
        node: AdminNode.announce,
        fields: { subject: "Maintenance", body: "adhoc announce body" },
      });
      expectSent(sent.slice(1), [ejabberd.ANNOUNCE_SUBMIT]);
      expect(response.status).to.equal("completed");
      expect(response.notes).to.deep.equal([]);
    });

    it("throws CommandError carrying node and note text for a note of type error", async () => {
      const { request } = scriptedRequester([CANCELED_WITH_ERROR_NOTE]);
      const error = await rejectionOf(runCommand(request, { to: "localhost", node: AdminNode.onlineUsersList }));
      expect(error).to.be.instanceOf(CommandError);
      const commandError = error as CommandError;
      expect(commandError.node).to.equal(AdminNode.onlineUsersList);
      expect(commandError.text).to.equal("You don't have permission to execute this command");
      expect(commandError.exitCode).to.equal(3);
      expect(commandError.message).to.equal(`${AdminNode.onlineUsersList}: You don't have permission to execute this command`);
    });

    it("throws CommandError when the second stage is canceled without a note", async () => {
      const canceled = ejabberd.USER_STATS_RESULT.replace("status='completed'", "status='canceled'");
      const { request } = scriptedRequester([ejabberd.USER_STATS_FORM, canceled]);
      const error = await rejectionOf(runCommand(request, { to: "localhost", node: AdminNode.userStats, fields: { accountjid: "a@b" } }));
      expect(error).to.be.instanceOf(CommandError);
      expect((error as CommandError).text).to.include("canceled");
    });

    it("passes on the StanzaError of a rejected request, at either stage", async () => {
      const first = scriptedRequester([prosody.FORBIDDEN_REPLY]);
      const forbidden = await rejectionOf(runCommand(first.request, { to: "localhost", node: AdminNode.onlineUsersList }));
      expect(forbidden).to.be.instanceOf(StanzaError);
      expect((forbidden as StanzaError).condition).to.equal("forbidden");

      const second = scriptedRequester([ejabberd.USER_STATS_FORM, ejabberd.FORBIDDEN_REPLY]);
      const late = await rejectionOf(runCommand(second.request, { to: "localhost", node: AdminNode.userStats, fields: { accountjid: "a@b" } }));
      expect((late as StanzaError).text).to.equal("Access denied by service policy");
      expect(second.sent).to.have.length(2);
    });

    it("passes on service-unavailable for a node the server lacks", async () => {
      const { request } = scriptedRequester([ejabberd.GET_ONLINE_USERS_UNAVAILABLE]);
      const error = await rejectionOf(runCommand(request, { to: "localhost", node: `${ADMIN}#get-online-users` }));
      expect((error as StanzaError).condition).to.equal("service-unavailable");
    });

    it("refuses a third stage and an executing reply without sessionid", async () => {
      const stillExecuting = scriptedRequester([ejabberd.USER_STATS_FORM, ejabberd.USER_STATS_FORM]);
      const third = await rejectionOf(runCommand(stillExecuting.request, { to: "localhost", node: AdminNode.userStats }));
      expect(third).to.be.instanceOf(CommandError);

      const noSession = ejabberd.USER_STATS_FORM.replace(" sessionid='2026-11-25T22:00:09.204486Z'", "");
      const missing = scriptedRequester([noSession]);
      expect(await rejectionOf(runCommand(missing.request, { to: "localhost", node: AdminNode.userStats }))).to.be.instanceOf(ProtocolError);
    });
  });
});
