// Two writers add notes to the same notes document at the same time; both,
// the server and a fresh client converge on the same document.

import assert from "node:assert/strict";
import { setImmediate as yieldToIo } from "node:timers/promises";
import { EXTRA_SLUG, addNote, serverTest, libraryEntry, sameHeads, str, waitFor } from "./lib.mjs";

const PER_WRITER = 50;

serverTest("two concurrent writers converge on the server and at a fresh client", { timeout: 300_000 }, async (h, t) => {
  const { entry } = await libraryEntry(h.server, EXTRA_SLUG);

  const a = await h.client("writerA");
  const b = await h.client("writerB");
  const article = (await a.find(entry.url)).doc();
  const na = await a.find(entry.notes);
  const nb = await b.find(entry.notes);
  const len = str(article.body).length;

  const ids = new Map(); // id → text
  for (let i = 0; i < PER_WRITER; i++) {
    for (const [who, handle] of [["A", na], ["B", nb]]) {
      const text = `note ${i} by ${who}`;
      const start = (i * 7) % (len - 10);
      ids.set(addNote(handle, article, { text, author: who, start, end: start + 5 }), text);
    }
    // Let the sockets carry some of the changes while the writers keep
    // writing, so that the two histories really interleave at the server.
    if (i % 5 === 4) await yieldToIo();
  }
  assert.equal(ids.size, 2 * PER_WRITER);

  const complete = (handle) => {
    const notes = handle.doc().notes;
    return Object.keys(notes).length === ids.size && [...ids].every(([id, text]) => str(notes[id]?.text) === text);
  };
  await waitFor(() => complete(na) && complete(nb) && sameHeads(na.heads(), nb.heads()), {
    timeout: 60_000,
    what: "both writers to converge on all notes with equal heads",
  });
  await a.serverHasAll(na, "the server to report writer A's heads");
  await b.serverHasAll(nb, "the server to report writer B's heads");

  const c = await h.client("fresh");
  const nc = await c.find(entry.notes);
  await waitFor(() => complete(nc) && sameHeads(nc.heads(), na.heads()), {
    timeout: 60_000,
    what: "a fresh client to see all notes with the writers' heads",
  });
});
