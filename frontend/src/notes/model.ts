/**
 * The notes document as the app reads it (docs/schema.md, glosa/notes v1),
 * and the pure rules the notes UI follows: what is listed and in which
 * order, the length limit, whether a passage was removed, which notes the
 * server does not have yet. No automerge and no DOM here, so all of it is
 * unit-tested directly.
 */

/** The longest note or reply, in UTF-16 units (what a textarea's maxLength counts). */
export const MAX_CHARS = 4000;

/** A raw note as stored: strings may be text (JS string) or scalar (ImmutableString). */
export interface RawReply {
  id?: unknown;
  author?: unknown;
  created?: unknown;
  edited?: unknown;
  text?: unknown;
  deleted?: unknown;
}

export interface RawNote extends RawReply {
  anchor?: { start?: unknown; end?: unknown; quote?: unknown } | null;
  replies?: Record<string, RawReply | undefined> | null;
}

export interface RawNotesDoc {
  schema?: unknown;
  version?: unknown;
  article?: unknown;
  notes?: Record<string, RawNote | undefined> | null;
}

export interface Reply {
  id: string;
  author: string;
  created: number;
  edited: number | null;
  text: string;
  deleted: boolean;
}

export interface Note extends Reply {
  anchor: { start: string; end: string; quote: string };
  /** All replies, deleted ones included, in display order. */
  replies: Reply[];
}

/**
 * A string field as a JS string. Automerge gives text objects as strings and
 * scalar strings as ImmutableString (which has `val`); Node clients may
 * write either, so both are accepted.
 */
export function str(v: unknown): string {
  if (typeof v === "string") return v;
  if (v && typeof v === "object" && "val" in v && typeof (v as { val: unknown }).val === "string") return (v as { val: string }).val;
  return "";
}

const num = (v: unknown): number => (typeof v === "number" && Number.isFinite(v) ? v : 0);
const numOrNull = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);

/** Same order on every phone: by creation time, then by id (ids are unique). */
export function byCreated(a: { created: number; id: string }, b: { created: number; id: string }): number {
  if (a.created !== b.created) return a.created - b.created;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

function readReply(key: string, r: RawReply): Reply {
  return {
    id: str(r.id) || key,
    author: str(r.author),
    created: num(r.created),
    edited: numOrNull(r.edited),
    text: str(r.text),
    deleted: r.deleted === true,
  };
}

/**
 * Every well-formed note of a notes document (deleted ones included, marked),
 * sorted. Malformed entries (not objects) are skipped, never fatal: old or
 * foreign clients may have written anything.
 */
export function readNotes(doc: RawNotesDoc | undefined | null): Note[] {
  const out: Note[] = [];
  for (const [key, raw] of Object.entries(doc?.notes ?? {})) {
    if (!raw || typeof raw !== "object") continue;
    const a = raw.anchor && typeof raw.anchor === "object" ? raw.anchor : {};
    const replies: Reply[] = [];
    for (const [rk, r] of Object.entries(raw.replies && typeof raw.replies === "object" ? raw.replies : {})) {
      if (r && typeof r === "object") replies.push(readReply(rk, r));
    }
    replies.sort(byCreated);
    out.push({
      ...readReply(key, raw),
      // The map key is authoritative: it is what every operation addresses.
      id: key,
      anchor: { start: str(a.start), end: str(a.end), quote: str(a.quote) },
      replies,
    });
  }
  return out.sort(byCreated);
}

/** The notes a reader sees (not deleted). */
export function visibleNotes(notes: readonly Note[]): Note[] {
  return notes.filter((n) => !n.deleted);
}

/** What the counter under a textbox says, and whether the text can be saved. */
export function lengthStatus(text: string): { count: number; label: string; atLimit: boolean; over: boolean; empty: boolean } {
  const count = text.length;
  return {
    count,
    label: `${count.toLocaleString("en")} / ${MAX_CHARS.toLocaleString("en")}`,
    atLimit: count >= MAX_CHARS,
    over: count > MAX_CHARS,
    empty: text.trim() === "",
  };
}

export const LIMIT_MESSAGE = `You have reached the limit of ${MAX_CHARS.toLocaleString("en")} characters.`;

/** A fresh random id (unique across phones without coordination). */
export function newId(random: (n: number) => Uint8Array = (n) => crypto.getRandomValues(new Uint8Array(n))): string {
  return Array.from(random(12), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Words (letters and digits) of a passage, lower-cased: Markdown syntax and spacing don't count. */
export function words(s: string): string[] {
  return (s.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []) as string[];
}

/** Length of the longest common subsequence of two word lists. */
function lcs(a: readonly string[], b: readonly string[]): number {
  // Quotes are short; cap the work for hostile input.
  const x = a.slice(0, 400);
  const y = b.slice(0, 400);
  let prev = new Array<number>(y.length + 1).fill(0);
  for (let i = 1; i <= x.length; i++) {
    const cur = new Array<number>(y.length + 1).fill(0);
    for (let j = 1; j <= y.length; j++) {
      cur[j] = x[i - 1] === y[j - 1] ? (prev[j - 1] as number) + 1 : Math.max(prev[j] as number, cur[j - 1] as number);
    }
    prev = cur;
  }
  return prev[y.length] as number;
}

/**
 * Whether the passage a note was written on is gone, given the quote kept in
 * the note and the text now between its cursors. When the publisher deletes
 * a passage, both cursors collapse onto the same spot (empty text); when the
 * passage is rewritten, little of the quote is left between them. A passage
 * that keeps at least half of its words (in order) is still the same passage.
 */
export function passageRemoved(quote: string, current: string): boolean {
  if (current.trim() === "") return true;
  const q = words(quote);
  if (q.length === 0) return quote.trim() !== "" && !current.includes(quote.trim());
  return lcs(q, words(current)) * 2 < q.length;
}

/**
 * The ids (notes and replies) whose current state the server does not have,
 * given the document as the server last acknowledged it (`server`, null if
 * it never acknowledged anything). A note is synced when the server's copy
 * holds it with the same text and the same deleted flag.
 */
export function unsyncedIds(current: readonly Note[], server: readonly Note[] | null): Set<string> {
  const out = new Set<string>();
  const theirs = new Map<string, Reply>();
  for (const n of server ?? []) {
    theirs.set(n.id, n);
    for (const r of n.replies) theirs.set(`${n.id}/${r.id}`, r);
  }
  const differs = (mine: Reply, key: string) => {
    const t = theirs.get(key);
    return !t || t.text !== mine.text || t.deleted !== mine.deleted;
  };
  for (const n of current) {
    if (differs(n, n.id)) out.add(n.id);
    for (const r of n.replies) if (differs(r, `${n.id}/${r.id}`)) out.add(`${n.id}/${r.id}`);
  }
  return out;
}
