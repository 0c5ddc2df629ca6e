import { describe, expect, it } from "vitest";
import { renderToString } from "preact-render-to-string";
import { Article, countWords } from "../src/views/Article";
import { Library } from "../src/views/Library";
import { Store } from "../src/store";
import { listEntries, noteCount, route } from "../src/types";

const store = () => new Store({ sync: "synced", lastSynced: null, progress: { saved: 1, total: 2 }, storage: null, problem: null });

describe("Article view", () => {
  it("sets lang and dir from the document and renders the body as text", () => {
    const html = renderToString(
      <Article doc={{ title: "عنوان", lang: "ar", author: "كاتب", published: "2025-01-02", body: "نص *مهم*\n\n<script>x()</script>" }} words={420} />,
    );
    expect(html).toContain('<article class="article" lang="ar" dir="rtl" data-source="doc">');
    expect(html).toContain("<em>مهم</em>");
    expect(html).toContain("&lt;script>x()&lt;/script>");
    expect(html).toContain("3 min read");
  });
  it("shows the attribution and the withdrawn notice", () => {
    const html = renderToString(
      <Article doc={{ title: "T", source: "https://example.org/", source_name: "Ex", translator: "Tr", withdrawn: true, body: "" }} words={0} />,
    );
    expect(html).toContain('First published by <a href="https://example.org/" rel="noopener noreferrer">Ex</a>.');
    expect(html).toContain("Translated by Tr.");
    expect(html).toContain("withdrawn");
  });
  it("does not link a non-http source", () => {
    const html = renderToString(<Article doc={{ title: "T", source: "javascript:alert(1)", body: "" }} words={0} />);
    expect(html).not.toContain("href=\"javascript");
  });
  it("counts words", () => {
    expect(countWords("one two, three-four l’été")).toBe(4);
  });
});

describe("Library view", () => {
  const doc = {
    articles: {
      b: { slug: "b", title: "B", lang: "es", published: "2025-01-01", words: 400, url: "automerge:B", notes: "automerge:NB" },
      a: { slug: "a", title: "A", lang: "en", published: "2025-02-01", words: 10, url: "automerge:A", notes: "automerge:NA" },
      gone: { slug: "gone", title: "G", url: "automerge:G", withdrawn: true },
      bad: { slug: "bad", title: "no url" },
    },
  };
  it("reads scalar strings (ImmutableString objects) like text", () => {
    // What the server's Rust writes arrives in JS as ImmutableString { val }.
    const imm = (val: string) => ({ val, toString: () => val });
    const e = listEntries({ articles: { x: { slug: imm("x"), title: imm("X"), url: imm("automerge:X"), lang: imm("ar"), words: 5 } } });
    expect(e).toMatchObject([{ slug: "x", title: "X", url: "automerge:X", lang: "ar", words: 5 }]);
    const html = renderToString(<Article doc={{ title: imm("عنوان"), lang: imm("ar"), body: "نص" }} words={1} />);
    expect(html).toContain('lang="ar" dir="rtl"');
    expect(html).toContain("<h1>عنوان</h1>");
  });
  it("lists the entries newest first, without withdrawn ones", () => {
    expect(listEntries(doc).map((e) => e.slug)).toEqual(["a", "b"]);
  });
  it("shows language, reading time, notes and the saved mark", () => {
    const html = renderToString(
      <Library entries={listEntries(doc)} saved={{ a: "automerge:A" }} notes={new Map([["b", 2]])} store={store()} source="doc" />,
    );
    expect(html).toContain('data-slug="a" data-saved="true"');
    expect(html).toContain('data-slug="b" data-saved="false"');
    expect(html).toContain("Spanish");
    expect(html).toContain("2 min read");
    expect(html).toContain("2 notes");
    expect(html).toContain("1 of 2 saved for offline");
  });
});

describe("routes and notes", () => {
  it("routes paths", () => {
    expect(route("/")).toEqual({ kind: "library" });
    expect(route("/articles/a%20b")).toEqual({ kind: "article", slug: "a b" });
    expect(route("/articles/%E0%A4%A")).toEqual({ kind: "other" });
    expect(route("/api/library")).toEqual({ kind: "other" });
  });
  it("counts live notes only", () => {
    expect(noteCount({ notes: { a: {}, b: { deleted: true }, c: { deleted: false } } })).toBe(2);
    expect(noteCount(undefined)).toBe(0);
  });
});
