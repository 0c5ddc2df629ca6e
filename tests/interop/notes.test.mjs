// Notes: written by one client, stored by the server, seen by fresh
// clients, and durable across a kill -9 of the server.

import assert from "node:assert/strict";
import { Automerge, EXTRA_SLUG, addNote, serverTest, libraryEntry, sameHeads, str, waitFor } from "./lib.mjs";

const T = { timeout: 240_000 };

/** Wait until `client` sees note `id` in the notes doc at `url`; returns {handle, note}. */
async function seeNote(client, url, id) {
  const handle = await client.find(url);
  const note = await waitFor(() => handle.doc().notes?.[id], { what: `${client.name} to see note ${id}` });
  return { handle, note };
}

function checkNote(note, id, article, { text, start, end, author }) {
  assert.equal(str(note.id), id);
  assert.equal(str(note.author), author);
  assert.equal(str(note.text), text);
  assert.equal(typeof note.created, "number");
  assert.equal(note.edited, null);
  assert.equal(note.deleted, false);
  assert.deepEqual({ ...note.replies }, {});
  assert.equal(str(note.anchor.quote), str(article.body).slice(start, end));
  assert.equal(Automerge.getCursorPosition(article, ["body"], str(note.anchor.start)), start, "anchor start resolves");
  assert.equal(Automerge.getCursorPosition(article, ["body"], str(note.anchor.end)), end, "anchor end resolves");
}

serverTest("a note added by one client is seen by a fresh client", T, async (h, t) => {
  const { entry } = await libraryEntry(h.server, EXTRA_SLUG);

  const writer = await h.client("writer");
  const article = (await writer.find(entry.url)).doc();
  const notes = await writer.find(entry.notes);
  const start = str(article.body).indexOf("heron");
  const spec = { text: "Herons 🐦 wait; so do we.", start, end: start + 5, author: "Ana" };
  const id = addNote(notes, article, spec);
  await writer.serverHasAll(notes);

  const fresh = await h.client("fresh");
  const { handle, note } = await seeNote(fresh, entry.notes, id);
  checkNote(note, id, (await fresh.find(entry.url)).doc(), spec);
  await waitFor(() => sameHeads(handle.heads(), notes.heads()), { what: "fresh client to reach the writer's heads" });

  // And the writer sees a note written by the fresh client: both directions work.
  const id2 = addNote(handle, article, { text: "reply-ish", start: 0, end: 3, author: "Bo" });
  await waitFor(() => notes.doc().notes[id2], { what: "the writer to see the second client's note live" });
});

serverTest("a note survives kill -9 of the server and a restart on the same data dir", T, async (h, t) => {
  const { lib, entry } = await libraryEntry(h.server, EXTRA_SLUG);

  const writer = await h.client("writer");
  const article = (await writer.find(entry.url)).doc();
  const notes = await writer.find(entry.notes);
  const start = str(article.body).indexOf("lantern");
  const spec = { text: "Survives a crash.", start, end: start + 7, author: "Cy" };
  const id = addNote(notes, article, spec);
  const writerHeads = notes.heads();

  // The server has the note: it reports our heads, and a fresh client, which
  // can only have got the note from the server, sees it.
  await writer.serverHasAll(notes);
  const witness = await h.client("witness");
  await seeNote(witness, entry.notes, id);
  await h.closeClients();

  await h.server.kill9();
  assert.equal(h.server.exit.signal, "SIGKILL");
  await h.server.start();

  const after = await h.server.getJson("/api/library");
  assert.equal(after.library, lib.library, "same library document after the crash");
  const fresh = await h.client("after-crash");
  const { handle, note } = await seeNote(fresh, entry.notes, id);
  checkNote(note, id, (await fresh.find(entry.url)).doc(), spec);
  await waitFor(() => sameHeads(handle.heads(), writerHeads), { what: "the restarted server to serve the writer's heads" });

  // /metrics counts the notes on disk, in a pass at start-up.
  const notesMetric = async () => /^glosa_notes (\d+)$/m.exec((await h.server.get("/metrics")).text)?.[1];
  assert.equal(await waitFor(notesMetric, { what: "glosa_notes in /metrics" }), "1");
});
