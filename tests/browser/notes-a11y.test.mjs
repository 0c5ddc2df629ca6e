// Accessibility of the notes UI on a phone: no serious axe violation with
// the editor open and with the notes sheet open, in the light, dark and
// sepia themes; focus moves into the editor and the sheet, Escape closes
// them, and focus comes back; tapping a highlight opens its note.
import { test } from "node:test";
import assert from "node:assert/strict";
import { axe, scene } from "./lib.mjs";
import { addNote, openArticle, openSheet, selectPassage, waitForNotes, waitForNotesReady, writeArticle } from "./notes-lib.mjs";

const focused = (page) =>
  page.evaluate(() => {
    const el = document.activeElement;
    return { tag: el?.tagName, id: el?.id, cls: el?.className, inEditor: !!el?.closest("dialog.editor"), inSheet: !!el?.closest("dialog.sheet") };
  });

test("notes editor and sheet: axe in light, dark and sepia; focus and Escape", { timeout: 900_000 }, async () => {
  await scene({ fixtures: false, prepare: writeArticle }, async (s) => {
    const { server } = s;
    const { page } = await s.phone();
    await openArticle(page, server);
    // The first note asks for the name: focus starts there.
    await selectPassage(page, "the herons know it");
    await page.getByRole("button", { name: "Add note" }).click();
    await page.locator("dialog.editor[open]").waitFor();
    await page.waitForFunction(() => document.activeElement?.id === "note-editor-name");
    // Saving without a name is refused with a clear message.
    await page.getByRole("textbox", { name: "Note" }).fill("First note.");
    await page.getByRole("button", { name: "Save note" }).click();
    await page.getByText("Please enter a name to sign your notes.").waitFor();
    await page.getByRole("textbox", { name: "Your name" }).fill("Ana");
    await page.getByRole("button", { name: "Save note" }).click();
    const [first] = await waitForNotes(page, "the first note", (l) => l.length === 1);
    // Focus goes back to the text, on the new highlight.
    await page.waitForFunction((id) => document.activeElement?.matches(`mark[data-notes~="${id}"]`), first.id);
    // The name is kept, and shown in the settings.
    assert.equal(await page.evaluate(() => localStorage.getItem("glosa.name")), "Ana");
    assert.equal(await page.locator("#glosa-name").inputValue(), "Ana");
    await addNote(page, "the boats wait at the pier", "Second note,\nwith a line break.");

    for (const theme of ["light", "dark", "sepia"]) {
      await page.evaluate((t) => localStorage.setItem("glosa.theme", t), theme);
      await page.reload();
      await waitForNotesReady(page);
      assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), theme);

      // The editor: focus in the Note textbox (the name is known now), axe, Escape.
      await selectPassage(page, "leaves a small mark");
      await page.getByRole("button", { name: "Add note" }).click();
      await page.locator("dialog.editor[open]").waitFor();
      await page.waitForFunction(() => document.activeElement?.id === "note-editor-text");
      await page.getByRole("textbox", { name: "Note" }).fill("x".repeat(4000));
      await page.getByRole("alert").waitFor();
      const inEditor = await axe(page);
      assert.deepEqual(inEditor, [], `axe, editor, ${theme}`);
      await page.keyboard.press("Escape");
      await page.locator("dialog.editor").waitFor({ state: "hidden" });
      assert.equal((await focused(page)).inEditor, false);
      assert.equal(await page.locator(".note").count(), 2, "Escape saved nothing");

      // The sheet: opens with focus inside, axe, Escape, focus back on the toggle.
      await page.locator(".notes-toggle").focus();
      await openSheet(page);
      await page.waitForFunction(() => !!document.activeElement?.closest("dialog.sheet"));
      // A reply form open too, so its fields are checked.
      await page.locator(`.note[data-note-id="${first.id}"]`).getByRole("button", { name: "Reply", exact: true }).click();
      await page.waitForFunction(() => document.activeElement?.getAttribute("aria-label") === null && document.activeElement?.tagName === "TEXTAREA");
      const inSheet = await axe(page);
      assert.deepEqual(inSheet, [], `axe, sheet, ${theme}`);
      // Escape in the reply form closes the form, not the sheet.
      await page.keyboard.press("Escape");
      assert.equal(await page.locator("dialog.sheet[open]").count(), 1);
      await page.keyboard.press("Escape");
      await page.locator("dialog.sheet").waitFor({ state: "hidden" });
      await page.waitForFunction(() => document.activeElement?.classList.contains("notes-toggle"));
    }

    // Tapping a highlight opens the sheet on its note.
    await page.locator(`.body mark[data-notes~="${first.id}"]`).first().tap();
    await page.locator("dialog.sheet[open]").waitFor();
    await page.waitForFunction((id) => document.activeElement?.dataset?.noteId === id, first.id);
    // The exact time is there on focus.
    const when = page.locator(`.note[data-note-id="${first.id}"] time.when`);
    await when.focus();
    assert.ok(await when.locator(".exact").isVisible(), "exact time shown on focus");
    assert.match(await when.getAttribute("title"), /\d{4}/);
  });
});
