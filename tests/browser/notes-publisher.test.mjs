// The publisher corrects the article (the content file changes and the
// server restarts on the same data dir, updating the body by a minimal
// diff). A note on a sentence that stays is still on the same words, on the
// open page and after a reload; a note on a sentence that was deleted is
// kept, with its quote, marked "passage removed".
import { test } from "node:test";
import assert from "node:assert/strict";
import { join, scene, startServer, waitForSyncState, waitForText, writeFile } from "./lib.mjs";
import { ARTICLE, PARAGRAPHS, SLUG, addNote, highlighted, openArticle, openSheet, waitForNotes, waitForNotesReady, writeArticle } from "./notes-lib.mjs";

test("notes stay on their words through a publisher's correction; a deleted passage shows as removed", { timeout: 900_000 }, async () => {
  await scene({ fixtures: false, prepare: writeArticle }, async (s) => {
    const { content, data } = s;
    let server = s.server;
    const port = server.port;
    const { page } = await s.phone();
    await openArticle(page, server);
    const stays = "the herons know it";
    const goes = "will be deleted by the publisher";
    const kept = await addNote(page, stays, "On a sentence that stays.", { name: "Ana" });
    const removed = await addNote(page, goes, "On a sentence that goes.", { name: "Ana" });
    await waitForNotes(page, "both notes synced", (l) => l.length === 2 && l.every((n) => n.synced && !n.removed));
    assert.equal(await highlighted(page, kept), stays);
    assert.equal(await highlighted(page, removed), goes);

    // The correction: text inserted before the kept passage and in another
    // paragraph, and the third paragraph deleted.
    await server.stop();
    const corrected = ARTICLE.replace("The river keeps its own calendar", "Everyone says the wide brown river keeps its own old calendar")
      .replace("Some mornings", "On some cold mornings")
      .replace(`${PARAGRAPHS[2]}\n\n`, "");
    assert.notEqual(corrected, ARTICLE);
    assert.ok(!corrected.includes(goes));
    await writeFile(join(content, `${SLUG}.md`), corrected);
    server = s.server = await startServer({ dataDir: data, contentDir: content, port });

    // The open page gets the correction by sync.
    await waitForText(page, ".body", "Everyone says the wide brown river");
    await waitForNotes(page, "the removed passage marked", (l) => l.some((n) => n.id === removed && n.removed) && l.some((n) => n.id === kept && !n.removed));
    await page.waitForFunction((id) => [...document.querySelectorAll(".body mark[data-notes]")].every((m) => !m.dataset.notes.split(" ").includes(id)), removed);
    assert.equal(await highlighted(page, kept), stays, "the kept note is on the same words");

    // And after a reload from the device.
    await page.reload();
    await waitForNotesReady(page);
    await waitForSyncState(page, "synced");
    const after = await waitForNotes(page, "both notes after reload", (l) => l.length === 2);
    const r = after.find((n) => n.id === removed);
    assert.equal(r.removed, true);
    assert.equal(r.quote, goes, "the quote is kept and shown");
    assert.equal(r.text, "On a sentence that goes.", "never dropped");
    assert.equal(after.find((n) => n.id === kept).removed, false);
    assert.equal(await highlighted(page, kept), stays);
    await openSheet(page);
    assert.match(await page.locator(`.note[data-note-id="${removed}"] .removed`).textContent(), /Passage removed/);
    assert.equal(await page.locator(`.note[data-note-id="${kept}"] .removed`).count(), 0);
  });
});
