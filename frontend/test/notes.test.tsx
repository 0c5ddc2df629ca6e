import { describe, expect, it } from "vitest";
import { renderToString } from "preact-render-to-string";
// The node entry initialises the wasm that the app's /slim imports share.
import * as A from "@automerge/automerge";
import { makeAnchor, place } from "../src/notes/anchor";
import {
  byCreated,
  lengthStatus,
  LIMIT_MESSAGE,
  MAX_CHARS,
  newId,
  passageRemoved,
  readNotes,
  str,
  unsyncedIds,
  visibleNotes,
  type RawNotesDoc,
} from "../src/notes/model";
import { findQuote, flatten, toBody } from "../src/notes/passage";
import { NoteText } from "../src/notes/NoteText";
import { cleanName } from "../src/notes/name";

const BODY = `# Title

The first *sentence* stays. A second sentence goes away completely.

Last paragraph with [a link](https://example.org) and \`code\`.
`;

function article(body = BODY) {
  return A.from({ body });
}

/** The publisher's correction: a minimal diff, as the server applies it. */
function publish<T extends { body: string }>(doc: A.Doc<T>, body: string): A.Doc<T> {
  return A.change(A.clone(doc), (d) => A.updateText(d, ["body"], body));
}

describe("anchoring", () => {
  it("anchors with cursors and re-resolves them on the same words after an edit elsewhere", () => {
    const doc = article();
    const flat = flatten(BODY);
    const start = BODY.indexOf("Last paragraph");
    const anchor = makeAnchor(doc, start, start + "Last paragraph".length);
    expect(anchor.quote).toBe("Last paragraph");
    const edited = publish(doc, BODY.replace("# Title", "# A much longer title, corrected"));
    const p = place(edited, flatten(edited.body), { anchor });
    expect(p.kind).toBe("placed");
    if (p.kind === "placed") expect(edited.body.slice(p.start, p.end)).toBe("Last paragraph");
    // And unchanged when nothing changed.
    const same = place(doc, flat, { anchor });
    expect(same).toEqual({ kind: "placed", start, end: start + 14 });
  });

  it("marks a note whose passage was deleted as removed, and keeps others", () => {
    const doc = article();
    const s = BODY.indexOf("A second sentence");
    const gone = makeAnchor(doc, s, BODY.indexOf("completely.") + "completely.".length);
    const kept = makeAnchor(doc, BODY.indexOf("first"), BODY.indexOf("first") + 5);
    const edited = publish(doc, BODY.replace(" A second sentence goes away completely.", ""));
    const flat = flatten(edited.body);
    expect(place(edited, flat, { anchor: gone })).toEqual({ kind: "removed" });
    const p = place(edited, flat, { anchor: kept });
    expect(p.kind === "placed" && edited.body.slice(p.start, p.end)).toBe("first");
  });

  it("anchors at the very end of the body", () => {
    const doc = article("abc def");
    const a = makeAnchor(doc, 4, 7);
    expect(a.end).toBe("e");
    expect(place(doc, flatten("abc def"), { anchor: a })).toEqual({ kind: "placed", start: 4, end: 7 });
  });

  it("falls back to the quote when the cursors belong to another document", () => {
    const other = article("something else entirely");
    const doc = article();
    const foreign = makeAnchor(other, 0, 9);
    const p = place(doc, flatten(BODY), { anchor: { ...foreign, quote: "The first sentence stays." } });
    expect(p.kind === "placed" && BODY.slice(p.start, p.end)).toBe("The first *sentence* stays.");
    expect(place(doc, flatten(BODY), { anchor: { ...foreign, quote: "not in the text at all" } })).toEqual({ kind: "removed" });
  });
});

describe("passage removed", () => {
  it("is removed when the cursors collapse or little of the quote is left", () => {
    expect(passageRemoved("A second sentence.", "")).toBe(true);
    expect(passageRemoved("A second sentence.", "   ")).toBe(true);
    expect(passageRemoved("one two three four five six", "one seven eight nine ten")).toBe(true);
  });
  it("is kept when formatting or a small correction changed it", () => {
    expect(passageRemoved("The first sentence stays.", "The first *sentence* stays.")).toBe(false);
    expect(passageRemoved("one two three four", "one two three five")).toBe(false);
    expect(passageRemoved("one two three four", "one two")).toBe(false);
  });
});

