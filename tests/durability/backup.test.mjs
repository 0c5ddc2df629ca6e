// Backup and restore: `glosa backup FILE` writes one consistent archive while
// the server is being written to; `glosa restore FILE` rebuilds an empty data
// dir from it; a server on the restored dir serves every document with the
// same heads.

import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { setImmediate as yieldToIo } from "node:timers/promises";
import { Client, Server, addNote, fixtureArticle, freePort, harness, noteIds, runGlosa, runGlosaAsync, sameHeads, waitFor } from "./lib.mjs";

test("a backup taken under writes restores every document with the same heads", { timeout: 600_000 }, async (t) => {
  const h = harness(t);
  const server = await h.server({ extraFiles: fixtureArticle("backup-fixture", "Backup fixture") });
  await server.start();
  const lib = await server.getJson("/api/library");
  const quiet = lib.articles.find((a) => a.slug !== "backup-fixture");
  const busy = lib.articles.find((a) => a.slug === "backup-fixture");

  // Enough notes in the quiet document that samod compacts it into a snapshot.
  const w1 = await (await h.client(server, { name: "w1" })).connected();
  const quietArticle = (await w1.find(quiet.url)).doc();
  const quietNotes = await w1.find(quiet.notes);
  const quietIds = [];
  for (let i = 0; i < 25; i++) quietIds.push(addNote(quietNotes, quietArticle, { text: `quiet ${i}`, start: i, end: i + 3 }));
  await w1.serverHasAll(quietNotes, "the server to store the quiet notes");
  await w1.close();

  // What every document looks like before the backup (nothing writes to these during it).
  const probe = await (await h.client(server, { name: "probe" })).connected();
  const stable = [lib.library, quiet.url, quiet.notes, busy.url];
  const expected = {};
  for (const url of stable) expected[url] = (await probe.find(url)).heads();
  await probe.close();

  // A writer keeps adding notes to the busy document while backups run.
  const w2 = await (await h.client(server, { name: "w2" })).connected();
  const busyArticle = (await w2.find(busy.url)).doc();
  const busyNotes = await w2.find(busy.notes);
  let stop = false;
  let written = 0;
  const writing = (async () => {
    while (!stop) {
      addNote(busyNotes, busyArticle, { text: `busy ${written}`, start: written % 20, end: (written % 20) + 4 });
      written += 1;
      await yieldToIo();
      if (written % 10 === 0) await w2.serverHasAll(busyNotes, "the server to keep up with the busy writer");
    }
  })();

  const out = h.tempDir("glosa-backup-out-");
  const archive = path.join(out, "nightly.tar");
  let ackedBeforeLastBackup;
  try {
    for (let i = 0; i < 3; i++) {
      // Take the acknowledged set at the very moment the server's heads equal
      // ours (the writer keeps going right after).
      await waitFor(
        () => {
          if (!sameHeads(w2.serverHeads(busyNotes), busyNotes.heads())) return false;
          ackedBeforeLastBackup = noteIds(busyNotes);
          return true;
        },
        { what: "the server to store the busy notes so far" },
      );
      const r = await runGlosaAsync(["backup", archive, "--data", server.dataDir]);
      assert.equal(r.code, 0, `glosa backup failed:\n${r.stdout}${r.stderr}`);
      assert.match(r.stdout, /backed up \d+ documents/);
    }
  } finally {
    stop = true;
    await writing;
  }
  assert.ok(written >= 10, `the writer wrote during the backups (${written} notes)`);
  await w2.close();
  assert.ok(fs.statSync(archive).size > 0);
  assert.ok(!fs.readdirSync(out).some((f) => f.startsWith(".glosa-tmp")), "no temp file left next to the archive");

  // Restore into a fresh dir; a second restore into it is refused.
  const restored = path.join(h.tempDir("glosa-restored-"), "data");
  const r1 = runGlosa(["restore", archive, "--data", restored]);
  assert.equal(r1.code, 0, `glosa restore failed:\n${r1.stdout}${r1.stderr}`);
  const r2 = runGlosa(["restore", archive, "--data", restored]);
  assert.notEqual(r2.code, 0, "restoring into a non-empty dir must be refused");
  assert.match(r2.stderr, /not empty/);
  const check = runGlosa(["check", "--data", restored]);
  assert.equal(check.code, 0, `the restored data dir is damaged:\n${check.stdout}${check.stderr}`);

  // A server on the restored dir serves every document with the same heads.
  const second = new Server({ port: await freePort(), dataDir: restored, contentDir: server.contentDir, root: path.dirname(restored) });
  h.onCleanup(() => second.kill9());
  await second.start();
  const lib2 = await second.getJson("/api/library");
  assert.equal(lib2.library, lib.library, "the restored server serves the same library document");
  const reader = await new Client(second, { name: "restored reader" }).connected();
  h.onCleanup(() => reader.close());
  for (const url of stable) {
    const handle = await reader.find(url);
    assert.ok(sameHeads(handle.heads(), expected[url]), `${url}: same heads after restore`);
  }
  const quietBack = await reader.find(quiet.notes);
  assert.ok(quietIds.every((n) => noteIds(quietBack).has(n)));
  // The busy document: a consistent copy that holds at least what was acknowledged before the last backup began.
  const busyBack = await reader.find(busy.notes);
  await waitFor(() => [...ackedBeforeLastBackup].every((n) => noteIds(busyBack).has(n)), {
    what: "the restored busy document to hold every note acknowledged before the backup",
  });
});
