// A phone back online with a note written offline, and behind (another phone
// wrote while it was away): its note, the only copy, must reach the server
// before the others' notes come down, not after the phone has applied them
// (vendor/README.md §11). Watched on the wire of a stock automerge-repo
// client: the first sync message it sends with changes must come before the
// first one it receives with changes.

import assert from "node:assert/strict";
import { Automerge, Client, EXTRA_SLUG, addNote, libraryEntry, serverTest, str, waitFor } from "./lib.mjs";

serverTest("a phone back online sends its offline note before it downloads the others'", {}, async (h, t) => {
  const { entry } = await libraryEntry(h.server, EXTRA_SLUG);
  const other = await h.client("other");
  const article = (await other.find(entry.url)).doc();
  const notes = await other.find(entry.notes);
  const lastSynced = Automerge.save(notes.doc());
  // Written on another phone while ours was offline.
  const theirs = addNote(notes, article, { text: "written while the phone was away", author: "other" });
  await other.serverHasAll(notes);

  const phone = new Client(h.server, "phone");
  t.after(() => phone.close());
  const wire = []; // ["up" | "down", changes in the message]
  const changesIn = (data) => Automerge.decodeSyncMessage(data).changes.length;
  phone.adapter.on("message", (m) => {
    if (m.documentId === notes.documentId && m.data) wire.push(["down", changesIn(m.data)]);
  });
  const send = phone.adapter.send.bind(phone.adapter);
  phone.adapter.send = (m) => {
    if (m.documentId === notes.documentId && m.data) wire.push(["up", changesIn(m.data)]);
    return send(m);
  };

  // What the phone had from its last sync, plus a note written offline; it
  // goes out when the socket opens, as after a reconnect.
  const handle = phone.repo.import(lastSynced, { docId: notes.documentId });
  const mine = addNote(handle, article, { text: "written on the bus", author: "phone" });
  await phone.connected();
  await waitFor(() => str(handle.doc().notes?.[theirs]?.text) === "written while the phone was away", {
    what: "the phone to get the note written while it was away",
  });
  await waitFor(() => str(notes.doc().notes?.[mine]?.text) === "written on the bus", {
    what: "the other phone to get the note written on the bus",
  });

  const firstUp = wire.findIndex(([way, n]) => way === "up" && n > 0);
  const firstDown = wire.findIndex(([way, n]) => way === "down" && n > 0);
  assert.ok(firstUp >= 0 && firstDown >= 0, `both ways carried changes: ${JSON.stringify(wire)}`);
  assert.ok(firstUp < firstDown, `the phone's note went up before the other's came down: ${JSON.stringify(wire)}`);
  // Before the harness stops the server: a repo shut down after it keeps
  // the process alive.
  await phone.close();
});
