import { isIP } from "node:net";
import type { LiveSession } from "../xmpp/admin.ts";
import { canonicalJid, parseJid, resourceProblem } from "../xmpp/jid.ts";

/**
 * Which accounts of Prosody's get-online-users-list (details=1) can be read as they are, and which must be
 * confirmed with user-stats (issue 6 defect 1).
 *
 * Prosody copies each session's own <show> text into its line, and splits the field on newlines, so a show
 * holding "\n" forges lines. Where can forged lines land?
 *  - in the forger's own block: its first line then ends with the forger's text and the last forged line with
 *    the real "(priority), IP: [ip]" tail, so the block has two or more lines;
 *  - under a forged account line: that account is then either listed twice (it is online, its real line is
 *    there too) or missing from the plain listing (details=0, which holds only account names, no user text).
 * So an account is read as it stands only when its name appears once, matches the plain listing, and its block
 * is exactly one unambiguous line; and the block before any bad account line is the forger's and is confirmed.
 * Everything else — accounts with several sessions included — goes to user-stats.
 */
export interface ListingVerdict {
  /** Sessions read from unambiguous lines, in listing order. */
  trusted: LiveSession[];
  /** Accounts (canonical bare JIDs of our domain) to ask user-stats about, with the lines claimed for them. */
  toConfirm: Map<string, LiveSession[]>;
}

export interface DetailBlock {
  /** The account line as Prosody wrote it. */
  account: string;
  /** The " - …" lines under it, prefix removed. */
  details: string[];
}

const DETAIL_PREFIX = " - ";
const SHOWS = ["available", "unavailable", "away", "chat", "dnd", "xa"];
/** A line's tail: show word, priority, address. Anchored at the end, so the address is the one Prosody wrote. */
const DETAIL_TAIL = new RegExp(`: (${SHOWS.join("|")})\\((-?\\d+|-)\\), IP: \\[([^\\]]*)\\]$`);
const TAIL_MARK = new RegExp(`: (?:${SHOWS.join("|")})\\((?:-?\\d+|-)\\), IP: \\[`, "g");

/** The listing's values (each may hold several lines) as account blocks; lines before the first account line are dropped. */
export function detailBlocks(values: string[]): DetailBlock[] {
  const blocks: DetailBlock[] = [];
  for (const line of values.flatMap((v) => v.split(/\r?\n/))) {
    if (line.startsWith(DETAIL_PREFIX)) blocks.at(-1)?.details.push(line.slice(DETAIL_PREFIX.length));
    else blocks.push({ account: line, details: [] });
  }
  return blocks;
}

/**
 * `online`: canonical bare JIDs from the plain listing (details=0). `domain`: canonical. Accounts that the plain
 * listing names but the details do not (a login between the two requests) are confirmed too.
 */
export function judgeListing(blocks: DetailBlock[], online: ReadonlySet<string>, domain: string): ListingVerdict {
  const accountOf = blocks.map((b) => ownAccount(b.account, domain));
  const times = new Map<string, number>();
  for (const bare of accountOf) if (bare) times.set(bare, (times.get(bare) ?? 0) + 1);
  const goodLine = blocks.map((b, i) => {
    const bare = accountOf[i];
    return bare !== undefined && b.account === bare && online.has(bare) && times.get(bare) === 1;
  });

  const claims = blocks.map((b, i) => {
    const bare = accountOf[i];
    return bare ? b.details.map((d) => readDetail(bare, d)) : [];
  });
  const suspect = new Set<string>();
  blocks.forEach((block, i) => {
    const bare = accountOf[i];
    const only = block.details.length === 1 ? claims[i]?.[0] : undefined;
    const readable = goodLine[i] && only?.session !== undefined && only.unambiguous;
    if (bare && !readable) suspect.add(bare);
    // a bad account line may be forged text of the session listed just above it
    const before = accountOf[i - 1];
    if (!goodLine[i] && before) suspect.add(before);
  });
  for (const bare of online) if (!times.has(bare)) suspect.add(bare);

  const trusted: LiveSession[] = [];
  const toConfirm = new Map<string, LiveSession[]>();
  blocks.forEach((_, i) => {
    const bare = accountOf[i];
    if (!bare) return;
    const sessions = (claims[i] ?? []).flatMap((c) => c.session ?? []);
    if (!suspect.has(bare)) trusted.push(...sessions);
    else toConfirm.set(bare, [...(toConfirm.get(bare) ?? []), ...sessions]);
  });
  for (const bare of suspect) if (!toConfirm.has(bare)) toConfirm.set(bare, []);
  return { trusted, toConfirm };
}

/** What one detail line says: the session it claims, if any, and whether it can be read as it stands. */
interface DetailReading {
  /** the session (resource, show, priority, address) the line claims; undefined when it names no valid session */
  session?: LiveSession;
  /**
   * One well-formed tail, a real address (or Prosody's "unknown"), and no second reading of where the resource ends:
   * a resource holding ": " could end earlier, with the rest being the user's own show text ("phone" showing
   * "x: dnd" reads like a session "phone: x"), so such a line is not read as it stands.
   */
  unambiguous: boolean;
}

/** `bare`: the canonical account the line is listed under (already checked to be of our domain). */
function readDetail(bare: string, detail: string): DetailReading {
  const tail = DETAIL_TAIL.exec(detail);
  if (!tail || tail.index === 0) return { unambiguous: false };
  const resource = detail.slice(0, tail.index);
  const [, show = "", priority = "-", ip = ""] = tail;
  const realAddress = ip !== "unknown" && isIP(ip) !== 0;
  const unambiguous = !resource.includes(": ") && (realAddress || ip === "unknown") && (detail.match(TAIL_MARK) ?? []).length === 1;
  if (resourceProblem(resource) !== undefined) return { unambiguous };
  const session: LiveSession = {
    jid: `${bare}/${resource}`,
    bare,
    resource,
    ...(realAddress && { ip }),
    show,
    ...(priority !== "-" && { priority: Number(priority) }),
  };
  return { session, unambiguous };
}

/** The canonical bare JID an account line names when it is an account of `domain`, else undefined. */
function ownAccount(line: string, domain: string): string | undefined {
  try {
    const jid = parseJid(line.trim(), "account");
    if (jid.resource !== undefined || jid.local === undefined || canonicalJid(jid.domain) !== domain) return undefined;
    return canonicalJid({ local: jid.local, domain: jid.domain });
  } catch {
    return undefined;
  }
}
