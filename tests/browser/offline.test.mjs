// A phone visits once, the app saves the whole library; then the server is
// killed and the phone goes offline; after a reload every article opens at
// /articles/{slug} (from the service worker's app shell and IndexedDB) and
// shows its full text.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  axe, plain, readArticles, scene, screenshot, waitForArticleFromDoc, waitForLibraryFromDoc, waitForLibrarySaved,
  waitForServiceWorker, waitForSyncState, waitForText,
} from "./lib.mjs";

test("a phone reads every article offline after one visit", { timeout: 900_000 }, async () => {
  await scene({}, async (s) => {
    const { server } = s;
    const articles = await readArticles(s.content);
    const { ctx, page } = await s.phone();
    await page.goto(`${server.url}/`);
    await waitForServiceWorker(page);
    await waitForLibrarySaved(page, articles.length);
    await waitForLibraryFromDoc(page);
    assert.equal(await page.locator('.articles li[data-saved="true"]').count(), articles.length);
    await waitForText(page, "#save-progress", `All ${articles.length} articles saved for offline`);
    await screenshot(page, "library-saved");

    await server.kill();
    await ctx.setOffline(true);
    await page.reload();
    await waitForLibraryFromDoc(page);
    await waitForSyncState(page, "offline");
    for (const a of articles) await waitForText(page, ".articles", a.title);
    assert.deepEqual(await axe(page), [], "axe on the offline library (app shell)");
    await screenshot(page, "offline-library");

    for (const a of articles) {
      await page.goto(`${server.url}/articles/${encodeURIComponent(a.slug)}`);
      await waitForArticleFromDoc(page);
      await waitForText(page, "article.article h1", a.title);
      const text = (await page.locator("article.article .body").textContent()).replace(/\s+/g, " ");
      for (const para of a.paragraphs) {
        for (const line of para.split("\n")) {
          const want = plain(line);
          if (want) assert.ok(text.includes(want), `${a.slug}: missing offline: ${want.slice(0, 80)}`);
        }
      }
      if (a.slug === "ayotzinapa-and-palestine") await screenshot(page, "offline-article");
    }
  });
});
