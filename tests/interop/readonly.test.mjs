// Articles and the library are read-only for clients: a reader's local
// change is never stored by the server and never reaches anyone else.

import assert from "node:assert/strict";
import { Automerge, EXTRA_SLUG, addNote, serverTest, libraryEntry, sameHeads, str, waitFor } from "./lib.mjs";

serverTest("a reader's change to an article and to the library never reaches the server or other clients", { timeout: 240_000 }, async (h, t) => {
  const { lib, entry } = await libraryEntry(h.server, EXTRA_SLUG);

  // What the server serves before anyone tries anything.
  const before = await h.client("before");
  const origArt = await before.find(entry.url);
  const origLib = await before.find(lib.library);
  const origArtHeads = origArt.heads();
  const origLibHeads = origLib.heads();
  const origBody = str(origArt.doc().body);
  const origTitle = str(origArt.doc().title);
  await before.close();

  // A client that keeps the article and library open: live relay would show here.
  const watcher = await h.client("watcher");
  const wArt = await watcher.find(entry.url);
  const wLib = await watcher.find(lib.library);

  const reader = await h.client("reader");
  const art = await reader.find(entry.url);
  const libH = await reader.find(lib.library);
  const notes = await reader.find(entry.notes);
  const snapshot = art.doc();

  const INJECT = `INJECTED-${Math.random().toString(36).slice(2)}`;
  art.change((d) => {
    Automerge.splice(d, ["body"], 0, 0, `${INJECT} `);
    d.title = INJECT;
    d.withdrawn = true;
  });
  libH.change((d) => {
    d.articles[EXTRA_SLUG].title = INJECT;
    d.articles.evil = { slug: "evil", title: INJECT, url: entry.url, notes: entry.notes, withdrawn: false };
  });
  assert.ok(str(art.doc().body).startsWith(INJECT), "the reader's local copy has the change");

  // Proof that the reader's messages went out: a note written on the same
  // connection after the change, which the server does store.
  addNote(notes, snapshot, { text: "sentinel after the forbidden change", start: 0, end: 5 });
  await reader.serverHasAll(notes, "the server to store the sentinel note");

  // A fresh client sees the originals, with the original heads.
  for (let round = 0; round < 2; round++) {
    const fresh = await h.client(`fresh${round}`);
    const fArt = await fresh.find(entry.url);
    const fLib = await fresh.find(lib.library);
    assert.ok(sameHeads(fArt.heads(), origArtHeads), "fresh client: article heads unchanged");
    assert.ok(sameHeads(fLib.heads(), origLibHeads), "fresh client: library heads unchanged");
    assert.equal(str(fArt.doc().body), origBody);
    assert.equal(str(fArt.doc().title), origTitle);
    assert.equal(fArt.doc().withdrawn, false);
    assert.equal(fLib.doc().articles.evil, undefined, "no injected library entry");
    assert.notEqual(str(fLib.doc().articles[EXTRA_SLUG].title), INJECT);
    // The sentinel did arrive, so the connection was live the whole time.
    await waitFor(async () => Object.keys((await fresh.find(entry.notes)).doc().notes).length === 1 + round, {
      what: "the fresh client to see the sentinel note(s)",
    });
    await fresh.close();
    // Second round: one more sentinel, giving the server more time to misbehave.
    if (round === 0) {
      addNote(notes, snapshot, { text: "second sentinel", start: 0, end: 5 });
      await reader.serverHasAll(notes, "the server to store the second sentinel");
    }
  }

  // The already-connected watcher never received the change either.
  assert.ok(sameHeads(wArt.heads(), origArtHeads), "watcher: article heads unchanged");
  assert.ok(sameHeads(wLib.heads(), origLibHeads), "watcher: library heads unchanged");
  assert.ok(!str(wArt.doc().body).includes(INJECT));

  // Nor did the server's own pages and API.
  const page = await h.server.get(`/articles/${EXTRA_SLUG}`);
  assert.equal(page.status, 200);
  assert.ok(page.text.includes("heron"), "the article page shows the article");
  assert.ok(!page.text.includes(INJECT), "the article page does not show the injected text");
  const after = await h.server.getJson("/api/library");
  assert.ok(!JSON.stringify(after).includes(INJECT), "/api/library does not show the injected text");
  assert.ok(!after.articles.some((a) => a.slug === "evil"));
  const home = await h.server.get("/");
  assert.ok(!home.text.includes(INJECT), "the library page does not show the injected text");
});
