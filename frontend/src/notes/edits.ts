/**
 * Every change the app makes to a notes document. Each is one small
 * Automerge change addressing one note by id, so changes from phones that
 * were offline merge without conflict:
 * - new notes and replies are new keys (random ids) in existing maps;
 * - text edits go through `updateText` (a character diff), so two phones
 *   editing different parts of the same note both keep their edits;
 * - deletion only flips a tombstone flag, which restore flips back.
 * Text fields are Automerge text; ids, names and anchors are scalar strings
 * (docs/schema.md).
 */
import { Automerge, ImmutableString, type DocHandle } from "@automerge/automerge-repo/slim";
import { MAX_CHARS, newId, type RawNote, type RawNotesDoc, type RawReply } from "./model";

export class TooLong extends Error {
  constructor() {
    super(`A note is limited to ${MAX_CHARS} characters.`);
  }
}

function check(text: string): string {
  if (text.length > MAX_CHARS) throw new TooLong();
  return text;
}

type Mutable = RawNotesDoc & { notes: Record<string, RawNote> };

function notesMap(d: RawNotesDoc): Record<string, RawNote> {
  // The server creates `notes` with the document; only a foreign or very
  // old document could lack it.
  if (!d.notes || typeof d.notes !== "object") d.notes = {};
  return (d as Mutable).notes;
}

const s = (v: string) => new ImmutableString(v);

export function addNote(
  handle: DocHandle<RawNotesDoc>,
  n: { author: string; text: string; anchor: { start: string; end: string; quote: string } },
  now = Date.now(),
): string {
  const id = newId();
  const text = check(n.text);
  handle.change((d) => {
    notesMap(d)[id] = {
      id: s(id),
      author: s(n.author),
      created: now,
      edited: null,
      text,
      anchor: { start: s(n.anchor.start), end: s(n.anchor.end), quote: s(n.anchor.quote) },
      replies: {},
      deleted: false,
    } as RawNote;
  });
  return id;
}

export function addReply(handle: DocHandle<RawNotesDoc>, noteId: string, r: { author: string; text: string }, now = Date.now()): string {
  const id = newId();
  const text = check(r.text);
  handle.change((d) => {
    const note = notesMap(d)[noteId];
    if (!note) return;
    if (!note.replies || typeof note.replies !== "object") note.replies = {};
    (note.replies as Record<string, RawReply>)[id] = {
      id: s(id),
      author: s(r.author),
      created: now,
      edited: null,
      text,
      deleted: false,
    } as RawReply;
  });
  return id;
}

/** The object holding the note (or the reply) `path` = [noteId] or [noteId, replyId]. */
function target(d: RawNotesDoc, path: readonly string[]): { obj: RawReply; at: string[] } | null {
  const [noteId, replyId] = path;
  if (!noteId) return null;
  const note = notesMap(d)[noteId];
  if (!note) return null;
  if (replyId === undefined) return { obj: note, at: ["notes", noteId] };
  const reply = note.replies?.[replyId];
  return reply ? { obj: reply, at: ["notes", noteId, "replies", replyId] } : null;
}

export function editText(handle: DocHandle<RawNotesDoc>, path: readonly string[], text: string, now = Date.now()): void {
  check(text);
  handle.change((d) => {
    const t = target(d, path);
    if (!t) return;
    if (typeof t.obj.text === "string") {
      // A character diff against the current text: concurrent edits at
      // other places in the note survive the merge.
      Automerge.updateText(d, [...t.at, "text"], text);
    } else {
      // A foreign client stored a scalar: replace it with a text object.
      t.obj.text = text;
    }
    t.obj.edited = now;
  });
}

export function setDeleted(handle: DocHandle<RawNotesDoc>, path: readonly string[], deleted: boolean): void {
  handle.change((d) => {
    const t = target(d, path);
    if (t && t.obj.deleted !== deleted) t.obj.deleted = deleted;
  });
}
