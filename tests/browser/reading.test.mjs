// The library and an article render on a phone-sized screen, in light, dark
// and sepia themes, pass axe (no serious or critical violations), lay out
// right-to-left for Arabic, and keep the text size and reading position.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  axe, plain, readArticles, scene, screenshot, waitForArticleFromDoc, waitForLibraryFromDoc, waitForSyncState,
  waitForText, LONG,
} from "./lib.mjs";

test("library and article: render, accessibility, themes, RTL, text size, reading position", { timeout: 900_000 }, async () => {
  await scene({}, async (s) => {
    const { server } = s;
    const articles = await readArticles(s.content);
    const en = articles.find((a) => a.slug === "ayotzinapa-and-palestine");
    const ar = articles.find((a) => a.slug === "qira-a-jamaiya");
    assert.ok(en && ar, "fixtures present");
    for (const scheme of ["light", "dark"]) {
      const { ctx, page } = await s.phone({ colorScheme: scheme });
      await page.goto(`${server.url}/`);
      // First paint is the server's HTML: every title is there before any app code.
      for (const a of articles) assert.ok(await page.getByRole("link", { name: a.title }).count(), `title ${a.title}`);
      await waitForLibraryFromDoc(page);
      await waitForSyncState(page, "synced");
      const items = page.locator(".articles li");
      assert.equal(await items.count(), articles.length);
      const meta = await page.locator(`li[data-slug="${ar.slug}"] .meta`).textContent();
      assert.match(meta, /Arabic/);
      assert.match(meta, /\d+ min read/);
      assert.match(meta, /2025-10-02/);
      assert.deepEqual(await axe(page), [], `axe on the library (${scheme})`);
      await screenshot(page, `library-${scheme}`);

      await page.goto(`${server.url}/articles/${ar.slug}`);
      await waitForArticleFromDoc(page);
      const article = page.locator("article.article");
      assert.equal(await article.getAttribute("lang"), "ar");
      assert.equal(await article.getAttribute("dir"), "rtl");
      assert.equal(await page.evaluate(() => document.documentElement.dir), "rtl");
      // Logical properties: in RTL the quote's rule is on the right.
      const border = await page.locator(".body blockquote").evaluate((el) => getComputedStyle(el).borderRightWidth);
      assert.equal(border, "3px");
      await waitForText(page, ".body", plain(ar.paragraphs.at(-1)));
      assert.deepEqual(await axe(page), [], `axe on an RTL article (${scheme})`);
      await screenshot(page, `article-rtl-${scheme}`);

      await page.goto(`${server.url}/articles/${en.slug}`);
      await waitForArticleFromDoc(page);
      assert.deepEqual(await axe(page), [], `axe on an article (${scheme})`);
      await screenshot(page, `article-${scheme}`);
      await ctx.close();
    }

    // Sepia, text size and reading position, through the real controls.
    const { ctx, page } = await s.phone();
    await page.goto(`${server.url}/articles/${en.slug}`);
    await waitForArticleFromDoc(page);
    const size = () => page.locator(".body p").first().evaluate((el) => parseFloat(getComputedStyle(el).fontSize));
    const before = await size();
    await page.locator("details.display > summary").click();
    await page.getByRole("radio", { name: "Sepia" }).check();
    await page.getByRole("button", { name: "Larger" }).click();
    assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), "sepia");
    assert.ok((await size()) > before, "larger text");
    assert.deepEqual(await axe(page), [], "axe in sepia with the display panel open");
    await screenshot(page, "article-sepia-display");
    await page.locator("details.display > summary").click();

    // Scroll two thirds down, wait until that position is stored, reload:
    // the article opens at the same place.
    await page.evaluate(() => scrollTo(0, Math.round(document.body.scrollHeight * 0.66)));
    const y = await page.evaluate(() => scrollY);
    assert.ok(y > 1000, "the article is long enough to scroll");
    await page.waitForFunction(
      (slug) => (JSON.parse(localStorage.getItem(`glosa.pos.${slug}`) ?? "{}").block ?? 0) > 2,
      en.slug,
      { timeout: LONG, polling: 100 },
    );
    await page.reload();
    await waitForArticleFromDoc(page);
    assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), "sepia", "theme persisted");
    assert.ok((await size()) > before, "text size persisted");
    await page.waitForFunction((y) => Math.abs(scrollY - y) < innerHeight / 4, y, { timeout: LONG, polling: 100 });
    await ctx.close();
    // The server stops cleanly after all of it.
    await server.stop();
  });
});
