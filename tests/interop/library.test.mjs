// The library and the articles, as a stock automerge-repo client sees them.

import assert from "node:assert/strict";
import { serverTest, readContentDir, str } from "./lib.mjs";

const T = { timeout: 240_000 };

serverTest("GET /api/library and the library document over /sync agree", T, async (h, t) => {
  const files = readContentDir(h.server.contentDir);
  const slugs = files.map((f) => f.slug).sort();
  assert.ok(slugs.length >= 2, "the content copy has the bundled articles plus the fixture");

  const lib = await h.server.getJson("/api/library");
  assert.match(lib.library, /^automerge:[1-9A-HJ-NP-Za-km-z]+$/);
  assert.deepEqual(lib.articles.map((a) => a.slug).sort(), slugs, "/api/library lists every content file");

  const c = await h.client("reader");
  const libHandle = await c.find(lib.library);
  const doc = libHandle.doc();
  assert.equal(str(doc.schema), "glosa/library");
  assert.equal(doc.version, 1);
  assert.deepEqual(Object.keys(doc.articles).sort(), slugs, "the library document lists every article");

  for (const a of lib.articles) {
    const e = doc.articles[a.slug];
    assert.match(a.url, /^automerge:/, `${a.slug}: url`);
    assert.match(a.notes, /^automerge:/, `${a.slug}: notes url`);
    assert.notEqual(a.url, a.notes, `${a.slug}: article and notes are distinct documents`);
    assert.equal(str(e.url), a.url, `${a.slug}: article url agrees`);
    assert.equal(str(e.notes), a.notes, `${a.slug}: notes url agrees`);
    for (const k of ["slug", "title", "author", "lang", "published", "summary"]) {
      assert.equal(str(e[k]), a[k], `${a.slug}: ${k} agrees`);
    }
    assert.equal(e.words, a.words, `${a.slug}: words agrees`);
    assert.equal(e.withdrawn, false, `${a.slug}: not withdrawn`);

    // Each listed URL resolves to the right kind of document.
    const art = (await c.find(a.url)).doc();
    assert.equal(str(art.schema), "glosa/article", `${a.slug}: article schema`);
    assert.equal(art.version, 1);
    assert.equal(str(art.slug), a.slug);
    assert.equal(art.withdrawn, false);
    const notes = (await c.find(a.notes)).doc();
    assert.equal(str(notes.schema), "glosa/notes", `${a.slug}: notes schema`);
    assert.equal(notes.version, 1);
    assert.equal(str(notes.article), a.slug);
    assert.equal(typeof notes.notes, "object", `${a.slug}: notes map present`);
  }
});

serverTest("every article body and title from the server equals its file", T, async (h, t) => {
  const files = readContentDir(h.server.contentDir);
  const lib = await h.server.getJson("/api/library");
  const c = await h.client("reader");
  for (const f of files) {
    const entry = lib.articles.find((a) => a.slug === f.slug);
    assert.ok(entry, `${f.slug} listed in /api/library`);
    const doc = (await c.find(entry.url)).doc();
    assert.equal(typeof doc.body, "string", `${f.slug}: body is text`);
    assert.ok(f.body.length > 0, `${f.slug}: the file has a body`);
    assert.ok(!f.body.includes("\r"), "the expected body is LF-normalised");
    // Exact equality: front matter removed, CRLF→LF, nothing else touched.
    assert.equal(str(doc.body), f.body, `${f.slug}: body equals the file's body`);
    assert.equal(str(doc.title), f.meta.title, `${f.slug}: title`);
    for (const k of ["author", "lang", "published", "summary"]) {
      if (f.meta[k] !== undefined) assert.equal(str(doc[k]), f.meta[k], `${f.slug}: ${k}`);
    }
    assert.equal(entry.title, f.meta.title, `${f.slug}: /api/library title`);

    const page = await h.server.get(`/articles/${f.slug}`);
    assert.equal(page.status, 200, `${f.slug}: article page`);
  }
});
