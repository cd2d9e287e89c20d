import { InputError } from "../errors.ts";
import { parseJid } from "../xmpp/jid.ts";

/** The home node of an account from a `redirect --map` file, or undefined when the file does not place it. */
export type HomeLookup = (bareJid: string) => string | undefined;

/**
 * Reads a home map: CSV lines `jid,node` where jid is a bare JID or `*@domain` (every account of the
 * domain not named on its own line). Blank lines, `#` comments and a `jid,node` header are skipped.
 * Every error names the file's line.
 */
export function parseHomeMap(text: string, nodeNames: readonly string[], file: string, field = "--map"): HomeLookup {
  const exact = new Map<string, string>();
  const byDomain = new Map<string, string>();
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    const at = `${file} line ${i + 1}`;
    if (line === "" || line.startsWith("#") || (i === 0 && line.toLowerCase() === "jid,node")) return;
    const parts = line.split(",").map((p) => p.trim());
    if (parts.length !== 2 || parts[0] === "" || parts[1] === "") throw new InputError(field, `${at}: expected "jid,node", got ${JSON.stringify(line.slice(0, 80))}`);
    const [who, node] = parts as [string, string];
    if (!nodeNames.includes(node)) throw new InputError(field, `${at}: no node named "${node}" (configured: ${nodeNames.join(", ")})`);
    if (who.startsWith("*@")) {
      const jid = parseJid(who.slice(2), `${field} (${at})`);
      if (jid.local !== undefined || jid.resource !== undefined) throw new InputError(field, `${at}: "${who}" must be *@domain`);
      if (byDomain.has(jid.domain)) throw new InputError(field, `${at}: ${who} is given twice`);
      byDomain.set(jid.domain, node);
      return;
    }
    const jid = parseJid(who, `${field} (${at})`);
    if (jid.local === undefined || jid.resource !== undefined) throw new InputError(field, `${at}: "${who}" must be a bare JID (user@domain) or *@domain`);
    const bare = `${jid.local}@${jid.domain}`;
    if (exact.has(bare)) throw new InputError(field, `${at}: ${bare} is given twice`);
    exact.set(bare, node);
  });
  return (bare) => exact.get(bare) ?? byDomain.get(bare.slice(bare.indexOf("@") + 1));
}
