/** Bytes that may appear as themselves inside a Lua string literal we write; everything else is a `\ddd` escape. */
const PLAIN_BYTE = /^[A-Za-z0-9@._:/-]$/;

/**
 * A Lua double-quoted string literal holding exactly `value` (UTF-8). Every byte outside a small safe set is written
 * as a decimal escape (`\ddd`, Lua 5.1+), so no quote, backslash, bracket sequence, newline or control character of
 * the input ever reaches the Lua source as itself.
 */
export function luaString(value: string): string {
  let out = '"';
  for (const byte of Buffer.from(value, "utf8")) {
    const char = String.fromCharCode(byte);
    out += PLAIN_BYTE.test(char) ? char : `\\${String(byte).padStart(3, "0")}`;
  }
  return `${out}"`;
}