describe("visible text ↔ body offsets", () => {
  it("maps the rendered text back to Markdown source offsets", () => {
    const flat = flatten(BODY);
    expect(flat.text).toContain("The first sentence stays.");
    const i = flat.text.indexOf("sentence stays");
    const r = toBody(flat, i, i + "sentence stays".length);
    expect(r && BODY.slice(r.start, r.end)).toBe("sentence* stays");
    const j = flat.text.indexOf("a link");
    const l = toBody(flat, j, j + 6);
    expect(l && BODY.slice(l.start, l.end)).toBe("a link");
  });
  it("trims whitespace and refuses an empty selection", () => {
    const flat = flatten("a  b");
    expect(toBody(flat, 1, 3)).toBeNull();
    expect(toBody(flat, 0, 3)).toEqual({ start: 0, end: 1 });
  });
  it("finds a quote that occurs exactly once", () => {
    const flat = flatten(BODY);
    expect(findQuote(flat, BODY, "Last paragraph with a link")).toEqual({
      start: BODY.indexOf("Last"),
      end: BODY.indexOf("a link") + 6,
    });
    expect(findQuote(flat, BODY, "sentence")).toBeNull();
  });
});

describe("reading and ordering notes", () => {
  const raw: RawNotesDoc = {
    notes: {
      b: { id: "b", author: "Bo", created: 5, text: "second", anchor: { start: "1@x", end: "2@x", quote: "q" }, replies: {}, deleted: false },
      a: { id: "a", author: new A.ImmutableString("Ana"), created: 5, text: "first", anchor: null, replies: {
        r2: { id: "r2", author: "Cy", created: 9, text: "later", deleted: false },
        r1: { id: "r1", author: "Di", created: 7, text: "earlier", deleted: true },
      }, deleted: false },
      c: { id: "c", author: "Cy", created: 1, text: "oldest but deleted", deleted: true },
      junk: "not a note" as never,
    },
  };
  it("sorts by created, then id, the same on every phone", () => {
    const notes = readNotes(raw);
    expect(notes.map((n) => n.id)).toEqual(["c", "a", "b"]);
    expect(visibleNotes(notes).map((n) => n.id)).toEqual(["a", "b"]);
    expect(notes[1]?.replies.map((r) => r.id)).toEqual(["r1", "r2"]);
    expect(notes[1]?.author).toBe("Ana");
    expect([{ created: 2, id: "z" }, { created: 1, id: "y" }, { created: 2, id: "a" }].sort(byCreated).map((x) => x.id)).toEqual(["y", "a", "z"]);
  });
  it("reads scalar and text strings alike", () => {
    expect(str(new A.ImmutableString("x"))).toBe("x");
    expect(str("y")).toBe("y");
    expect(str(3)).toBe("");
  });
  it("knows which notes the server lacks", () => {
    const notes = readNotes(raw);
    expect([...unsyncedIds(notes, null)].sort()).toEqual(["a", "a/r1", "a/r2", "b", "c"]);
    const server = readNotes({ notes: { a: { ...raw.notes!.a!, text: "old text" }, c: raw.notes!.c } });
    expect([...unsyncedIds(notes, server)].sort()).toEqual(["a", "b"]);
  });
  it("makes unique random ids", () => {
    const ids = new Set(Array.from({ length: 200 }, () => newId()));
    expect(ids.size).toBe(200);
    expect(newId(() => new Uint8Array(12).fill(255))).toBe("ff".repeat(12));
  });
});

describe("the length limit", () => {
  it("counts up to 4,000 and says so at the limit", () => {
    expect(lengthStatus("hello")).toMatchObject({ count: 5, label: "5 / 4,000", atLimit: false, empty: false });
    expect(lengthStatus("x".repeat(MAX_CHARS))).toMatchObject({ label: "4,000 / 4,000", atLimit: true, over: false });
    expect(lengthStatus("x".repeat(MAX_CHARS + 1)).over).toBe(true);
    expect(lengthStatus("  \n").empty).toBe(true);
    expect(LIMIT_MESSAGE).toContain("4,000");
  });
});

describe("note text", () => {
  it("is rendered as text with line breaks, never as markup", () => {
    const html = renderToString(<NoteText text={'<img src=x onerror="alert(1)">\n<script>alert(2)</script>\nthird'} />);
    expect(html).not.toContain("<img");
    expect(html).not.toContain("<script");
    expect(html).toContain("&lt;img src=x onerror=&quot;alert(1)&quot;>");
    // The line breaks are kept as text (shown by white-space: pre-wrap).
    expect(html).toContain("alert(1)&quot;>\n&lt;script>alert(2)&lt;/script>\nthird");
  });
});

describe("display name", () => {
  it("is trimmed, single-spaced and bounded", () => {
    expect(cleanName("  Ana   María \n")).toBe("Ana María");
    expect(cleanName("x".repeat(100)).length).toBe(60);
  });
});
