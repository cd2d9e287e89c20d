import { expect } from "chai";
import { buildTransferIq, NS_CXFR, NS_SRVXFR, parseTransferIq, type TransferRequest } from "../../lib/xmpp/transfer.ts";
import { parseXml } from "../../lib/xmpp/stanza.ts";
import * as ejabberd from "../fixtures/ejabberd.ts";
import * as prosody from "../fixtures/prosody.ts";

const toAliceR1: TransferRequest = {
  to: "alice@localhost/r1",
  id: "x1",
  from: "cxfr.localhost",
  domain: "localhost",
  server: { host: "127.0.0.1", port: 15222 },
};

/** A transfer IQ with the given query body, for the cases the servers never produced. */
function transferIq(query: string, iqAttrs = "type='set' id='t1' from='cxfr.localhost' to='alice@localhost/r1'"): string {
  return `<iq ${iqAttrs}>${query}</iq>`;
}

describe("transfer (XEP-0051)", () => {
  describe("buildTransferIq", () => {
    it("writes exactly the packet the Prosody probe sent", () => {
      expect(buildTransferIq(toAliceR1).toString()).to.equal(prosody.TRANSFER_SENT);
    });

    it("writes exactly the packet the ejabberd probe sent", () => {
      const request = { ...toAliceR1, server: { host: "127.0.0.1", port: 25222 } };
      expect(buildTransferIq(request).toString()).to.equal(ejabberd.TRANSFER_SENT);
    });

    it("leaves the id to the iq caller when none is given", () => {
      const { id: _id, ...withoutId } = toAliceR1;
      const iq = buildTransferIq(withoutId);
      expect(iq.attrs).to.not.have.property("id");
      expect(iq.attrs).to.include({ type: "set", to: "alice@localhost/r1", from: "cxfr.localhost" });
    });

    it("uses the legacy namespace when asked and brackets an IPv6 server", () => {
      const iq = buildTransferIq({ ...toAliceR1, namespace: NS_SRVXFR, server: { host: "::1", port: 5222 } });
      const query = iq.getChild("query", NS_SRVXFR)!;
      expect(query.getChildText("server")).to.equal("[::1]:5222");
    });

    it("omits the port when the target has none", () => {
      const iq = buildTransferIq({ ...toAliceR1, server: { host: "node-b.example.com" } });
      expect(iq.getChild("query")!.getChildText("server")).to.equal("node-b.example.com");
    });
  });

  describe("parseTransferIq", () => {
    it("reads the packet as the Prosody client received it", () => {
      expect(parseTransferIq(parseXml(prosody.TRANSFER_RECEIVED))).to.deep.equal({
        namespace: NS_CXFR,
        id: "x1",
        from: "cxfr.localhost",
        to: "alice@localhost/r1",
        domain: "localhost",
        server: { host: "127.0.0.1", port: 15222 },
      });
    });

    it("reads the packet as the ejabberd client received it", () => {
      const offer = parseTransferIq(parseXml(ejabberd.TRANSFER_RECEIVED));
      expect(offer?.server).to.deep.equal({ host: "127.0.0.1", port: 25222 });
      expect(offer?.from).to.equal("cxfr.localhost");
    });

    it("round-trips what buildTransferIq writes, in both namespaces", () => {
      for (const namespace of [NS_CXFR, NS_SRVXFR]) {
        for (const server of [{ host: "::1", port: 5222 }, { host: "node-b.example.com" }, { host: "10.0.0.12", port: 5222 }]) {
          const request = { ...toAliceR1, namespace, server };
          const offer = parseTransferIq(parseXml(buildTransferIq(request).toString()));
          expect(offer).to.deep.equal({ ...request, id: "x1" });
        }
      }
    });

    it("reads the legacy jabber:iq:srvxfr namespace", () => {
      const offer = parseTransferIq(
        parseXml(transferIq("<query xmlns='jabber:iq:srvxfr'><domain>example.com</domain><server>node-b.example.com:5222</server></query>")),
      );
      expect(offer?.namespace).to.equal(NS_SRVXFR);
      expect(offer?.server).to.deep.equal({ host: "node-b.example.com", port: 5222 });
    });

    it("tolerates whitespace from pretty-printing senders", () => {
      const offer = parseTransferIq(
        parseXml(transferIq("<query xmlns='urn:xmpp:cxfr'>\n  <domain> example.com </domain>\n  <server>\n    [::1]:5222\n  </server>\n</query>")),
      );
      expect(offer?.domain).to.equal("example.com");
      expect(offer?.server).to.deep.equal({ host: "::1", port: 5222 });
    });

    it("reports a missing from as empty (the stanza came from the receiver's own server)", () => {
      const offer = parseTransferIq(
        parseXml(transferIq("<query xmlns='urn:xmpp:cxfr'><domain>localhost</domain><server>h:5222</server></query>", "type='set' id='t2'")),
      );
      expect(offer?.from).to.equal("");
      expect(offer?.to).to.equal("");
    });

    it("returns null for the replies the servers sent back", () => {
      for (const reply of [prosody.TRANSFER_ERROR_REPLY, prosody.TRANSFER_CLIENT_ERROR, prosody.TRANSFER_RESULT, ejabberd.TRANSFER_ERROR_REPLY, ejabberd.TRANSFER_HANDLER_RESULT]) {
        expect(parseTransferIq(parseXml(reply)), reply).to.equal(null);
      }
    });

    it("returns null when the IQ is not a transfer", () => {
      const valid = "<query xmlns='urn:xmpp:cxfr'><domain>localhost</domain><server>h:5222</server></query>";
      const cases = [
        transferIq(valid, "type='get' id='g1'"),
        transferIq(valid, "type='set'"),
        `<message type='set' id='m1'>${valid}</message>`,
        transferIq("<query xmlns='jabber:iq:version'><domain>localhost</domain><server>h:5222</server></query>"),
        transferIq("<ping xmlns='urn:xmpp:ping'/>"),
      ];
      for (const stanza of cases) expect(parseTransferIq(parseXml(stanza)), stanza).to.equal(null);
    });

    it("returns null when domain or server is missing or invalid", () => {
      const queries = [
        "<server>h:5222</server>",
        "<domain>localhost</domain>",
        "<domain></domain><server>h:5222</server>",
        "<domain>localhost</domain><server></server>",
        "<domain>exa_mple.com</domain><server>h:5222</server>",
        "<domain>localhost</domain><server>h:0</server>",
        "<domain>localhost</domain><server>a b</server>",
        "<domain>localhost</domain><server>::1:5222</server>",
        "<domain>alice@localhost</domain><server>h:5222</server>",
      ];
      for (const body of queries) {
        expect(parseTransferIq(parseXml(transferIq(`<query xmlns='urn:xmpp:cxfr'>${body}</query>`))), body).to.equal(null);
      }
    });
  });
});
