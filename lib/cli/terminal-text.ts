/**
 * Control characters (ESC sequences can rewrite a terminal) and bidi controls (U+202E makes text read backwards),
 * plus the other invisible format characters: what server-supplied text may not carry onto a terminal as is.
 */
const UNSAFE = /[\p{Cc}\p{Cf}\u2028\u2029]/gu;

/** `text` with every unsafe character written as \xNN or \u{XXXX}; characters in `keep` (e.g. "\n") stay. */
export function escapeForTerminal(text: string, keep = ""): string {
  return text.replace(UNSAFE, (char) => {
    if (keep.includes(char)) return char;
    const code = char.codePointAt(0) ?? 0;
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u{${code.toString(16)}}`;
  });
}

// eslint-disable-next-line no-control-regex
const NON_ASCII = /[^\x00-\x7f]/;

/** A JSON line that reads the same to a parser but shows no bidi or format character raw (JSON already escapes controls). */
export function escapeJsonLine(json: string): string {
  // every such character is outside ASCII, and nearly every line is ASCII: the Unicode-property scan is the costly part
  if (!NON_ASCII.test(json)) return json;
  return json.replace(/[\p{Cf}\u2028\u2029]/gu, (char) => `\\u${(char.codePointAt(0) ?? 0).toString(16).padStart(4, "0")}`);
}
