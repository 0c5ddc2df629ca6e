// Durable once acknowledged: as soon as the server has told a client that it
// has a change (its sync message reports heads that include it), a kill -9
// loses nothing. Repeated, so that a put still in flight at the moment of the
// acknowledgement would be caught.

import { test } from "node:test";
import assert from "node:assert/strict";
import { addNote, harness, noteIds, sameHeads, waitFor } from "./lib.mjs";

const ROUNDS = 6;

test("a note acknowledged by the server survives kill -9 right after the acknowledgement", { timeout: 600_000 }, async (t) => {
  const h = harness(t);
  const server = await h.server();
  await server.start();
  const lib = await server.getJson("/api/library");
  const entry = lib.articles[0];
  assert.ok(entry, "the bundled library has an article");

  const written = new Set();
  for (let round = 0; round < ROUNDS; round++) {
    const writer = await (await h.client(server, { name: `writer${round}` })).connected();
    const article = (await writer.find(entry.url)).doc();
    const notes = await writer.find(entry.notes);
    const id = addNote(notes, article, { text: `survives kill -9, round ${round}` });
    written.add(id);
    // The acknowledgement: the server's own sync message says it has the change.
    await writer.serverHasAll(notes, "the server to acknowledge the note");
    await server.kill9();
    const acked = notes.heads();
    await writer.close();

    await server.start();
    const fresh = await (await h.client(server, { name: `fresh${round}` })).connected();
    const seen = await fresh.find(entry.notes);
    await waitFor(() => [...written].every((n) => noteIds(seen).has(n)), {
      what: `a fresh client to see all ${written.size} acknowledged notes after kill -9 (round ${round})`,
    });
    assert.ok(sameHeads(seen.heads(), acked), "the restarted server has exactly the acknowledged heads");
    await fresh.close();
  }
});
