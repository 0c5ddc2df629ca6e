// While the phone is offline the publisher corrects an article and adds a
// new one, and the server restarts (it re-imports content on start). When
// the network returns, the open library shows the new article and the open
// article shows the correction, without a reload.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  join, readArticles, readFile, scene, screenshot, startServer, waitForArticleFromDoc, waitForLibraryFromDoc,
  waitForLibrarySaved, waitForServiceWorker, waitForSyncState, waitForText, writeFile, LONG,
} from "./lib.mjs";

const NEW_ARTICLE = `---
title: Una biblioteca que llega sola
author: Colectivo de lectura
lang: es
published: 2025-11-20
summary: Un artículo añadido mientras el teléfono estaba sin red.
---
Este artículo se publicó mientras el teléfono no tenía conexión.

Apareció en la biblioteca en cuanto volvió la red, sin recargar la página.
`;

test("an article added and one corrected while offline appear after reconnecting", { timeout: 900_000 }, async () => {
  await scene({}, async (s) => {
    const { content, data } = s;
    let server = s.server;
    const port = server.port;
    const articles = await readArticles(content);
    const { ctx, page: library } = await s.phone();
    const reader = await ctx.newPage();
    s.watch(reader);
    const file = join(content, "leer-sin-conexion.md");
    const original = "Así termina esta nota, con la biblioteca entera en el bolsillo.";
    const corrected = "Así termina esta nota corregida, con la biblioteca entera y al día en el bolsillo.";
    await library.goto(`${server.url}/`);
    await waitForServiceWorker(library);
    await waitForLibrarySaved(library, articles.length);
    await waitForSyncState(library, "synced");
    await reader.goto(`${server.url}/articles/leer-sin-conexion`);
    await waitForArticleFromDoc(reader);
    await waitForText(reader, ".body", original);
    await waitForSyncState(reader, "synced");

    await ctx.setOffline(true);
    await server.stop();
    await waitForSyncState(library, "offline");
    await waitForSyncState(reader, "offline");

    const text = await readFile(file, "utf8");
    assert.ok(text.includes(original));
    await writeFile(file, text.replace(original, corrected));
    await writeFile(join(content, "biblioteca-que-llega.md"), NEW_ARTICLE);
    server = s.server = await startServer({ dataDir: data, contentDir: content, port });

    await ctx.setOffline(false);
    await waitForText(library, ".articles", "Una biblioteca que llega sola", LONG);
    await waitForText(reader, ".body", corrected, LONG);
    assert.ok(!(await reader.locator(".body").textContent()).includes(original), "the old sentence is gone");
    // The new article is saved for offline too, and everything settles.
    await waitForLibrarySaved(library, articles.length + 1);
    await waitForSyncState(library, "synced");
    await waitForSyncState(reader, "synced");
    await waitForLibraryFromDoc(library);
    await screenshot(library, "library-after-reconnect");
  });
});
