// Hostile HTTP clients and hostile content files. (Path traversal and
// oversized bodies are covered in tests/http.rs.)

import { test } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { Server, healthyPhone, waitFor } from "./lib.mjs";

/**
 * A slowloris: connects and sends a request head one byte at a time, a
 * byte every `everyMs`, never finishing. Records when the server hangs up.
 */
function slowClient(server, { everyMs = 1_000, head = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " } = {}) {
  const c = { closed: false, sent: 0, error: null };
  const sock = net.connect(server.port, "127.0.0.1");
  let timer;
  sock.on("connect", () => {
    sock.write(head);
    // The attack itself: a trickle that never completes the head.
    timer = setInterval(() => {
      if (!c.closed) {
        sock.write("a");
        c.sent += 1;
      }
    }, everyMs);
  });
  sock.on("data", () => {});
  sock.on("error", (e) => {
    c.error = e.message;
  });
  sock.on("close", () => {
    c.closed = true;
    clearInterval(timer);
  });
  c.destroy = () => {
    clearInterval(timer);
    sock.destroy();
  };
  return c;
}

/** A client that connects and never sends a byte. */
function silentClient(server) {
  const c = { closed: false };
  const sock = net.connect(server.port, "127.0.0.1");
  sock.on("error", () => {});
  sock.on("close", () => {
    c.closed = true;
  });
  c.destroy = () => sock.destroy();
  return c;
}

test("slow HTTP clients are dropped while everyone else is served", { timeout: 600_000 }, async (t) => {
  const server = await Server.start();
  t.after(() => server.cleanup());
  const phone = await healthyPhone(server);
  t.after(() => phone.close());

  const slow = Array.from({ length: 50 }, () => slowClient(server));
  const silent = Array.from({ length: 50 }, () => silentClient(server));
  t.after(() => [...slow, ...silent].forEach((c) => c.destroy()));
  await waitFor(() => slow.every((c) => c.sent >= 2 || c.closed), { what: "the slow clients to start trickling" });

  // While they hold their sockets, pages and sync still work.
  const res = await fetch(`${server.base}/`);
  assert.equal(res.status, 200);
  await res.text();
  await phone.stillSyncs("slow clients connected");

  // The server hangs up on every one of them; without a header-read
  // timeout they would be held for as long as they keep trickling.
  await waitFor(() => slow.every((c) => c.closed), { timeout: 120_000, what: "the server to drop every slowloris client" });
  await waitFor(() => silent.every((c) => c.closed), { timeout: 120_000, what: "the server to drop every silent client" });
  t.diagnostic(`slow clients sent up to ${Math.max(...slow.map((c) => c.sent))} bytes each before being dropped`);

  const rss = await server.assertFine("slow clients");
  t.diagnostic(`server RSS after slow clients: ${rss.toFixed(0)} MB`);
  await phone.stillSyncs("slow clients");
});

test("a 50 MB content file is refused and the rest is served", { timeout: 600_000 }, async (t) => {
  const huge = Buffer.alloc(50 * 1024 * 1024, "lorem ipsum dolor sit amet ");
  huge.write("---\ntitle: Huge\n---\n");
  const server = await Server.start({ extraFiles: { "huge.md": huge } });
  t.after(() => server.cleanup());

  await server.logged(/huge\.md: the file is larger than 8 MiB; refused/, "a clear error naming the file and the limit");
  const lib = await server.library();
  assert.ok(lib.articles.length >= 1, "the other articles are listed");
  assert.ok(!lib.articles.some((a) => a.slug === "huge"), "the huge file is not");
  const page = await fetch(`${server.base}/articles/huge`);
  await page.text();
  assert.equal(page.status, 404);
  const phone = await healthyPhone(server);
  t.after(() => phone.close());
  await phone.stillSyncs("a 50 MB content file");
  const rss = await server.assertFine("a 50 MB content file");
  t.diagnostic(`server RSS with a 50 MB content file present: ${rss.toFixed(0)} MB`);
});

test("a Markdown file with 100,000 nested quotes renders, and the server is fine", { timeout: 600_000 }, async (t) => {
  const deep = `---\ntitle: Deep\n---\n${"> ".repeat(100_000)}the bottom of the well\n`;
  const emphasis = `---\ntitle: Stars\n---\n${"*".repeat(50_000)}x${"*".repeat(50_000)} and ${"[".repeat(50_000)}link${"](u)".repeat(50_000)} the end of the stars\n`;
  const server = await Server.start({ extraFiles: { "deep.md": deep, "stars.md": emphasis } });
  t.after(() => server.cleanup());
  const phone = await healthyPhone(server);
  t.after(() => phone.close());

  const lib = await server.library();
  for (const [slug, last] of [
    ["deep", "the bottom of the well"],
    ["stars", "the end of the stars"],
  ]) {
    assert.ok(lib.articles.some((a) => a.slug === slug), `${slug} is listed`);
    // Rendered on the server, within its 30 s request timeout (a 408 otherwise).
    const res = await fetch(`${server.base}/articles/${slug}`);
    const html = await res.text();
    assert.equal(res.status, 200, `${slug}: ${html.slice(0, 300)}`);
    assert.ok(html.includes(last), `${slug}: the text at the bottom is rendered`);
    // Nesting is flattened, not reproduced 100,000 times.
    const quotes = html.split("<blockquote").length - 1;
    assert.ok(quotes <= 64, `${slug}: ${quotes} blockquotes in the page`);
  }
  const rss = await server.assertFine("deeply nested Markdown");
  t.diagnostic(`server RSS after rendering deeply nested Markdown: ${rss.toFixed(0)} MB`);
  await phone.stillSyncs("deeply nested Markdown");
});
