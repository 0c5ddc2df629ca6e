// The change feed (src/sync/feed.rs): a client that sends `glosa-since`
// learns which documents were written since its token, now and while it
// stays connected; stock clients never see the feed. A clean restart keeps
// tokens valid; after kill -9 an old token means "sync everything".

import assert from "node:assert/strict";
import WebSocket from "ws";
import { cbor } from "@automerge/automerge-repo";
import { EXTRA_SLUG, addNote, serverTest, libraryEntry, waitFor } from "./lib.mjs";

/** A raw /sync socket that has joined; collects decoded messages. */
async function feedSocket(server) {
  const ws = new WebSocket(server.wsUrl);
  const s = { ws, senderId: `feed-${Math.random().toString(36).slice(2)}`, messages: [] };
  ws.on("message", (data) => s.messages.push(cbor.decode(new Uint8Array(data))));
  await waitFor(() => ws.readyState === WebSocket.OPEN, { what: "the feed socket to open" });
  ws.send(cbor.encode({ type: "join", senderId: s.senderId, peerMetadata: {}, supportedProtocolVersions: ["1"] }));
  await waitFor(() => s.messages.find((m) => m.type === "peer"), { what: "the peer message" });
  return s;
}

/** Sends `glosa-since` and returns the answer. */
async function since(s, token) {
  const before = s.messages.length;
  s.ws.send(cbor.encode({ type: "glosa-since", senderId: s.senderId, ...(token ? { since: token } : {}) }));
  return waitFor(() => s.messages.slice(before).find((m) => m.type === "glosa-changes"), { what: "the glosa-changes answer" });
}

serverTest("the change feed names exactly the documents written since a token", { timeout: 300_000 }, async (h, t) => {
  const { entry } = await libraryEntry(h.server, EXTRA_SLUG);
  const notesId = entry.notes.replace("automerge:", "");

  const phone = await feedSocket(h.server);
  const first = await since(phone, null);
  assert.equal(first.all, true, "no token: everything");
  assert.equal(first.targetId, phone.senderId);
  assert.match(first.token, /^[0-9a-f]{16}\.\d+$/);

  // Nothing written since: nothing to sync.
  const again = await feedSocket(h.server);
  const quiet = await since(again, first.token);
  assert.deepEqual([quiet.all, quiet.documentIds, quiet.token], [false, [], first.token]);
  // A connection asks once; a repeat is not answered (it would be a cheap
  // way to make the server send the whole list again and again).
  again.ws.send(cbor.encode({ type: "glosa-since", senderId: again.senderId }));

  // A stock client writes a note: the connected phone is told, once it is on disk.
  const writer = await h.client("writer");
  const article = (await writer.find(entry.url)).doc();
  const notes = await writer.find(entry.notes);
  addNote(notes, article, { text: "a note the feed announces" });
  await writer.serverHasAll(notes);
  const live = await waitFor(
    () => phone.messages.find((m) => m.type === "glosa-changes" && m.documentIds.includes(notesId)),
    { what: "the live announcement of the notes document" },
  );
  assert.equal(live.all, false);
  assert.deepEqual(live.documentIds, [notesId], "only the notes document changed");

  assert.equal(again.messages.filter((m) => m.type === "glosa-changes" && m.all).length, 0, "the repeat was ignored");

  // A phone reconnecting with the old token learns just that document.
  const later = await feedSocket(h.server);
  const changed = await since(later, first.token);
  assert.deepEqual([changed.all, changed.documentIds], [false, [notesId]]);
  assert.notEqual(changed.token, first.token);

  // Stock clients are never sent the feed.
  const stock = await h.client("stock");
  await stock.find(entry.notes);
  const seen = [];
  stock.adapter.socket?.on?.("message", (d) => seen.push(cbor.decode(new Uint8Array(d)).type));
  addNote(notes, article, { text: "another" });
  await writer.serverHasAll(notes);
  await waitFor(() => phone.messages.filter((m) => m.type === "glosa-changes").length >= 3, { what: "the second announcement" });
  assert.ok(!seen.includes("glosa-changes"), `a stock client saw ${seen}`);

  // A clean restart keeps the token valid ...
  for (const s of [phone, again, later]) s.ws.close();
  await h.closeClients();
  const last = await feedSocket(h.server);
  const latest = (await since(last, changed.token)).token;
  last.ws.close();
  await h.server.restart();
  const afterStop = await feedSocket(h.server);
  const kept = await since(afterStop, latest);
  assert.deepEqual([kept.all, kept.documentIds, kept.token], [false, [], latest], "a clean restart keeps the epoch");
  afterStop.ws.close();

  // ... and after kill -9 it means everything.
  await h.server.restart({ hard: true });
  const crashed = await feedSocket(h.server);
  const afterKill = await since(crashed, latest);
  assert.equal(afterKill.all, true, "after a crash the phone syncs everything once");
  crashed.ws.close();
  t.diagnostic(`tokens: ${first.token} → ${changed.token} → ${latest}; after kill -9 ${afterKill.token}`);
});
