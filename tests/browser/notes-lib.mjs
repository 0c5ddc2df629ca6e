// Helpers for the notes browser tests (notes-*.test.mjs): an article of our
// own in the content dir, selecting a passage, writing notes and replies
// through the real UI, and reading what the notes list shows. Every wait is
// on a condition in the page (data attributes the notes layer exposes).
import { join, writeFile, LONG, waitForArticleFromDoc } from "./lib.mjs";

export const SLUG = "notes-in-the-margin";

export const PARAGRAPHS = [
  "The river keeps its own calendar, and the herons know it better than we do.",
  "Some mornings the fog sits low over the water and the boats wait at the pier.",
  "This sentence will be deleted by the publisher in a later correction.",
  "Every reader who passes by leaves a small mark in the margin for the next one.",
];

export const ARTICLE = `---
title: Notes in the margin
author: Reading circle
lang: en
published: 2025-12-01
summary: A short article to write notes on.
---
${PARAGRAPHS.join("\n\n")}
`;

export async function writeArticle(contentDir, text = ARTICLE) {
  await writeFile(join(contentDir, `${SLUG}.md`), text);
}

/** Opens the test article and waits until its notes document is loaded. */
export async function openArticle(page, server, slug = SLUG) {
  await page.goto(`${server.url}/articles/${encodeURIComponent(slug)}`);
  await waitForNotesReady(page);
}

export async function waitForNotesReady(page, timeout = LONG) {
  await waitForArticleFromDoc(page, timeout);
  await page.waitForSelector('.notes-list[data-notes-ready="true"]', { state: "attached", timeout });
}

/**
 * Selects `text` inside the article body (it may span several text nodes),
 * as a reader's drag would, and waits for the "Add note" button.
 */
export async function selectPassage(page, text) {
  const ok = await page.evaluate((text) => {
    const root = document.querySelector("#main article.article .body");
    if (!root) return false;
    const nodes = [];
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    let all = "";
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      nodes.push([n, all.length]);
      all += n.data;
    }
    const at = all.indexOf(text);
    if (at === -1) return false;
    const locate = (i, end) => {
      for (let k = nodes.length - 1; k >= 0; k--) {
        const [n, off] = nodes[k];
        if (off < i || (end && off <= i && i - off <= n.data.length) || (!end && off === i)) return [n, i - off];
      }
      return [nodes[0][0], 0];
    };
    const [sn, so] = locate(at, false);
    const [en, eo] = locate(at + text.length, true);
    document.getSelection().setBaseAndExtent(sn, so, en, eo);
    return true;
  }, text);
  if (!ok) throw new Error(`passage not found in the article: ${text}`);
  await page.getByRole("button", { name: "Add note" }).waitFor({ state: "visible" });
}

/** The editor's name field is shown only until a name is set. */
async function fillNameIfAsked(page, scope, name) {
  const field = scope.getByRole("textbox", { name: "Your name" });
  if (await field.count()) await field.fill(name);
}

/** Writes a note on `passage` through the UI; returns its id once it is listed. */
export async function addNote(page, passage, text, { name = "Ana" } = {}) {
  await selectPassage(page, passage);
  await page.getByRole("button", { name: "Add note" }).click();
  const editor = page.locator("dialog.editor");
  await editor.waitFor({ state: "visible" });
  await fillNameIfAsked(page, editor, name);
  await editor.getByRole("textbox", { name: "Note" }).fill(text);
  await editor.getByRole("button", { name: "Save note" }).click();
  await editor.waitFor({ state: "hidden" });
  const id = await page.waitForFunction(
    (text) => {
      for (const el of document.querySelectorAll(".notes-list .note")) {
        if (el.querySelector(":scope > .note-text")?.textContent === text) return el.dataset.noteId;
      }
      return null;
    },
    text,
    { timeout: LONG, polling: 100 },
  );
  return id.jsonValue();
}

/** Opens the notes sheet (phones) if it is not open; no-op on wide screens. */
export async function openSheet(page) {
  const toggle = page.locator(".notes-toggle");
  if (!(await toggle.count())) return;
  if (await page.locator("dialog.sheet[open]").count()) return;
  await toggle.click();
  await page.locator("dialog.sheet[open]").waitFor({ state: "visible" });
}

export async function closeSheet(page) {
  if (!(await page.locator("dialog.sheet[open]").count())) return;
  await page.locator("dialog.sheet").getByRole("button", { name: "Close notes" }).click();
  await page.locator("dialog.sheet").waitFor({ state: "hidden" });
}

/** Replies to note `id` through the UI. */
export async function reply(page, id, text, { name = "Ana" } = {}) {
  await openSheet(page);
  const note = page.locator(`.note[data-note-id="${id}"]`);
  await note.getByRole("button", { name: "Reply", exact: true }).click();
  await fillNameIfAsked(page, note, name);
  await note.getByRole("textbox", { name: "Reply" }).fill(text);
  await note.getByRole("button", { name: "Save reply" }).click();
  await note.locator(".reply .note-text", { hasText: text }).waitFor({ state: "attached" });
  await closeSheet(page);
}

/** What the notes list shows, in order: [{id, text, quote, synced, removed, replies: [text]}]. */
export async function listed(page) {
  return page.evaluate(() =>
    [...document.querySelectorAll(".notes-list .note")].map((el) => ({
      id: el.dataset.noteId,
      text: el.querySelector(":scope > .note-text")?.textContent ?? "",
      quote: el.querySelector(":scope > .quote")?.textContent ?? "",
      synced: el.dataset.synced === "true",
      stored: el.dataset.stored === "true",
      removed: el.dataset.removed === "true",
      replies: [...el.querySelectorAll(".reply")].map((r) => ({
        id: r.dataset.replyId,
        text: r.querySelector(".note-text")?.textContent ?? "",
        synced: r.dataset.synced === "true",
      })),
    })),
  );
}

/** Waits until `check(listed)` is true; the last listing is in the error. */
export async function waitForNotes(page, what, check, timeout = LONG) {
  const deadline = Date.now() + timeout;
  let last = null;
  for (;;) {
    last = await listed(page);
    if (check(last)) return last;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; notes list: ${JSON.stringify(last, null, 1)}`);
    // Polls the page state (not a sleep standing in for synchronization).
    await page.waitForTimeout(200);
  }
}

/** The body text the highlight(s) of note `id` cover. */
export async function highlighted(page, id) {
  return page.evaluate(
    (id) =>
      [...document.querySelectorAll("#main article.article .body mark[data-notes]")]
        .filter((m) => m.dataset.notes.split(" ").includes(id))
        .map((m) => m.textContent)
        .join(""),
    id,
  );
}

/** The notes list's sync state and the header's, for failure messages. */
export async function state(page) {
  return page.evaluate(() => {
    const l = document.querySelector(".notes-list");
    return JSON.stringify({
      url: location.pathname,
      heads: l?.dataset.heads,
      server: l?.dataset.serverHeads,
      sync: document.getElementById("sync-status")?.dataset.syncState,
      online: navigator.onLine,
    });
  });
}
