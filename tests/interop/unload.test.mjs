// Unloading (issue 6, vendor/README.md §2 and §25): documents no phone has
// open leave memory, the least recently used first, and come back from
// disk with nothing lost. A phone reads a library larger than the server
// keeps (`KEEP_UNUSED` in src/server.rs) and leaves: for a while only the
// kept ones stay loaded, then none; a new phone then gets every article
// and the note written before, from disk.

import assert from "node:assert/strict";
import { test } from "node:test";
import { addNote, gauge, harness, str, waitFor } from "./lib.mjs";

const T = { timeout: 240_000 };
const ARTICLES = 40; // with their notes and the bundled article: 83 documents
const KEEP_UNUSED = 64; // src/server.rs

const article = (i) =>
  `---\ntitle: Unload ${i}\nlang: en\n---\nThe heron of article ${i} waits by the reeds.\n`;

test("documents no phone has open unload, the least recently used first, and reload whole", T, async (t) => {
  const extraFiles = Object.fromEntries(Array.from({ length: ARTICLES }, (_, i) => [`unload-${i}.md`, article(i)]));
  const h = await harness(t, { extraFiles });
  const lib = await h.server.getJson("/api/library");
  const urls = lib.articles.flatMap((a) => [a.url, a.notes]);
  assert.ok(urls.length > KEEP_UNUSED + 10, `${urls.length} documents, more than are kept`);

  const ana = await h.client("ana");
  const handles = [];
  for (let i = 0; i < urls.length; i += 20) handles.push(...(await Promise.all(urls.slice(i, i + 20).map((u) => ana.find(u)))));
  const first = lib.articles.findIndex((a) => a.slug === "unload-0");
  const articleDoc = handles[2 * first].doc();
  const notes = handles[2 * first + 1];
  const id = addNote(notes, articleDoc, { text: "kept through the unload", start: 4, end: 9, author: "Ana" });
  await ana.serverHasAll(notes, "the server to acknowledge the note");
  assert.ok((await gauge(h.server, "glosa_documents_loaded")) >= urls.length, "every document loaded while read");
  await h.closeClients();

  // Only the library (held by the server) and the kept documents stay for
  // the idle period; the others go first. Without the ranking all of them
  // would leave in one tick, 10 s after Ana, and this state never occur.
  await waitFor(
    async () => {
      const loaded = await gauge(h.server, "glosa_documents_loaded");
      return loaded > 1 && loaded <= 1 + KEEP_UNUSED;
    },
    { timeout: 60_000, interval: 50, what: `only the ${KEEP_UNUSED} most recent unused documents (and the library) to stay loaded` },
  );
  await waitFor(async () => (await gauge(h.server, "glosa_documents_loaded")) <= 1, {
    timeout: 60_000,
    interval: 100,
    what: "every document but the library to unload",
  });

  // Back from disk: every article whole, and the note.
  const ben = await h.client("ben");
  const again = await ben.find(lib.articles[first].url);
  assert.equal(str(again.doc().body), str(articleDoc.body));
  const benNotes = await ben.find(lib.articles[first].notes);
  const kept = await waitFor(() => benNotes.doc().notes?.[id], { what: "the note after the unload" });
  assert.equal(str(kept.text), "kept through the unload");
  const last = lib.articles.at(-1);
  assert.equal(str((await ben.find(last.url)).doc().title), str(handles[2 * (lib.articles.length - 1)].doc().title));
});
