// What a phone's data plan pays (issue 6). A first install takes the
// library as one compressed bundle, at most 0.6x the bytes of the stock
// document-by-document sync (measured side by side, in the same run). A
// reconnect with nothing changed exchanges no document at all and under
// 2 KB; a reconnect after one note was written elsewhere syncs that notes
// document alone, in under 4 KB. Metered in Chromium from the app's own
// requests and socket.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Repo } from "@automerge/automerge-repo";
import { WebSocketClientAdapter } from "@automerge/automerge-repo-network-websocket";
import * as A from "@automerge/automerge";
import {
  meterSockets, readArticles, scene, waitForArticleFromDoc, waitForLibrarySaved, waitForServiceWorker,
  waitForSyncState, waitForText, LONG,
} from "./lib.mjs";
import { waitFor } from "../support/glosa.mjs";

/** Resolves to `cond()`'s value once it is truthy (polled every 50 ms). */
const until = (cond, what) => waitFor(cond, { timeout: LONG, interval: 50, what });

function describe(meter, s) {
  const kinds = {};
  for (const f of s.frames) kinds[`${f.dir} ${f.type}`] = (kinds[`${f.dir} ${f.type}`] ?? 0) + 1;
  return `${meter.total(s)} bytes (handshake ${s.handshake}); frames ${JSON.stringify(kinds)}`;
}

test("reconnecting syncs only what changed: nothing costs < 2 KB, one note < 4 KB", { timeout: 900_000 }, async (t) => {
  await scene({}, async (s) => {
    const { server } = s;
    const articles = await readArticles(s.content);
    const lib = await (await fetch(`${server.url}/api/library`)).json();
    const entry = lib.articles[0];
    const notesId = entry.notes.replace("automerge:", "");
    const everyDoc = new Set(
      lib.articles.flatMap((e) => [e.url, e.notes]).concat(lib.library).map((u) => u.replace("automerge:", "")),
    );

    const writer = new Repo({ network: [new WebSocketClientAdapter(`ws://127.0.0.1:${server.port}/sync`, 5_000)] });
    s.defer(() => writer.shutdown());
    const { ctx, page } = await s.phone();
    const meter = await meterSockets(page);
    await page.goto(`${server.url}/`);
    await waitForServiceWorker(page);
    await waitForLibrarySaved(page, articles.length);
    await waitForSyncState(page, "synced");
    const [first] = meter.sockets();
    t.diagnostic(`first visit: ${describe(meter, first)}`);

    // 1. Offline and back, nothing changed anywhere.
    await ctx.setOffline(true);
    await waitForSyncState(page, "offline");
    await ctx.setOffline(false);
    const quiet = await until(() => meter.sockets()[1], "a second socket");
    await until(() => quiet.frames.some((f) => f.type === "glosa-changes"), "the change feed's answer");
    await waitForSyncState(page, "synced");
    await ctx.setOffline(true);
    await waitForSyncState(page, "offline");
    await until(() => quiet.closed, "the second socket to close");
    t.diagnostic(`reconnect, nothing changed: ${describe(meter, quiet)}`);
    assert.deepEqual([...meter.documents(quiet)], [], "no document was synced");
    assert.deepEqual(quiet.frames.find((f) => f.type === "glosa-changes").msg.documentIds, []);
    assert.ok(meter.total(quiet) <= 2048, `nothing changed cost ${meter.total(quiet)} bytes`);

    // 2. While the phone is offline, someone else writes one note.
    const article = await writer.find(entry.url, { signal: AbortSignal.timeout(LONG) });
    const notes = await writer.find(entry.notes, { signal: AbortSignal.timeout(LONG) });
    const S = (s) => new A.ImmutableString(s);
    const body = String(article.doc().body);
    notes.change((d) => {
      d.notes["plan-note"] = {
        id: S("plan-note"),
        author: S("Nodo"),
        created: Date.now(),
        edited: null,
        text: "One note, written while the phone was offline.",
        anchor: {
          start: S(A.getCursor(article.doc(), ["body"], 10)),
          end: S(A.getCursor(article.doc(), ["body"], 40)),
          quote: S(body.slice(10, 40)),
        },
        replies: {},
        deleted: false,
      };
    });
    const serverId = await until(() => writer.peers[0] && writer.getStorageIdOfPeer(writer.peers[0]), "the writer to join");
    await until(() => {
      const theirs = notes.getSyncInfo(serverId)?.lastHeads ?? [];
      const ours = notes.heads();
      return theirs.length === ours.length && ours.every((h) => theirs.includes(h));
    }, "the server to have the writer's note");

    await ctx.setOffline(false);
    await waitForText(page, `li[data-slug="${entry.slug}"]`, "1 note");
    await waitForSyncState(page, "synced");
    const oneNote = await until(() => meter.sockets()[2], "a third socket");
    await ctx.setOffline(true);
    await until(() => oneNote.closed, "the third socket to close");
    t.diagnostic(`reconnect, one new note: ${describe(meter, oneNote)}`);
    assert.deepEqual([...meter.documents(oneNote)], [notesId], "only the changed notes document was synced");
    assert.ok(meter.total(oneNote) <= 4096, `one note cost ${meter.total(oneNote)} bytes`);
    assert.ok(everyDoc.size > 3, "the library has several documents to skip");
  });
});

test("a first install takes the library in one bundle: at most 0.6x the bytes of syncing it", { timeout: 900_000 }, async (t) => {
  await scene({}, async (s) => {
    const { server } = s;
    const articles = await readArticles(s.content);
    /**
     * A fresh phone installs the library and goes offline; resolves to its
     * page, its meter and its one socket, closed, with every byte counted.
     */
    const install = async ({ refuseBundle }) => {
      const { ctx, page } = await s.phone();
      if (refuseBundle) await ctx.route("**/api/bundle", (route) => route.abort());
      const meter = await meterSockets(page);
      await page.goto(`${server.url}/`);
      await waitForLibrarySaved(page, articles.length);
      await waitForSyncState(page, "synced");
      await waitForServiceWorker(page);
      await ctx.setOffline(true);
      const [socket] = meter.sockets();
      await until(() => socket.closed, "the phone's socket to close");
      return { page, meter, socket };
    };

    // The stock path: the bundle refused, so the app syncs each document.
    const stock = await install({ refuseBundle: true });
    const stockBytes = stock.meter.total(stock.socket);
    t.diagnostic(`stock sync of the library: ${describe(stock.meter, stock.socket)}`);
    assert.equal(stock.meter.documents(stock.socket).size, articles.length * 2 + 1, "the stock path synced every document");

    // Glosa's path: one bundle, then the socket asks only what changed since.
    const { page, meter, socket } = await install({ refuseBundle: false });
    const [bundle] = meter.http("/api/bundle");
    assert.ok(bundle, "the app fetched the bundle");
    const bundleBytes = bundle.sent + bundle.received;
    const total = bundleBytes + meter.total(socket);
    t.diagnostic(`bundle: ${bundleBytes} bytes (request ${bundle.sent}); then ${describe(meter, socket)}`);
    t.diagnostic(`first install: ${total} bytes against ${stockBytes} synced: ${(total / stockBytes).toFixed(2)}x`);
    assert.deepEqual([...meter.documents(socket)], [], "nothing left to sync after the bundle");
    assert.ok(total <= 0.6 * stockBytes, `${total} bytes is more than 0.6 x ${stockBytes}`);

    // And the bundle's library reads offline like a synced one.
    await page.goto(`${server.url}/articles/${articles[0].slug}`);
    await waitForArticleFromDoc(page);
    await waitForText(page, "article", articles[0].title);
  });
});
