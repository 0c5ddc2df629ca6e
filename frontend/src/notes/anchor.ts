/**
 * Anchors: a note is attached to its passage by two Automerge cursors into
 * the article's `body` text (start, and end = the character just after the
 * passage, "e" at the very end). Cursors follow their characters through the
 * publisher's minimal-diff corrections, so a note stays on the same words.
 * The article doc is read-only for clients, but cursors are computed from
 * the local copy and need no change to it.
 */
import { Automerge, type Doc } from "@automerge/automerge-repo/slim";
import { findQuote, type Flat } from "./passage";
import { passageRemoved, type Note } from "./model";

interface WithBody {
  body?: unknown;
}

export function makeAnchor(article: Doc<WithBody>, start: number, end: number): { start: string; end: string; quote: string } {
  const body = typeof article.body === "string" ? article.body : "";
  return {
    start: Automerge.getCursor(article, ["body"], start),
    end: Automerge.getCursor(article, ["body"], Math.min(end, body.length)),
    quote: body.slice(start, end),
  };
}

export type Placement =
  | { kind: "placed"; start: number; end: number }
  /** The passage was deleted or rewritten by the publisher: show the quote only. */
  | { kind: "removed" };

function position(article: Doc<WithBody>, cursor: string): number | null {
  if (!cursor) return null;
  try {
    return Automerge.getCursorPosition(article, ["body"], cursor);
  } catch {
    // A cursor from another document (or garbage from a foreign client).
    return null;
  }
}

/** Where a note's passage is in the current body, or that it is gone. */
export function place(article: Doc<WithBody>, flat: Flat, note: Pick<Note, "anchor">): Placement {
  const body = typeof article.body === "string" ? article.body : "";
  const s = position(article, note.anchor.start);
  const e = position(article, note.anchor.end);
  if (s === null || e === null) {
    const found = findQuote(flat, body, note.anchor.quote);
    return found ? { kind: "placed", ...found } : { kind: "removed" };
  }
  const start = Math.max(0, Math.min(s, body.length));
  const end = Math.max(start, Math.min(e, body.length));
  if (passageRemoved(note.anchor.quote, body.slice(start, end))) return { kind: "removed" };
  return { kind: "placed", start, end };
}
