// Four phones with offline notes reconnect to the same notes document at the
// same moment; each must be told by the server (the heads in its sync
// messages, which automerge-repo exposes as the server's sync info) that the
// server has its note. A race in the server once left one phone without that
// acknowledgement until its next edit ("Not yet synced" forever); see
// vendor/README.md §4. The race is timing-dependent, so it is tried over
// ACK_ROUNDS rounds (default 20) of four phones; before the fix it showed by
// round 5 in each of two runs.

import assert from "node:assert/strict";
import { Automerge, Client, EXTRA_SLUG, addNote, libraryEntry, serverTest, str, waitFor } from "./lib.mjs";

const ROUNDS = Number(process.env.ACK_ROUNDS || 20);
const PHONES = ["A", "B", "C", "D"];

serverTest("phones reconnecting at once each get their offline note acknowledged", { timeout: 900_000 }, async (h, t) => {
  const { entry } = await libraryEntry(h.server, EXTRA_SLUG);
  const seed = await h.client("seed");
  const article = (await seed.find(entry.url)).doc();
  const notes = await seed.find(entry.notes);
  const phones = [];
  t.after(() => Promise.all(phones.map((p) => p.close())));

  const expected = new Map(); // note id → text
  for (let round = 0; round < ROUNDS; round++) {
    // What each phone had from its last sync, plus a note written offline.
    const lastSynced = Automerge.save(notes.doc());
    const phonesNow = PHONES.map((who) => {
      const phone = new Client(h.server, `phone${who}-r${round}`);
      phones.push(phone);
      // Imported before the socket is open: the note goes out in the
      // phone's first sync message, as after a reconnect.
      const handle = phone.repo.import(lastSynced, { docId: notes.documentId });
      const text = `offline note from ${who} in round ${round}`;
      const start = (round * 11 + PHONES.indexOf(who) * 3) % (String(article.body).length - 10);
      const id = addNote(handle, article, { text, author: who, start, end: start + 5 });
      expected.set(id, text);
      const own = handle.heads();
      assert.equal(own.length, 1, "one head: the offline note");
      return { phone, handle, own: own[0] };
    });

    await Promise.all(
      phonesNow.map(async ({ phone, handle, own }) => {
        await phone.connected();
        try {
          await waitFor(() => phone.serverHeads(handle)?.includes(own), {
            what: `${phone.name}: the server to acknowledge its note`,
          });
        } catch (e) {
          e.message += ` (server heads it saw: ${JSON.stringify(phone.serverHeads(handle))}; its note: ${own})`;
          throw e;
        }
      }),
    );
    // Every note reached the server and went on to the other readers.
    await waitFor(
      () => {
        const d = notes.doc().notes ?? {};
        return [...expected].every(([id, text]) => str(d[id]?.text) === text);
      },
      { what: `round ${round}: the seed client to get every note` },
    );
    await Promise.all(phonesNow.map(({ phone }) => phone.close()));
  }
});
