import { expect } from "chai";
import type { Element } from "@xmpp/xml";
import { buildCommandIq } from "../../lib/xmpp/commands.ts";
import { buildSubmitForm, readForm } from "../../lib/xmpp/forms.ts";
import { parseXml } from "../../lib/xmpp/stanza.ts";
import { buildTransferIq } from "../../lib/xmpp/transfer.ts";

/** Every character XML treats specially, a closing tag that would end the stanza early, and an entity lookalike. */
const HOSTILE = `a<b>&c'd"e</iq><evil/>&amp;]]>`;

function variant(tag: string): string {
  return `${tag}=${HOSTILE}`;
}

/**
 * No hostile value may appear literally: "<" and "&" never raw, and no raw quote inside a tag (where it would end an
 * attribute). A quote in text content is legal XML, so it is not checked there.
 */
function expectEscaped(xmlText: string): void {
  expect(xmlText).to.not.include(HOSTILE);
  expect(xmlText).to.not.include("<evil");
  expect(xmlText).to.not.include("a<b");
  expect(xmlText).to.not.include("&c");
  expect(xmlText).to.include("&amp;amp;");
  // ">" is escaped in values too, so every raw "<…>" is markup the builder wrote.
  for (const tag of xmlText.match(/<[^>]*>/g) ?? []) expect(tag).to.not.include(`d"e`);
}

function elementCount(el: Element): number {
  return 1 + el.getChildElements().reduce((sum, child) => sum + elementCount(child), 0);
}

describe("XML escaping in the builders", () => {
  it("buildTransferIq escapes every attribute and text, and they round-trip unchanged", () => {
    const request = {
      to: variant("to"),
      from: variant("from"),
      id: variant("id"),
      namespace: variant("ns"),
      domain: variant("domain"),
      server: { host: variant("host"), port: 5222 },
    };
    const built = buildTransferIq(request);
    const text = built.toString();
    expectEscaped(text);

    const parsed = parseXml(text);
    expect(elementCount(parsed)).to.equal(elementCount(built));
    expect(parsed.attrs).to.deep.equal({ type: "set", to: request.to, id: request.id, from: request.from });
    const query = parsed.getChildElements()[0]!;
    expect(query.attrs.xmlns).to.equal(request.namespace);
    expect(query.getChildText("domain")).to.equal(request.domain);
    expect(query.getChildText("server")).to.equal(`${request.server.host}:5222`);
  });

  it("buildSubmitForm escapes field names, values and FORM_TYPE, and they round-trip unchanged", () => {
    const values = { [variant("var")]: variant("value"), list: [variant("one"), variant("two")], flag: true };
    const built = buildSubmitForm(values, variant("formtype"));
    const text = built.toString();
    expectEscaped(text);

    const parsed = parseXml(text);
    expect(elementCount(parsed)).to.equal(elementCount(built));
    const form = readForm(parsed);
    expect(form.fields.map((field) => [field.var, field.values])).to.deep.equal([
      ["FORM_TYPE", [variant("formtype")]],
      [variant("var"), [variant("value")]],
      ["list", [variant("one"), variant("two")]],
      ["flag", ["1"]],
    ]);
  });

  it("buildCommandIq escapes every attribute and the embedded form, and they round-trip unchanged", () => {
    const opts = {
      to: variant("to"),
      from: variant("from"),
      id: variant("id"),
      node: variant("node"),
      sessionid: variant("session"),
      action: variant("action"),
      form: buildSubmitForm({ accountjids: [variant("jid")] }, variant("formtype")),
    };
    const built = buildCommandIq(opts);
    const text = built.toString();
    expectEscaped(text);

    const parsed = parseXml(text);
    expect(elementCount(parsed)).to.equal(elementCount(built));
    expect(parsed.attrs).to.deep.equal({ type: "set", to: opts.to, id: opts.id, from: opts.from });
    const command = parsed.getChild("command")!;
    expect(command.attrs).to.include({ node: opts.node, sessionid: opts.sessionid, action: opts.action });
    const form = readForm(command.getChild("x")!);
    expect(form.fields.map((field) => field.values)).to.deep.equal([[variant("formtype")], [variant("jid")]]);
  });
});
