// The raw-Lua console lines (the admin shell's ">" escape) that act on one Prosody 0.12 session. Every value is
// validated first (full JID, host[:port], a known condition) and then written as an escaped Lua string literal.
// `c2s:close(jid, text, "see-other-host")` cannot be used: it sends an empty <see-other-host/> (RFC 6120 §4.9.3.19
// needs the host as the element's content), so the stream error is built here with util.stanza.
import { InputError } from "../errors.ts";
import { formatHostPort, parseHostPort, type HostPort } from "../xmpp/address.ts";
import { parseFullJid } from "../xmpp/jid.ts";
import { luaString } from "./lua.ts";
import type { ShellResult } from "./prosody-shell.ts";

const NS_STREAMS = "urn:ietf:params:xml:ns:xmpp-streams";
/** Stream error conditions `close` may choose (RFC 6120 §4.9.3); see-other-host has its own line. */
export const CLOSE_CONDITIONS = ["system-shutdown", "reset"] as const;
export type CloseCondition = (typeof CLOSE_CONDITIONS)[number];

const DONE = "cxfr:done";
const ABSENT = "cxfr:absent";

function sessionLookup(jid: string): string {
  const full = parseFullJid(jid, "session");
  return `local s=prosody.full_sessions[${luaString(`${full.local}@${full.domain}/${full.resource}`)}]; if not s then return ${luaString(ABSENT)} end;`;
}

/** host[:port] as it goes into the element, re-parsed so only a valid address is ever written. */
export function seeOtherHostText(target: HostPort): string {
  const text = formatHostPort(target);
  parseHostPort(text, "target");
  return text;
}

/**
 * Closes the session with <see-other-host>HOST[:PORT]</see-other-host>, then waits for the client's own
 * </stream:stream> (RFC 6120 §4.4) before the TCP connection goes. `s:close(reason)` would close the socket at
 * once; a client that answers the error with its own close then writes to a dead socket, gets ECONNRESET, and
 * xmpp.js drops the redirect on that error. So the error is written just before mod_c2s's </stream:stream> of a
 * reasonless close, which waits for the client (at most c2s_close_timeout) and keeps mod_smacks's last <a/> first.
 */
export function seeOtherHostLine(jid: string, target: HostPort): string {
  const host = seeOtherHostText(target);
  const error = `tostring(st.stanza("stream:error"):tag("see-other-host",{xmlns=${luaString(NS_STREAMS)}}):text(${luaString(host)}))`;
  return `>local st=require"util.stanza"; ${sessionLookup(jid)} local e=${error}; local send=s.send;` +
    ` s.send=function(d) if d=="</stream:stream>" then send(e) end return send(d) end; s:close(); return ${luaString(DONE)}`;
}

/** Closes the session with a chosen stream error condition. */
export function closeLine(jid: string, condition: CloseCondition): string {
  if (!(CLOSE_CONDITIONS as readonly string[]).includes(condition)) throw new InputError("condition", `must be one of ${CLOSE_CONDITIONS.join(", ")}`);
  return `>${sessionLookup(jid)} s:close({condition=${luaString(condition)}}); return ${luaString(DONE)}`;
}

/** The client's address and port as the server's connection object sees them. */
export function clientAddressLine(jid: string): string {
  return `>${sessionLookup(jid)} local c=s.conn; if not c then return ${luaString(ABSENT)} end; return ${luaString("cxfr:addr ")}..tostring(c:ip()).." "..tostring(c:clientport()).." "..tostring(c:serverport())`;
}

export type LineOutcome = { kind: "done" } | { kind: "absent" } | { kind: "failed"; text: string };

/** What a line above reported: the marker it returns, or the server's error text. */
export function lineOutcome(result: ShellResult): LineOutcome {
  if (result.ok && result.text === `Result: ${DONE}`) return { kind: "done" };
  if (result.ok && result.text === `Result: ${ABSENT}`) return { kind: "absent" };
  return { kind: "failed", text: result.text };
}

/** The address from clientAddressLine's result, or undefined. */
export function parseClientAddress(result: ShellResult): { ip: string; port: number; serverPorts: number[] } | undefined {
  const match = result.ok ? /^Result: cxfr:addr (\S+) (\d+) (\d+)$/.exec(result.text) : null;
  return match ? { ip: match[1] as string, port: Number(match[2]), serverPorts: [Number(match[3])] } : undefined;
}
