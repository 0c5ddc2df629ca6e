// A stock Node automerge-repo client and the browser share notes through
// the server: a note the Node client writes in the documented schema shows
// in the browser on its passage; the browser's reply and the browser's own
// note (with its cursors) read back in Node.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Repo } from "@automerge/automerge-repo";
import { WebSocketClientAdapter } from "@automerge/automerge-repo-network-websocket";
import * as A from "@automerge/automerge";
import { scene, LONG } from "./lib.mjs";
import { SLUG, addNote, highlighted, openArticle, reply, waitForNotes, writeArticle } from "./notes-lib.mjs";

/** Resolves when `pred(doc)` holds for the handle's doc (checked on every change). */
function waitForDoc(handle, what, pred, timeout = LONG) {
  return new Promise((ok, fail) => {
    const check = () => {
      let v;
      try {
        v = pred(handle.doc());
      } catch {
        v = undefined;
      }
      if (v) {
        clearTimeout(timer);
        handle.off("change", check);
        ok(v);
      }
    };
    const timer = setTimeout(() => {
      handle.off("change", check);
      fail(new Error(`timed out waiting for ${what}: ${JSON.stringify(handle.doc())?.slice(0, 2000)}`));
    }, timeout);
    handle.on("change", check);
    check();
  });
}

test("a Node client's note shows in the browser, and the browser's reply and note read back in Node", { timeout: 900_000 }, async () => {
  await scene({ fixtures: false, prepare: writeArticle }, async (s) => {
    const { server } = s;
    const lib = await (await fetch(`${server.url}/api/library`)).json();
    const entry = lib.articles.find((e) => e.slug === SLUG);
    assert.ok(entry?.notes, "the library lists the article's notes document");

    const repo = new Repo({ network: [new WebSocketClientAdapter(`ws://127.0.0.1:${server.port}/sync`, 5_000)] });
    s.defer(() => repo.shutdown());
    const { page } = await s.phone();
    const article = await repo.find(entry.url, { signal: AbortSignal.timeout(LONG) });
    const notes = await repo.find(entry.notes, { signal: AbortSignal.timeout(LONG) });
    const body = String(article.doc().body);
    const passage = "the fog sits low over the water";
    const start = body.indexOf(passage);
    assert.ok(start > 0);
    const id = "node-note-1";
    const S = (s) => new A.ImmutableString(s);
    notes.change((d) => {
      d.notes[id] = {
        id: S(id),
        author: S("Nodo"),
        created: Date.now(),
        edited: null,
        text: "Written by a Node client.\n<b>not bold</b>",
        anchor: {
          start: S(A.getCursor(article.doc(), ["body"], start)),
          end: S(A.getCursor(article.doc(), ["body"], start + passage.length)),
          quote: S(passage),
        },
        replies: {},
        deleted: false,
      };
    });

    await openArticle(page, server);
    const listedNotes = await waitForNotes(page, "the Node client's note", (l) => l.some((n) => n.id === id && n.synced));
    const shown = listedNotes.find((n) => n.id === id);
    assert.equal(shown.text, "Written by a Node client.\n<b>not bold</b>");
    assert.equal(shown.quote, passage);
    assert.equal(await page.locator(`.note[data-note-id="${id}"] .author`).textContent(), "Nodo");
    assert.equal(await page.locator(`.note[data-note-id="${id}"] b`).count(), 0, "no markup from note text");
    await page.waitForFunction(
      ({ id, passage }) =>
        [...document.querySelectorAll(".body mark[data-notes]")]
          .filter((m) => m.dataset.notes.split(" ").includes(id))
          .map((m) => m.textContent)
          .join("") === passage,
      { id, passage },
      { timeout: LONG, polling: 100 },
    );
    assert.equal(await highlighted(page, id), passage);

    // The browser replies; Node reads the reply.
    await reply(page, id, "Reply from the browser.", { name: "Ana" });
    const [rk, r] = await waitForDoc(notes, "the browser's reply in Node", (d) =>
      Object.entries(d.notes[id]?.replies ?? {}).find(([, x]) => String(x.text) === "Reply from the browser."),
    );
    assert.equal(String(r.id), rk, "a reply's id is its key");
    assert.equal(String(r.author), "Ana");
    assert.equal(r.deleted, false);
    assert.equal(typeof r.created, "number");

    // The browser's own note: schema fields and cursors that resolve in Node.
    const mine = await addNote(page, "leaves a small mark in the margin", "From the browser.", { name: "Ana" });
    const n = await waitForDoc(notes, "the browser's note in Node", (d) => d.notes[mine]);
    assert.equal(String(n.id), mine);
    assert.equal(String(n.author), "Ana");
    assert.equal(String(n.text), "From the browser.");
    assert.equal(n.deleted, false);
    assert.equal(n.edited, null);
    assert.deepEqual({ ...n.replies }, {});
    const at = body.indexOf("leaves a small mark in the margin");
    assert.equal(A.getCursorPosition(article.doc(), ["body"], String(n.anchor.start)), at);
    assert.equal(A.getCursorPosition(article.doc(), ["body"], String(n.anchor.end)), at + "leaves a small mark in the margin".length);
    assert.equal(String(n.anchor.quote), "leaves a small mark in the margin");
    // Text is an Automerge text (concurrent edits merge), ids and names are scalars.
    assert.equal(typeof n.text, "string");
    assert.ok(n.author instanceof A.ImmutableString);
  });
});
