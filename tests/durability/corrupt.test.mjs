// Corrupt data: a truncated or garbled file damages at most its document.
// The server starts, logs which document is damaged and serves all others;
// `glosa check` reports it; a client that still holds the document rebuilds
// it on the server.

import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { addNote, docDir, docId, fixtureArticle, harness, noteIds, runGlosa, sameHeads, waitFor, walk } from "./lib.mjs";

test("a damaged notes document spares the others and is rebuilt from a client that holds it", { timeout: 600_000 }, async (t) => {
  const h = harness(t);
  const server = await h.server({ extraFiles: fixtureArticle("corrupt-fixture", "Corrupt fixture") });
  await server.start();
  const lib = await server.getJson("/api/library");
  const damaged = lib.articles.find((a) => a.slug === "corrupt-fixture");
  const spared = lib.articles.find((a) => a.slug !== "corrupt-fixture");

  // A phone with its own storage writes notes to both notes documents.
  const phoneDir = h.tempDir("glosa-phone-");
  const phone = await (await h.client(server, { name: "phone", storageDir: phoneDir })).connected();
  const ids = {};
  const heads = {};
  for (const a of [damaged, spared]) {
    const article = (await phone.find(a.url)).doc();
    const notes = await phone.find(a.notes);
    ids[a.slug] = [0, 1, 2].map((i) => addNote(notes, article, { text: `note ${i} on ${a.slug}`, start: i, end: i + 5 }));
    await phone.serverHasAll(notes, `the server to store the notes on ${a.slug}`);
    heads[a.notes] = notes.heads();
  }
  await phone.close();
  await server.stop();

  // Damage every chunk of one notes document: truncate one, garble the rest.
  const dir = docDir(server.dataDir, damaged.notes);
  const files = walk(dir);
  assert.ok(files.length > 0, "the notes document has files on disk");
  files.forEach((f, i) => {
    const p = path.join(dir, f);
    const bytes = fs.readFileSync(p);
    if (i === 0) fs.writeFileSync(p, bytes.subarray(0, Math.floor(bytes.length / 2)));
    else {
      bytes[Math.floor(bytes.length / 2)] ^= 0xff;
      fs.writeFileSync(p, bytes);
    }
  });

  // glosa check names the damaged document and only it, and exits non-zero.
  const check = runGlosa(["check", "--data", server.dataDir]);
  assert.notEqual(check.code, 0, `glosa check exited 0 on damaged data:\n${check.stdout}${check.stderr}`);
  assert.match(check.stdout, new RegExp(`DAMAGED automerge:${docId(damaged.notes)}`));
  assert.ok(!check.stdout.includes(docId(spared.notes)), `check blamed an intact document:\n${check.stdout}`);

  // The server starts and serves everything else.
  await server.start();
  const reader = await (await h.client(server, { name: "reader" })).connected();
  const sparedNotes = await reader.find(spared.notes);
  await waitFor(() => ids[spared.slug].every((n) => noteIds(sparedNotes).has(n)), { what: "the intact notes document to be served" });
  assert.ok(sameHeads(sparedNotes.heads(), heads[spared.notes]));
  for (const url of [lib.library, damaged.url, spared.url]) await reader.find(url);
  assert.equal((await server.get(`/articles/${damaged.slug}`)).status, 200);
  // Loading the damaged document logs which one it is.
  const phone2 = await (await h.client(server, { name: "phone again", storageDir: phoneDir })).connected();
  const held = await phone2.find(damaged.notes);
  assert.ok(ids[damaged.slug].every((n) => noteIds(held).has(n)), "the phone still holds its notes");
  await waitFor(() => new RegExp(`ERROR.*${docId(damaged.notes)}`).test(server.currentLog()), {
    what: "the server to log the damaged document's id as an error",
  });
  assert.match(server.currentLog(), /damaged chunk/);

  // The phone's copy rebuilds the document on the server.
  await phone2.serverHasAll(held, "the server to take the phone's copy of the damaged document");
  await phone2.close();
  const fresh = await (await h.client(server, { name: "fresh" })).connected();
  const rebuilt = await fresh.find(damaged.notes);
  await waitFor(() => ids[damaged.slug].every((n) => noteIds(rebuilt).has(n)), { what: "a fresh client to see the rebuilt notes" });
  assert.ok(sameHeads(rebuilt.heads(), heads[damaged.notes]), "the rebuilt document has the original heads");
  await fresh.close();
  await reader.close();

  // Rebuilt durably: after kill -9 a fresh client still gets it from disk.
  await server.kill9();
  await server.start();
  const last = await (await h.client(server, { name: "last" })).connected();
  const again = await last.find(damaged.notes);
  await waitFor(() => ids[damaged.slug].every((n) => noteIds(again).has(n)), { what: "the rebuilt notes to survive kill -9" });
  assert.ok(sameHeads(again.heads(), heads[damaged.notes]));
  await last.close();
  await server.stop();

  // What the server moved aside stays visible to the operator.
  const after = runGlosa(["check", "--data", server.dataDir]);
  assert.match(after.stdout, /quarantine/, after.stdout);
  assert.ok(fs.existsSync(path.join(server.dataDir, "quarantine")), "damaged files were kept in quarantine/");
});
