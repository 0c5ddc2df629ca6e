// The same person on two phones edits one note while both are offline, at
// different places in its text: after reconnecting both phones show the
// merged text (character-level merge, no conflict). Then deletion is a
// tombstone: the note disappears on both phones, "Undo" and "Restore" bring
// it back everywhere.
import { test } from "node:test";
import assert from "node:assert/strict";
import { scene, waitForServiceWorker, waitForSyncState } from "./lib.mjs";
import { addNote, closeSheet, openArticle, openSheet, state, waitForNotes, waitForNotesReady, writeArticle } from "./notes-lib.mjs";

async function edit(page, id, text) {
  await openSheet(page);
  const note = page.locator(`.note[data-note-id="${id}"]`);
  await note.getByRole("button", { name: "Edit", exact: true }).click();
  const box = note.getByRole("textbox", { name: "Edit note" });
  await box.fill(text);
  await note.getByRole("button", { name: "Save changes" }).click();
  await note.locator(":scope > .note-text", { hasText: text }).waitFor({ state: "attached" });
  await closeSheet(page);
}

test("concurrent offline edits of one note merge; delete is a tombstone that can be undone and restored", { timeout: 900_000 }, async () => {
  await scene({ fixtures: false, prepare: writeArticle }, async (s) => {
    const { server } = s;
    const { ctx: a, page: pa } = await s.phone();
    const { ctx: b, page: pb } = await s.phone();
    s.onFailure(async () => (await Promise.all([pa, pb].map((p) => state(p).catch((x) => x.message)))).join("\n"));
    await openArticle(pa, server);
    await openArticle(pb, server);
    const original = "The herons wait by the river.";
    const id = await addNote(pa, "the herons know it", original, { name: "Ana" });
    await waitForNotes(pb, "the note on B", (l) => l.some((n) => n.id === id && n.text === original));
    await waitForNotes(pa, "the note synced on A", (l) => l.some((n) => n.id === id && n.synced));
    for (const p of [pa, pb]) {
      await waitForServiceWorker(p);
      await waitForSyncState(p, "synced");
    }
    // B is the same person on another phone: same display name.
    await pb.evaluate(() => localStorage.setItem("glosa.name", "Ana"));
    await pb.reload();
    await waitForNotes(pb, "the note on B after reload", (l) => l.some((n) => n.id === id));

    await a.setOffline(true);
    await b.setOffline(true);
    await waitForSyncState(pa, "offline");
    await waitForSyncState(pb, "offline");
    await edit(pa, id, "Yes! The herons wait by the river.");
    await edit(pb, id, "The herons wait by the river, every morning.");
    await a.setOffline(false);
    await b.setOffline(false);
    const merged = "Yes! The herons wait by the river, every morning.";
    for (const p of [pa, pb]) {
      const l = await waitForNotes(p, "the merged text", (l) => l.some((n) => n.id === id && n.text === merged));
      assert.equal(l.length, 1, "still one note");
    }
    assert.match(await pa.locator(`.note[data-note-id="${id}"] .byline`).textContent(), /edited/);

    // Delete on A: gone on both, kept as a tombstone; Undo brings it back.
    await openSheet(pa);
    await pa.locator(`.note[data-note-id="${id}"]`).getByRole("button", { name: "Delete", exact: true }).click();
    const undo = pa.getByRole("button", { name: "Undo" });
    await undo.waitFor({ state: "visible" });
    // Focus moves on the next animation frame after the render: wait for it.
    await pa
      .waitForFunction(() => document.activeElement?.textContent === "Undo", null, { timeout: 10_000, polling: 50 })
      .catch(async () => assert.fail(`focus moves to Undo, not to ${await pa.evaluate(() => document.activeElement?.outerHTML.slice(0, 200))}`));
    await waitForNotes(pb, "the note gone on B", (l) => l.length === 0);
    assert.equal(await pb.locator(".body mark[data-notes]").count(), 0, "no highlight for a deleted note");
    await undo.click();
    await waitForNotes(pb, "the note back on B after Undo", (l) => l.some((n) => n.id === id && n.text === merged));

    // Delete again, then restore from "Your deleted notes" (after a reload: it is in the document).
    await pa.locator(`.note[data-note-id="${id}"]`).getByRole("button", { name: "Delete", exact: true }).click();
    await waitForNotes(pb, "the note gone on B again", (l) => l.length === 0);
    await pa.reload();
    await waitForNotesReady(pa);
    await openSheet(pa);
    await pa.getByText("Your deleted notes (1)").click();
    await pa.getByRole("button", { name: "Restore note" }).click();
    const back = await waitForNotes(pb, "the note restored on B", (l) => l.some((n) => n.id === id && n.text === merged && n.synced));
    assert.equal(back.length, 1);
  });
});
