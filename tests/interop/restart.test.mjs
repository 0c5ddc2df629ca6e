// Restarts: unchanged files change nothing; an edited file updates the same
// document so cursors keep their words; a deleted file is withdrawn.

import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import {
  Automerge,
  EXTRA_FILE,
  EXTRA_SLUG,
  EXTRA_TEXT,
  addNote,
  serverTest,
  libraryEntry,
  parseArticleFile,
  readContentDir,
  sameHeads,
  str,
  waitFor,
} from "./lib.mjs";

const T = { timeout: 300_000 };

/** Every document's URL and heads, as a fresh client receives them. */
async function snapshot(h, name) {
  const lib = await h.server.getJson("/api/library");
  const c = await h.client(name);
  const docs = {};
  const urls = [lib.library, ...lib.articles.flatMap((a) => [a.url, a.notes])];
  for (const url of urls) {
    const handle = await c.find(url);
    docs[url] = [...handle.heads()].sort();
  }
  await c.close();
  return { lib, docs };
}

serverTest("restarting with unchanged files changes nothing: same URLs, same heads", T, async (h, t) => {
  const first = await snapshot(h, "before");
  assert.ok(first.lib.articles.length >= 2);

  await h.server.restart(); // SIGTERM, clean exit 0
  const second = await snapshot(h, "after-clean-restart");
  assert.deepEqual(second.lib, first.lib, "/api/library identical after a clean restart");
  assert.deepEqual(second.docs, first.docs, "every document's heads identical after a clean restart");

  await h.server.restart({ hard: true }); // kill -9
  const third = await snapshot(h, "after-kill9");
  assert.deepEqual(third.lib, first.lib, "/api/library identical after kill -9 and restart");
  assert.deepEqual(third.docs, first.docs, "every document's heads identical after kill -9 and restart");
});

serverTest("an edited file updates the same document and cursors keep their words; a deleted file is withdrawn", T, async (h, t) => {
  const file = path.join(h.server.contentDir, EXTRA_FILE);
  const { lib, entry } = await libraryEntry(h.server, EXTRA_SLUG);

  // A client places cursors on words after the point the edit will touch,
  // and anchors a note there.
  const c1 = await h.client("before-edit");
  const artHandle = await c1.find(entry.url);
  const art = artHandle.doc();
  const oldBody = str(art.body);
  const words = ["heron", "reeds", "lantern"];
  const cursors = Object.fromEntries(
    words.map((w) => {
      const i = oldBody.indexOf(w);
      assert.ok(i > 0, `${w} in the fixture`);
      return [w, Automerge.getCursor(art, ["body"], i)];
    }),
  );
  const oldHeads = artHandle.heads();
  const notes = await c1.find(entry.notes);
  const heron = oldBody.indexOf("heron");
  const noteId = addNote(notes, art, { text: "about the heron", start: heron, end: heron + 5 });
  await c1.serverHasAll(notes);
  await h.closeClients();

  // Edit before the words: new text with non-BMP characters (UTF-16 indexing
  // matters), a replaced word, and the file keeps its CRLF line endings.
  await h.server.stop();
  const edited = EXTRA_TEXT.replace(
    "The first paragraph talks about water 🌊 and stones 🪨 along the bank.",
    "The first paragraph, now rewritten 🌍🌍, talks about water 🌊 and pebbles along the bank.",
  ).replace("The second paragraph names", "The second paragraph 🦩 proudly names");
  assert.notEqual(edited, EXTRA_TEXT);
  fs.writeFileSync(file, edited);
  const newBody = parseArticleFile(edited).body;
  await h.server.start();

  const after = await libraryEntry(h.server, EXTRA_SLUG);
  assert.equal(after.lib.library, lib.library, "same library URL");
  assert.equal(after.entry.url, entry.url, "the edited article keeps its URL");
  assert.equal(after.entry.notes, entry.notes, "the edited article keeps its notes URL");

  const c2 = await h.client("after-edit");
  const art2Handle = await c2.find(entry.url);
  const art2 = art2Handle.doc();
  assert.equal(str(art2.body), newBody, "the document holds the edited text");
  assert.ok(!sameHeads(art2Handle.heads(), oldHeads), "the edit is a new change");
  // The new history extends the old one: same document, not a replacement.
  assert.ok(Automerge.hasHeads(art2, Automerge.getHeads(art)), "the edited document contains the old history");
  for (const w of words) {
    const pos = Automerge.getCursorPosition(art2, ["body"], cursors[w]);
    assert.equal(pos, newBody.indexOf(w), `cursor on "${w}" points at the same word after the edit`);
    assert.equal(newBody.slice(pos, pos + w.length), w);
  }
  const page = await h.server.get(`/articles/${EXTRA_SLUG}`);
  assert.equal(page.status, 200);
  assert.ok(page.text.includes("rewritten"), "the article page shows the edited text");
  await h.closeClients();

  // Delete the file: the article is withdrawn, its notes are kept.
  await h.server.stop();
  fs.rmSync(file);
  await h.server.start();

  const lib3 = await h.server.getJson("/api/library");
  assert.equal(lib3.library, lib.library, "same library URL after a withdrawal");
  assert.ok(!lib3.articles.some((a) => a.slug === EXTRA_SLUG), "a withdrawn article is not in /api/library");
  const others = readContentDir(h.server.contentDir).map((f) => f.slug).sort();
  assert.deepEqual(lib3.articles.map((a) => a.slug).sort(), others, "every other article is still listed");

  const c3 = await h.client("after-delete");
  const libDoc = (await c3.find(lib.library)).doc();
  assert.equal(libDoc.articles[EXTRA_SLUG]?.withdrawn, true, "the library document keeps the entry, withdrawn");
  const art3 = (await c3.find(entry.url)).doc();
  assert.equal(art3.withdrawn, true, "the article document is marked withdrawn");
  assert.equal(str(art3.body), newBody, "the withdrawn article keeps its text");
  const notes3 = await c3.find(entry.notes);
  await waitFor(() => notes3.doc().notes?.[noteId], { what: "the withdrawn article's note to be served" });
  assert.equal(str(notes3.doc().notes[noteId].text), "about the heron");
});
