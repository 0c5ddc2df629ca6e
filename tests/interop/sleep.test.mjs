// Sleeping documents (vendor/README.md §17): documents phones have open but
// nobody uses drop their operations. Stock automerge-repo clients must not
// notice: a new phone gets them, a note wakes them and reaches everyone,
// and nothing is lost across a kill -9.

import assert from "node:assert/strict";
import { EXTRA_SLUG, addNote, gauge, libraryEntry, serverTest, str, waitFor } from "./lib.mjs";

const T = { timeout: 240_000 };

/** Wait until every loaded document sleeps; returns how many. */
async function allAsleep(server, what) {
  return waitFor(
    async () => {
      const loaded = await gauge(server, "glosa_documents_loaded");
      const asleep = await gauge(server, "glosa_documents_asleep");
      return loaded > 0 && asleep === loaded ? asleep : undefined;
    },
    { what },
  );
}

serverTest("open documents sleep, serve a new phone asleep, wake for a note and keep it", T, async (h, t) => {
  const { entry } = await libraryEntry(h.server, EXTRA_SLUG);

  // Two phones read the article and its notes, and stay connected.
  const ana = await h.client("ana");
  const article = (await ana.find(entry.url)).doc();
  const anaNotes = await ana.find(entry.notes);
  const ben = await h.client("ben");
  const benNotes = await ben.find(entry.notes);
  const slept = await allAsleep(h.server, "the open documents to fall asleep");
  assert.ok(slept >= 2, `the article and its notes sleep (${slept})`);

  // A new phone gets the article from the sleeping document, whole.
  const cleo = await h.client("cleo");
  const cleoArticle = (await cleo.find(entry.url)).doc();
  assert.equal(str(cleoArticle.body), str(article.body));

  // Ana writes a note: the server wakes the notes document, stores the
  // note and passes it on to Ben, who only had it open.
  const start = str(article.body).indexOf("heron");
  const id = addNote(anaNotes, article, { text: "written to a sleeping document", start, end: start + 5, author: "Ana" });
  await ana.serverHasAll(anaNotes, "the server to acknowledge the note");
  const seen = await waitFor(() => benNotes.doc().notes?.[id], { what: "ben to get the note" });
  assert.equal(str(seen.text), "written to a sleeping document");

  // Quiet again, it sleeps again.
  await allAsleep(h.server, "the notes document to sleep again");

  // Nothing was lost: after kill -9, a fresh phone gets the note.
  await h.closeClients();
  await h.server.restart({ hard: true });
  const dan = await h.client("dan");
  const danNotes = await dan.find(entry.notes);
  const kept = await waitFor(() => danNotes.doc().notes?.[id], { what: "the note after kill -9" });
  assert.equal(str(kept.text), "written to a sleeping document");
});
