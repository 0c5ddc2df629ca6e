// Note text is shown as text and runs nothing, on the writer's screen and on
// another reader's; a note is limited to 4,000 characters with a visible
// counter and a clear message at the limit. On a wide screen the notes are in
// the margin at the inline end (the right in English, the left in Arabic),
// and a passage can be selected with the mouse.
import { test } from "node:test";
import assert from "node:assert/strict";
import { scene, LONG } from "./lib.mjs";
import { addNote, openArticle, waitForNotes, writeArticle } from "./notes-lib.mjs";

const HOSTILE = `<img src=x onerror="window.__pwned = 'img'; alert(1)">\n<script>window.__pwned = 'script'; alert(2)</script>\n<a href="javascript:alert(3)">click</a>`;

test("hostile note text is shown as text and runs nothing; the 4,000-character limit", { timeout: 900_000 }, async () => {
  await scene({ fixtures: false, prepare: writeArticle }, async (s) => {
    const { server } = s;
    const { page: pa } = await s.phone();
    const { page: pb } = await s.phone();
    const dialogs = [];
    for (const p of [pa, pb]) p.on("dialog", (d) => (dialogs.push(d.message()), d.dismiss()));
    await openArticle(pa, server);
    await openArticle(pb, server);
    const id = await addNote(pa, "the boats wait at the pier", HOSTILE, { name: '<b onmouseover="alert(4)">Mallory</b>' });
    for (const p of [pa, pb]) {
      const l = await waitForNotes(p, "the hostile note", (l) => l.some((n) => n.id === id && n.synced));
      assert.equal(l.find((n) => n.id === id).text, HOSTILE, "shown exactly as typed");
      const note = p.locator(`.note[data-note-id="${id}"]`);
      assert.equal(await note.locator("img, script, a, b").count(), 0, "no element from the note's text or author");
      assert.equal(await note.locator(".author").textContent(), '<b onmouseover="alert(4)">Mallory</b>');
      assert.equal(await p.evaluate(() => window.__pwned), undefined, "nothing ran");
    }
    assert.deepEqual(dialogs, [], "no alert");

    // The limit: typing stops at 4,000, the counter says so, and the message is clear.
    await pa.evaluate(() => document.getSelection().removeAllRanges());
    const { selectPassage } = await import("./notes-lib.mjs");
    await selectPassage(pa, "leaves a small mark");
    await pa.getByRole("button", { name: "Add note" }).click();
    const editor = pa.locator("dialog.editor");
    const box = editor.getByRole("textbox", { name: "Note" });
    await box.fill("x".repeat(3990));
    await editor.getByText("3,990 / 4,000 characters").waitFor();
    assert.equal(await editor.getByRole("alert").count(), 0, "no message below the limit");
    await box.press("End");
    await box.pressSequentially("y".repeat(20));
    assert.equal((await box.inputValue()).length, 4000, "typing stops at the limit");
    await editor.getByText("4,000 / 4,000 characters").waitFor();
    const alert = editor.getByRole("alert");
    await alert.waitFor();
    assert.match(await alert.textContent(), /limit of 4,000 characters/);
    // A paste beyond the limit is cut to it too.
    await box.fill("z".repeat(4500));
    assert.equal((await box.inputValue()).length, 4000);
    await editor.getByRole("button", { name: "Save note" }).click();
    await editor.waitFor({ state: "hidden" });
    const long = await waitForNotes(pa, "the long note", (l) => l.some((n) => n.text === "z".repeat(4000)));
    assert.equal(long.length, 2);
  });
});

test("wide screens: notes in the margin at the inline end, mouse selection, RTL", { timeout: 900_000 }, async () => {
  await scene({ prepare: writeArticle }, async (s) => {
    const { server } = s;
    // A desktop, not the phone preset.
    const ctx = await s.browser.newContext({ viewport: { width: 1400, height: 900 } });
    s.defer(() => ctx.close());
    ctx.setDefaultTimeout(LONG);
    const page = await ctx.newPage();
    s.watch(page);
    await openArticle(page, server);
    // A real mouse drag over "the fog sits low".
    const box = await page.evaluate(() => {
      const root = document.querySelector(".body");
      const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
      for (let n = walker.nextNode(); n; n = walker.nextNode()) {
        const i = n.data.indexOf("the fog sits low");
        if (i === -1) continue;
        const r = document.createRange();
        r.setStart(n, i);
        r.setEnd(n, i + "the fog sits low".length);
        const b = r.getBoundingClientRect();
        return { x0: b.left + 1, x1: b.right - 1, y: b.top + b.height / 2 };
      }
      return null;
    });
    assert.ok(box);
    await page.mouse.move(box.x0, box.y);
    await page.mouse.down();
    await page.mouse.move((box.x0 + box.x1) / 2, box.y, { steps: 4 });
    await page.mouse.move(box.x1, box.y, { steps: 4 });
    await page.mouse.up();
    await page.getByRole("button", { name: "Add note" }).click();
    const editor = page.locator("dialog.editor");
    await editor.getByRole("textbox", { name: "Your name" }).fill("Ana");
    await editor.getByRole("textbox", { name: "Note" }).fill("Selected with a mouse.");
    await editor.getByRole("button", { name: "Save note" }).click();
    const l = await waitForNotes(page, "the mouse note", (l) => l.length === 1);
    assert.match(l[0].quote, /fog sits low/);

    // The margin: visible without opening anything, at the right of the text.
    const margin = page.locator(".notes-margin");
    await margin.waitFor({ state: "visible" });
    const m = await margin.boundingBox();
    const body = await page.locator(".body").boundingBox();
    assert.ok(m.x >= body.x + body.width, `margin (${m.x}) right of the text (${body.x + body.width})`);
    assert.equal(await page.locator(".notes-toggle").count(), 0, "no bottom sheet on wide screens");
    // Tapping the highlight focuses its note in the margin.
    await page.locator(".body mark[data-notes]").first().click();
    await page.waitForFunction(() => document.activeElement?.classList.contains("note"));

    // An Arabic article: the margin is at the left.
    await openArticle(page, server, "qira-a-jamaiya");
    await page.locator(".notes-margin").waitFor({ state: "visible" });
    const m2 = await page.locator(".notes-margin").boundingBox();
    const b2 = await page.locator(".body").boundingBox();
    assert.ok(m2.x + m2.width <= b2.x, `RTL margin (${m2.x + m2.width}) left of the text (${b2.x})`);
  });
});
