import { expect } from "chai";
import type { Element } from "@xmpp/xml";
import { buildSubmitForm, fieldValue, fieldValues, NS_DATA, readForm } from "../../lib/xmpp/forms.ts";
import { parseXml } from "../../lib/xmpp/stanza.ts";
import * as ejabberd from "../fixtures/ejabberd.ts";
import * as prosody from "../fixtures/prosody.ts";
import { canonicalXml, ignoreIdAndFormTypeType } from "./support/xml.ts";

const ADMIN = "http://jabber.org/protocol/admin";

function formOf(stanza: string): Element {
  return parseXml(stanza).getChild("command")!.getChild("x", NS_DATA)!;
}

describe("forms (XEP-0004)", () => {
  describe("readForm", () => {
    it("reads Prosody's get-online-users-list form: title, instructions, options and an empty boolean", () => {
      expect(readForm(formOf(prosody.ONLINE_USERS_FORM))).to.deep.equal({
        type: "form",
        title: "Getting List of Online Users",
        instructions: "How many users should be returned at most?",
        fields: [
          { var: "FORM_TYPE", type: "hidden", values: [ADMIN], required: false, options: [] },
          {
            var: "max_items",
            type: "list-single",
            label: "Maximum number of users",
            values: [],
            required: false,
            options: ["25", "50", "75", "100", "150", "200", "all"],
          },
          { var: "details", type: "boolean", label: "Show details", values: [], required: false, options: [] },
        ],
      });
    });

    it("marks required fields and keeps newlines in instructions (Prosody announce)", () => {
      const form = readForm(formOf(prosody.ANNOUNCE_FORM));
      expect(form.instructions).to.equal("Fill out this form to make an announcement to all\nactive users of this service.");
      expect(form.fields.map((field) => [field.var, field.required])).to.deep.equal([
        ["FORM_TYPE", false],
        ["subject", false],
        ["announcement", true],
      ]);
    });

    it("unescapes entities in instructions (Prosody end-user-session)", () => {
      expect(readForm(formOf(prosody.END_SESSION_FORM)).instructions).to.equal("Fill out this form to end a user's session.");
    });

    it("reads ejabberd's completed result, sent as type='form', with its multi-valued fields", () => {
      const form = readForm(formOf(ejabberd.USER_STATS_RESULT));
      expect(form.type).to.equal("form");
      expect(form).to.not.have.property("title");
      expect(fieldValues(form, "ipaddresses")).to.deep.equal(["127.0.0.1:55848", "127.0.0.1:55834"]);
      expect(fieldValue(form, "rostersize")).to.equal("0");
      expect(form.fields.find((field) => field.var === "onlineresources")?.label).to.equal("Resources");
    });

    it("reads ejabberd's form even though the actions come before it", () => {
      const form = readForm(formOf(ejabberd.USER_STATS_FORM));
      expect(form.title).to.equal("Get User Statistics");
      expect(form.fields[1]).to.deep.equal({ var: "accountjid", type: "jid-single", label: "Jabber ID", values: [], required: true, options: [] });
    });

    it("omits absent attributes, joins several instructions and tolerates a field without var", () => {
      const form = readForm(
        parseXml("<x xmlns='jabber:x:data' type='form'><instructions>one</instructions><instructions>two</instructions><field type='fixed'><value>note</value></field><field var='a'/></x>"),
      );
      expect(form.instructions).to.equal("one\ntwo");
      expect(form.fields[0]).to.deep.equal({ var: "", type: "fixed", values: ["note"], required: false, options: [] });
      expect(form.fields[1]).to.deep.equal({ var: "a", values: [], required: false, options: [] });
    });
  });

  describe("fieldValues / fieldValue", () => {
    const form = readForm(formOf(prosody.USER_STATS_RESULT));

    it("return the values of the named field", () => {
      expect(fieldValues(form, "onlineresources")).to.deep.equal(["r1", "r2"]);
      expect(fieldValue(form, "onlineresources")).to.equal("r1");
      expect(fieldValue(form, "FORM_TYPE")).to.equal(ADMIN);
    });

    it("return nothing for a field the form lacks", () => {
      expect(fieldValues(form, "nope")).to.deep.equal([]);
      expect(fieldValue(form, "nope")).to.equal(undefined);
    });
  });

  describe("buildSubmitForm", () => {
    it("writes what ejabberd accepted for user-stats", () => {
      const expected = formOf(ejabberd.USER_STATS_SUBMIT);
      expect(canonicalXml(buildSubmitForm({ accountjid: "alice@localhost" }, ADMIN))).to.equal(canonicalXml(expected));
    });

    it("writes what Prosody accepted for announce, apart from marking FORM_TYPE hidden", () => {
      const built = buildSubmitForm({ subject: "Maintenance", announcement: "Server restarts at 22:00" }, ADMIN);
      const expected = formOf(prosody.ANNOUNCE_SUBMIT);
      expect(canonicalXml(built, ignoreIdAndFormTypeType)).to.equal(canonicalXml(expected, ignoreIdAndFormTypeType));
    });

    it("puts FORM_TYPE first and lets the formType argument win over a FORM_TYPE key", () => {
      const x = buildSubmitForm({ max_items: "all", FORM_TYPE: "urn:other", details: true }, ADMIN);
      expect(x.getChildren("field").map((field) => field.attrs.var)).to.deep.equal(["FORM_TYPE", "max_items", "details"]);
      expect(readForm(x).fields[0]?.values).to.deep.equal([ADMIN]);
    });

    it("moves a FORM_TYPE key first when no formType is given, and writes none when neither is", () => {
      const withKey = buildSubmitForm({ a: "1", FORM_TYPE: "urn:x" });
      expect(withKey.getChildren("field").map((field) => field.attrs.var)).to.deep.equal(["FORM_TYPE", "a"]);
      expect(buildSubmitForm({ a: "1" }).getChildren("field").map((field) => field.attrs.var)).to.deep.equal(["a"]);
    });

    it("writes booleans as 1/0 and arrays as one value each", () => {
      const form = readForm(buildSubmitForm({ on: true, off: false, jids: ["a@x", "b@x/r"], none: [] }));
      expect(form.type).to.equal("submit");
      expect(fieldValues(form, "on")).to.deep.equal(["1"]);
      expect(fieldValues(form, "off")).to.deep.equal(["0"]);
      expect(fieldValues(form, "jids")).to.deep.equal(["a@x", "b@x/r"]);
      expect(form.fields.find((field) => field.var === "none")?.values).to.deep.equal([]);
    });

    it("round-trips values through XML text", () => {
      const values = { announcement: "line one\nline two", subject: "  spaced  ", empty: "" };
      const form = readForm(parseXml(buildSubmitForm(values, ADMIN).toString()));
      for (const [name, value] of Object.entries(values)) expect(fieldValue(form, name)).to.equal(value);
    });
  });
});
