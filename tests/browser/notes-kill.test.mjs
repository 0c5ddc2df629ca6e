// A note written with no connection is on the device at once: the browser
// process is killed (SIGKILL, no chance to flush anything) right after the
// note shows as saved; a new browser on the same profile, still offline,
// shows it "not yet synced"; back online it reaches the server, and a fresh
// phone sees it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import {
  CHROMIUM, PHONE, cleanup, launch, makeContent, makeDataDir, phone, screenshot, startServer, waitForLibrarySaved, waitForServiceWorker, waitForSyncState, watch, LONG,
} from "./lib.mjs";
import { addNote, openArticle, waitForNotes, waitForNotesReady, writeArticle, SLUG } from "./notes-lib.mjs";

async function persistent(profile, options = {}) {
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
    ...PHONE,
    ...options,
  });
  ctx.setDefaultTimeout(LONG);
  ctx.setDefaultNavigationTimeout(LONG);
  return ctx;
}

/** The pids of the Chromium processes (browser and renderers) using `profile`: our own children. */
async function chromiumPids(profile) {
  let out = "";
  try {
    out = execFileSync("pgrep", ["-P", String(process.pid)], { encoding: "utf8" });
  } catch {
    return [];
  }
  const pids = [];
  for (const pid of out.split(/\s+/).filter(Boolean).map(Number)) {
    const cmd = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
    if (cmd.includes(profile)) pids.push(pid);
  }
  return pids;
}

test("a note saved offline survives the browser being killed, then syncs", { timeout: 900_000 }, async () => {
  const content = await makeContent({ fixtures: false });
  await writeArticle(content);
  const data = await makeDataDir();
  const profile = await mkdtemp(join(tmpdir(), "glosa-profile-"));
  const server = await startServer({ dataDir: data, contentDir: content });
  let ctx = await persistent(profile);
  let page = ctx.pages()[0] ?? (await ctx.newPage());
  const events = watch(page);
  let other = null;
  try {
    await openArticle(page, server);
    await waitForServiceWorker(page);
    // The library, the article and the notes are on the device (the app
    // shell opens them offline from IndexedDB).
    await waitForLibrarySaved(page, 2);
    await waitForSyncState(page, "synced");
    // A clean restart first: Chromium commits localStorage (where the app
    // keeps the library's URL) lazily, and this test is about the note.
    await ctx.close();
    ctx = await persistent(profile);
    page = ctx.pages()[0] ?? (await ctx.newPage());
    events.push(...watch(page));
    await openArticle(page, server);
    await waitForSyncState(page, "synced");
    await ctx.setOffline(true);
    await waitForSyncState(page, "offline");
    const text = "Written offline, then the battery died.";
    const id = await addNote(page, "the herons know it", text, { name: "Ana" });
    // "Saved on this device": the app flushed it to IndexedDB.
    await page.waitForSelector(`.note[data-note-id="${id}"][data-stored="true"]`, { state: "attached" });

    const pids = await chromiumPids(profile);
    assert.ok(pids.length > 0, "found the browser process");
    for (const pid of pids) process.kill(pid, "SIGKILL");
    await new Promise((ok) => (ctx.pages().length === 0 ? ok() : ctx.once("close", ok)));
    await ctx.close().catch(() => {});

    // A new browser on the same profile, still without a connection.
    ctx = await persistent(profile, { offline: true });
    page = ctx.pages()[0] ?? (await ctx.newPage());
    events.push(...watch(page));
    await page.goto(`${server.url}/articles/${SLUG}`);
    await waitForNotesReady(page);
    const offline = await waitForNotes(page, "the note after the kill", (l) => l.some((n) => n.id === id));
    const n = offline.find((x) => x.id === id);
    assert.equal(n.text, text);
    assert.equal(n.synced, false, "still marked not yet synced");

    await ctx.setOffline(false);
    await waitForNotes(page, "the note to reach the server", (l) => l.some((x) => x.id === id && x.synced));

    // The server has it: a phone that never saw it gets it.
    const browser = await launch();
    other = { browser, ctx: await phone(browser) };
    const fresh = await other.ctx.newPage();
    events.push(...watch(fresh));
    await openArticle(fresh, server);
    const seen = await waitForNotes(fresh, "the note on a fresh phone", (l) => l.some((x) => x.id === id && x.synced));
    assert.equal(seen.find((x) => x.id === id).text, text);
  } catch (e) {
    await screenshot(page, "notes-kill-failure").catch(() => {});
    console.error(await page.evaluate(() => document.body.innerText.slice(0, 1500)).catch((x) => x.message));
    console.error(events.join("\n"));
    console.error(server.log().slice(-4000));
    throw e;
  } finally {
    await ctx.close().catch(() => {});
    if (other) {
      await other.ctx.close();
      await other.browser.close();
    }
    await server.kill();
    await cleanup(content, data, profile);
  }
});
