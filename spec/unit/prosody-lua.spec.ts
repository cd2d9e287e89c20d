import { execFileSync } from "node:child_process";
import { expect } from "chai";
import { InputError } from "../../lib/errors.ts";
import { luaString } from "../../lib/servers/lua.ts";
import { clientAddressLine, closeLine, lineOutcome, parseClientAddress, seeOtherHostLine, type CloseCondition } from "../../lib/servers/prosody-lua.ts";
import { replInput } from "../../lib/servers/prosody-shell.ts";
import { thrownBy } from "./support/xml.ts";

/** Values that would break out of a Lua string or a long bracket, run code, or end the XML line early. */
const HOSTILE = [
  `'..os.execute("touch /tmp/pwned")..'`,
  `"..os.execute('id')..[[`,
  "]]..os.execute('id')--",
  "a\\\"b\\",
  "x]]=]]]==]",
  "</repl-input><repl-input>>os.exit()",
  "émoji 😀 ünïcode",
  "x".repeat(3000),
];

/** What Lua 5.4 (Prosody's interpreter) reads from a literal, byte for byte. */
function luaDecodes(literal: string): Buffer {
  return execFileSync("lua5.4", ["-e", `io.write(${literal})`]);
}

/** A Lua literal may hold only safe characters and \ddd escapes: no quote, bracket, newline or other escape. */
const SAFE_LITERAL = /^"(?:[A-Za-z0-9@._:/-]|\\\d{3})*"$/;

describe("Lua lines for Prosody's admin shell", () => {
  describe("luaString", () => {
    it("writes hostile values with decimal escapes only, and Lua reads back exactly the same bytes", () => {
      for (const value of HOSTILE) {
        const literal = luaString(value);
        expect(literal).to.match(SAFE_LITERAL);
        expect(luaDecodes(literal).equals(Buffer.from(value, "utf8")), value.slice(0, 40)).to.equal(true);
      }
    });

    it("keeps plain JID characters readable", () => {
      expect(luaString("alice@localhost/r1")).to.equal('"alice@localhost/r1"');
      expect(luaString("a'b")).to.equal('"a\\039b"');
      expect(luaString("a\nb]]")).to.equal('"a\\010b\\093\\093"');
    });
  });

  describe("seeOtherHostLine", () => {
    it("is exactly the raw-Lua close that writes a well-formed see-other-host just before a reasonless close", () => {
      expect(seeOtherHostLine("alice@localhost/r1", { host: "127.0.0.2", port: 15222 })).to.equal(
        '>local st=require"util.stanza"; local s=prosody.full_sessions["alice@localhost/r1"]; if not s then return "cxfr:absent" end;' +
          ' local e=tostring(st.stanza("stream:error"):tag("see-other-host",{xmlns="urn:ietf:params:xml:ns:xmpp-streams"}):text("127.0.0.2:15222"));' +
          ' local send=s.send; s.send=function(d) if d=="</stream:stream>" then send(e) end return send(d) end; s:close(); return "cxfr:done"',
      );
    });

    it("brackets an IPv6 target", () => {
      expect(seeOtherHostLine("alice@localhost/r1", { host: "::1", port: 5222 })).to.include(':text("\\091::1\\093:5222")');
    });

    it("escapes a hostile resource (a legal JID resource) so the line keeps its shape", () => {
      for (const resource of HOSTILE.filter((r) => Buffer.byteLength(r) <= 1023)) {
        const jid = `alice@localhost/${resource}`;
        const line = seeOtherHostLine(jid, { host: "node-b.example.com", port: 5222 });
        const literal = luaString(jid);
        expect(line).to.equal(seeOtherHostLine("alice@localhost/r1", { host: "node-b.example.com", port: 5222 }).replace('"alice@localhost/r1"', literal));
        expect(line).to.not.include("\n");
        expect(line).to.not.include("]]");
        expect(line).to.not.include("os.execute(");
        expect(luaDecodes(literal).toString("utf8")).to.equal(jid);
      }
    });

    it("refuses a JID that is not one session, or too long, before writing any Lua", () => {
      for (const jid of ["alice@localhost", "localhost/r1", "al'ice@localhost/r1", 'a"b@localhost/r', "alice@localhost/a\nb", `alice@localhost/${"x".repeat(3000)}`, "alice@local]]host/r"]) {
        expect(thrownBy(() => seeOtherHostLine(jid, { host: "b", port: 5222 })), jid).to.be.instanceOf(InputError);
      }
    });

    it("refuses a target host that is not a host name or address", () => {
      for (const host of ['b"); os.exit()--', "b\nc", "]]", "a b", "x".repeat(3000)]) {
        expect(thrownBy(() => seeOtherHostLine("alice@localhost/r1", { host, port: 5222 })), host.slice(0, 20)).to.be.instanceOf(InputError);
      }
    });
  });

  it("closeLine chooses only a known condition", () => {
    expect(closeLine("bob@localhost/b1", "system-shutdown")).to.equal(
      '>local s=prosody.full_sessions["bob@localhost/b1"]; if not s then return "cxfr:absent" end; s:close({condition="system-shutdown"}); return "cxfr:done"',
    );
    expect(thrownBy(() => closeLine("bob@localhost/b1", 'x"}) os.exit() --' as CloseCondition))).to.be.instanceOf(InputError);
  });

  it("clientAddressLine and its parser", () => {
    expect(clientAddressLine("bob@localhost/b1")).to.include('prosody.full_sessions["bob@localhost/b1"]');
    expect(parseClientAddress({ ok: true, text: "Result: cxfr:addr 127.0.0.1 40312 5222", output: [] })).to.deep.equal({ ip: "127.0.0.1", port: 40312, serverPorts: [5222] });
    expect(parseClientAddress({ ok: true, text: "Result: cxfr:absent", output: [] })).to.equal(undefined);
    expect(parseClientAddress({ ok: false, text: "Error: boom", output: [] })).to.equal(undefined);
  });

  it("lineOutcome tells done, absent and a server error apart", () => {
    expect(lineOutcome({ ok: true, text: "Result: cxfr:done", output: [] })).to.deep.equal({ kind: "done" });
    expect(lineOutcome({ ok: true, text: "Result: cxfr:absent", output: [] })).to.deep.equal({ kind: "absent" });
    expect(lineOutcome({ ok: false, text: "Error: attempt to index a nil value", output: [] })).to.deep.equal({ kind: "failed", text: "Error: attempt to index a nil value" });
  });

  it("replInput escapes the line into one <repl-input> element", () => {
    expect(replInput(">return '<a>&</repl-input>'")).to.equal("<repl-input>&gt;return '&lt;a&gt;&amp;&lt;/repl-input&gt;'</repl-input>");
  });
});
