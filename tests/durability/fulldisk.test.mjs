// Full disk: with the data dir on a tiny tmpfs, the server stays up and keeps
// serving reads, says so in its log and in /healthz, accepts no change it
// cannot store (the change whose write failed is held unacknowledged until
// it is stored; notes turn read-only), works again once space is freed, and
// loses nothing it had.
// Needs root (to mount a tmpfs); CI runs as root.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { addNote, fixtureArticle, harness, makeRoot, noteIds, sameHeads, waitFor } from "./lib.mjs";

const SIZE = "4m";

function mountTmpfs(dir) {
  if (typeof process.getuid !== "function" || process.getuid() !== 0) {
    return "not root: mounting a tmpfs needs root (CI runs as root)";
  }
  const r = spawnSync("mount", ["-t", "tmpfs", "-o", `size=${SIZE},mode=0755`, "tmpfs", dir], { encoding: "utf8" });
  if (r.error || r.status !== 0) return `mount -t tmpfs failed: ${r.error?.message ?? r.stderr.trim()}`;
  return null;
}

/** Fill the filesystem holding `dir` until it refuses a single byte more. */
function fill(file) {
  const fd = fs.openSync(file, "w");
  let written = 0;
  try {
    for (const size of [1 << 20, 64 << 10, 4096, 512, 1]) {
      const buf = Buffer.alloc(size, 0x5a);
      for (;;) {
        try {
          written += fs.writeSync(fd, buf);
        } catch (e) {
          if (e.code !== "ENOSPC") throw e;
          break;
        }
      }
    }
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  return written;
}

test("full disk: the server degrades, serves reads, refuses changes, and recovers with nothing lost", { timeout: 600_000 }, async (t) => {
  const { root, contentDir } = makeRoot("glosa-fulldisk-", fixtureArticle("full-disk-fixture", "Full disk fixture"));
  const dataDir = path.join(root, "data");
  fs.mkdirSync(dataDir);
  const why = mountTmpfs(dataDir);
  if (why) {
    fs.rmSync(root, { recursive: true, force: true });
    t.skip(why);
    return;
  }
  const h = harness(t);
  h.onCleanup(() => {
    spawnSync("umount", ["-l", dataDir]);
    fs.rmSync(root, { recursive: true, force: true });
  });
  const server = await h.server({ root, contentDir, dataDir });
  await server.start();
  const lib = await server.getJson("/api/library");
  const entry = lib.articles.find((a) => a.slug === "full-disk-fixture");
  const other = lib.articles.find((a) => a.slug !== "full-disk-fixture");
  assert.ok(entry && other);

  // Before: one note stored and acknowledged; the heads of everything.
  const writer = await (await h.client(server, { name: "writer" })).connected();
  const article = (await writer.find(entry.url)).doc();
  const notes = await writer.find(entry.notes);
  const before = addNote(notes, article, { text: "stored before the disk filled up" });
  await writer.serverHasAll(notes, "the server to store the first note");
  const probe = await (await h.client(server, { name: "probe" })).connected();
  const headsBefore = {};
  for (const url of [lib.library, entry.url, other.url, other.notes]) headsBefore[url] = (await probe.find(url)).heads();
  await probe.close();

  // Fill the disk, then write: the put fails.
  const filler = path.join(dataDir, "filler");
  const filled = fill(filler);
  t.diagnostic(`filled the ${SIZE} tmpfs with ${filled} bytes`);
  const during = addNote(notes, article, { text: "written when the disk was full" });
  const [duringHead] = notes.heads();
  const degraded = await waitFor(
    async () => {
      const r = await server.health();
      return r.status === 503 ? r : null;
    },
    { what: "/healthz to answer 503 after the failed write" },
  );
  assert.equal(degraded.body.status, "degraded", JSON.stringify(degraded.body));
  assert.match(JSON.stringify(degraded.body), /No space left on device|os error 28/);
  // The log arrives through a pipe, possibly after the HTTP answer: wait for it.
  await waitFor(() => /ERROR.*(storage failure|degraded)/.test(server.currentLog()) && /No space left on device/.test(server.currentLog()), {
    what: "the failed write to be logged as an error with its reason",
  });
  assert.ok(server.running, "the server is still up");

  // Reads are still served, over HTTP and sync, including documents not yet loaded.
  assert.equal((await server.get("/api/library")).status, 200);
  assert.equal((await server.get(`/articles/${other.slug}`)).status, 200);
  assert.equal((await server.get(`/articles/${entry.slug}`)).status, 200);
  const reader = await (await h.client(server, { name: "reader" })).connected();
  for (const url of [lib.library, entry.url, other.url, other.notes]) {
    assert.ok(sameHeads((await reader.find(url)).heads(), headsBefore[url]), `reader sees ${url} unchanged`);
  }
  await reader.close();

  // Accepts no change it cannot store: the change whose write failed is not
  // acknowledged to the phone (which keeps it), and a change written now is
  // not taken either. (A bounded negative check: it can only pass wrongly on
  // a very slow machine, never fail wrongly.)
  const refused = addNote(notes, article, { text: "written while degraded" });
  const [refusedHead] = notes.heads();
  const until = Date.now() + 3000;
  while (Date.now() < until) {
    const acked = writer.serverHeads(notes) ?? [];
    assert.ok(!acked.includes(duringHead), "the server acknowledged a change it could not store");
    assert.ok(!acked.includes(refusedHead), "the server acknowledged a change while the disk was full");
    assert.equal((await server.health()).status, 503, "still degraded while the disk is full");
    await new Promise((r) => setTimeout(r, 100));
  }

  // Free the space: the server recovers by itself, stores the held change
  // and acknowledges it, and takes writes again.
  fs.rmSync(filler);
  await waitFor(async () => (await server.health()).status === 200, { what: "/healthz to return to 200 once space is freed" });
  await waitFor(() => /storage recovered/.test(server.currentLog()), { what: "the recovery to be logged" });
  await waitFor(() => (writer.serverHeads(notes) ?? []).some((h) => h === duringHead || h === refusedHead), {
    what: "the server to acknowledge the held change once it is stored",
  });
  await writer.close();
  const after = await (await h.client(server, { name: "after" })).connected();
  const afterArticle = (await after.find(entry.url)).doc();
  const afterNotes = await after.find(entry.notes);
  const later = addNote(afterNotes, afterArticle, { text: "written after space was freed" });
  await after.serverHasAll(afterNotes, "the server to store a note after recovery");
  await after.close();
  t.diagnostic(`the note written while degraded ${noteIds(afterNotes).has(refused) ? "was" : "was not"} taken after recovery`);

  // Nothing stored before, nor held in memory during the outage, is lost: kill -9 and look.
  await server.kill9();
  await server.start();
  const final = await (await h.client(server, { name: "final" })).connected();
  const finalNotes = await final.find(entry.notes);
  await waitFor(() => [before, during, later].every((n) => noteIds(finalNotes).has(n)), {
    what: "every note stored before, during and after the outage to survive kill -9",
  });
  for (const url of [lib.library, entry.url, other.url, other.notes]) {
    assert.ok(sameHeads((await final.find(url)).heads(), headsBefore[url]), `${url} unchanged after the outage`);
  }
});
