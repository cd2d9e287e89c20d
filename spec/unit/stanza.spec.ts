import { expect } from "chai";
import { XMLError } from "@xmpp/xml";
import { StanzaError } from "../../lib/errors.ts";
import { parseStanzaError, parseXml, stanzaErrorOf } from "../../lib/xmpp/stanza.ts";
import * as ejabberd from "../fixtures/ejabberd.ts";
import * as prosody from "../fixtures/prosody.ts";
import { thrownBy } from "./support/xml.ts";

describe("stanza", () => {
  describe("parseStanzaError", () => {
    it("reads Prosody's forbidden reply with its text, unescaping &apos;", () => {
      expect(parseStanzaError(parseXml(prosody.FORBIDDEN_REPLY))).to.deep.equal({
        condition: "forbidden",
        type: "auth",
        text: "You don't have permission to execute this command",
      });
    });

    it("reads ejabberd's forbidden reply, whose text carries xml:lang", () => {
      expect(parseStanzaError(parseXml(ejabberd.FORBIDDEN_REPLY))).to.deep.equal({
        condition: "forbidden",
        type: "auth",
        text: "Access denied by service policy",
      });
    });

    it("reads service-unavailable without a text", () => {
      for (const reply of [prosody.GET_ONLINE_USERS_UNAVAILABLE, ejabberd.GET_ONLINE_USERS_UNAVAILABLE]) {
        const info = parseStanzaError(parseXml(reply));
        expect(info).to.deep.equal({ condition: "service-unavailable", type: "cancel" });
        expect(info).to.not.have.property("text");
      }
    });

    it("reads a client's error reply that echoes the transfer query before the error", () => {
      for (const reply of [prosody.TRANSFER_ERROR_REPLY, ejabberd.TRANSFER_ERROR_REPLY, prosody.TRANSFER_CLIENT_ERROR]) {
        expect(parseStanzaError(parseXml(reply))).to.deep.equal({ condition: "service-unavailable", type: "cancel" });
      }
    });

    it("accepts the <error/> element itself", () => {
      const error = parseXml(prosody.FORBIDDEN_REPLY).getChild("error")!;
      expect(parseStanzaError(error).condition).to.equal("forbidden");
    });

    it("falls back to undefined-condition and cancel when the error is missing or bare", () => {
      expect(parseStanzaError(parseXml("<iq type='error' id='1'/>"))).to.deep.equal({
        condition: "undefined-condition",
        type: "cancel",
      });
      expect(parseStanzaError(parseXml("<iq type='error'><error/></iq>")).condition).to.equal("undefined-condition");
    });

    it("prefers the RFC 6120 condition over application-specific children", () => {
      const el = parseXml(
        "<iq type='error'><error type='modify'><bad-action xmlns='http://jabber.org/protocol/commands'/><bad-request xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>",
      );
      expect(parseStanzaError(el)).to.deep.equal({ condition: "bad-request", type: "modify" });
    });
  });

  describe("stanzaErrorOf", () => {
    it("builds the StanzaError class carrying condition, type and text", () => {
      const error = stanzaErrorOf(parseXml(prosody.FORBIDDEN_REPLY));
      expect(error).to.be.instanceOf(StanzaError);
      expect(error.condition).to.equal("forbidden");
      expect(error.errorType).to.equal("auth");
      expect(error.text).to.equal("You don't have permission to execute this command");
      expect(error.message).to.equal("forbidden: You don't have permission to execute this command");
      expect(error.exitCode).to.equal(3);
    });

    it("uses the bare condition as message when there is no text", () => {
      const error = stanzaErrorOf(parseXml(prosody.TRANSFER_OFFLINE_ERROR));
      expect(error.message).to.equal("service-unavailable");
      expect(error.text).to.equal(undefined);
    });
  });

  describe("parseXml", () => {
    it("parses a whole stanza with nested children and namespaces", () => {
      const iq = parseXml(prosody.ONLINE_USERS_FORM);
      expect(iq.name).to.equal("iq");
      const command = iq.getChild("command", "http://jabber.org/protocol/commands")!;
      expect(command.attrs.sessionid).to.equal("1ea14dcd-8e04-4dc6-8ef0-26ace790cae7");
      expect(command.getChild("x", "jabber:x:data")!.getChildren("field")).to.have.length(3);
      expect(command.getChild("x")!.parent).to.equal(command);
    });

    it("keeps text and elements in document order", () => {
      const el = parseXml("<a>x<b/>y</a>");
      expect(el.children.map((child) => (typeof child === "string" ? child : `<${child.name}>`))).to.deep.equal([
        "x",
        "<b>",
        "y",
      ]);
    });

    it("decodes entities and keeps newlines in text", () => {
      expect(parseXml("<a>&lt;&amp;&gt;&apos;&quot;&#65;</a>").getText()).to.equal("<&>'\"A");
      expect(parseXml(prosody.END_SESSION_RESULT).getChild("command")!.getChildText("note")).to.equal(
        "The following accounts were successfully disconnected:\nalice@localhost/r2\n",
      );
    });

    it("allows surrounding whitespace and an XML declaration", () => {
      expect(parseXml("\n  <iq type='result'/>\n").attrs.type).to.equal("result");
      expect(parseXml("<?xml version='1.0'?><iq/>").name).to.equal("iq");
    });

    it("rejects anything but one complete element", () => {
      for (const input of ["", "   ", "text", "<a>", "<a><b></a>", "<a/><b/>", "<a/>trailing", "x<a/>", "</a>"]) {
        expect(thrownBy(() => parseXml(input)), JSON.stringify(input)).to.be.instanceOf(XMLError);
      }
    });
  });
});
