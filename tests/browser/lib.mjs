// Helpers for the browser tests: the real server binary on a free port with
// a temporary data dir and a temporary copy of the content, Debian's
// Chromium driven by playwright-core, and waits on the app's own state
// (data attributes it exposes), never on the clock.
import { cp, mkdtemp, mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";
import { chromium } from "playwright-core";
import { GlosaServer, freePort } from "../support/glosa.mjs";

const here = dirname(fileURLToPath(import.meta.url));
export const ROOT = resolve(here, "../..");
export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
export const SCREENSHOTS = process.env.GLOSA_SCREENSHOTS ?? join(here, "screenshots");

/** Generous: CI is a noisy 2-core machine, and the wasm compiles slowly there. */
export const LONG = 120_000;

export const PHONE = {
  viewport: { width: 360, height: 740 },
  deviceScaleFactor: 2,
  isMobile: true,
  hasTouch: true,
};

/** A temp dir with a copy of content/ plus the test fixtures (RTL, Spanish). */
export async function makeContent({ fixtures = true } = {}) {
  const dir = await mkdtemp(join(tmpdir(), "glosa-content-"));
  await cp(join(ROOT, "content"), dir, { recursive: true });
  if (fixtures) {
    for (const f of await readdir(join(here, "fixtures"))) {
      if (f.endsWith(".md")) await cp(join(here, "fixtures", f), join(dir, f));
    }
  }
  return dir;
}

export async function makeDataDir() {
  return mkdtemp(join(tmpdir(), "glosa-data-"));
}

/** Slugs, titles and bodies of the Markdown files in a content dir. */
export async function readArticles(contentDir) {
  const out = [];
  for (const f of (await readdir(contentDir)).sort()) {
    if (!f.endsWith(".md")) continue;
    const text = await readFile(join(contentDir, f), "utf8");
    const m = /^---\n([\s\S]*?)\n---\n?([\s\S]*)$/.exec(text);
    const front = m ? m[1] : "";
    const body = m ? m[2] : text;
    const title = /^title:\s*(.*)$/m.exec(front)?.[1]?.trim() ?? f;
    const paragraphs = body.split(/\n\s*\n/).map((p) => p.trim()).filter(Boolean);
    out.push({ slug: f.slice(0, -3), title, body, paragraphs });
  }
  return out;
}

/** Plain words of a Markdown paragraph, for "is this text on the page" checks. */
export function plain(md) {
  return md
    .replace(/^#+\s*|^>\s*|^[-*]\s+/gm, "")
    .replace(/[*_`]/g, "")
    .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1")
    .replace(/\s+/g, " ")
    .trim();
}

/**
 * Starts `glosa serve` and resolves once it prints "listening on". The
 * returned object stops it gracefully (SIGTERM) or kills it (SIGKILL).
 */
export async function startServer({ dataDir, contentDir, port }) {
  const server = new GlosaServer({ port: port ?? (await freePort()), dataDir, contentDir, root: dataDir });
  await server.start({ expectHealthy: false });
  return {
    port: server.port,
    url: server.base,
    log: () => server.log,
    /** SIGTERM, expecting a clean exit. */
    stop: () => server.stop(),
    /** SIGKILL. */
    kill: () => server.kill9(),
  };
}

export async function launch() {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
  });
}

export async function phone(browser, options = {}) {
  const context = await browser.newContext({ ...PHONE, ...options });
  context.setDefaultTimeout(LONG);
  context.setDefaultNavigationTimeout(LONG);
  return context;
}

/** Collects page errors and console errors (into `events`), to print when a test fails. */
export function watch(page, events = []) {
  page.on("pageerror", (e) => events.push(`pageerror: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warning") events.push(`console.${m.type()}: ${m.text()}`);
  });
  return events;
}

/**
 * One browser test's world, set up and torn down the same way everywhere: a
 * content folder (the fixtures unless `fixtures: false`; `prepare(dir)` adds
 * to it), an empty data folder, the server and Chromium. `body(s)` gets:
 *   - `s.server` (a test that restarts the server assigns the new one),
 *     `s.content`, `s.data`, `s.browser`;
 *   - `s.phone(options)`: a new phone context with a page, `{ ctx, page }`,
 *     whose errors and warnings are collected (`s.watch(page)` for others);
 *   - `s.onFailure(fn)`: more to print if the test fails (`fn` may be async);
 *   - `s.defer(fn)`: more to close at the end (a Node repo, a second browser).
 * If `body` throws, all of that and the tail of the server's log are printed
 * and the error rethrown. Contexts, browser and server are closed and both
 * folders removed either way.
 */
export async function scene({ fixtures = true, prepare } = {}, body) {
  const content = await makeContent({ fixtures });
  const data = await makeDataDir();
  const events = [];
  const contexts = [];
  const failures = [];
  const deferred = [];
  const s = {
    content,
    data,
    server: null,
    browser: null,
    watch: (page) => watch(page, events),
    async phone(options) {
      const ctx = await phone(s.browser, options);
      contexts.push(ctx);
      const page = await ctx.newPage();
      s.watch(page);
      return { ctx, page };
    },
    onFailure: (fn) => failures.push(fn),
    defer: (fn) => deferred.push(fn),
  };
  try {
    if (prepare) await prepare(content);
    s.server = await startServer({ dataDir: data, contentDir: content });
    s.browser = await launch();
    await body(s);
  } catch (e) {
    for (const fn of failures) console.error(await Promise.resolve().then(fn).catch((x) => x.message));
    console.error(events.join("\n"));
    if (s.server) console.error(s.server.log().slice(-4000));
    throw e;
  } finally {
    for (const fn of deferred.reverse()) await Promise.resolve().then(fn).catch(() => {});
    for (const ctx of contexts) await ctx.close().catch(() => {});
    await s.browser?.close();
    await s.server?.kill();
    await cleanup(content, data);
  }
}

/** The sync status element's state ("starting", "syncing", "synced", "offline", "pending"). */
export async function waitForSyncState(page, states, timeout = LONG) {
  const want = Array.isArray(states) ? states : [states];
  await page.waitForFunction(
    (want) => want.includes(document.getElementById("sync-status")?.dataset.syncState ?? ""),
    want,
    { timeout, polling: 100 },
  );
}

/** Waits until the app reports the whole library saved to IndexedDB. */
export async function waitForLibrarySaved(page, expected, timeout = LONG) {
  await page.waitForFunction(
    (expected) => {
      const s = document.getElementById("sync-status")?.dataset;
      return !!s && s.total === String(expected) && s.saved === s.total;
    },
    expected,
    { timeout, polling: 100 },
  );
}

/** Waits until the service worker is active and controls the page (precache done). */
export async function waitForServiceWorker(page, timeout = LONG) {
  await page.evaluate(() => navigator.serviceWorker.ready.then(() => undefined));
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout, polling: 100 });
}

/** Waits until the library view is rendered from the automerge library doc. */
export async function waitForLibraryFromDoc(page, timeout = LONG) {
  await page.waitForSelector('.library[data-source="doc"]', { timeout });
}

/** Waits until the article on the page is rendered from its automerge doc. */
export async function waitForArticleFromDoc(page, timeout = LONG) {
  await page.waitForSelector('article.article[data-source="doc"]', { timeout });
}

/** Waits until the visible text of `selector` contains `text`. */
export async function waitForText(page, selector, text, timeout = LONG) {
  await page.waitForFunction(
    ({ selector, text }) => {
      const el = document.querySelector(selector);
      return !!el && el.textContent.replace(/\s+/g, " ").includes(text);
    },
    { selector, text },
    { timeout, polling: 200 },
  );
}

const require = createRequire(import.meta.url);

/** Runs axe-core in the page; returns violations of serious or critical impact. */
export async function axe(page) {
  await page.addScriptTag({ path: require.resolve("axe-core/axe.min.js") });
  const result = await page.evaluate(() =>
    // @ts-ignore injected
    window.axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"] } }),
  );
  return result.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
}

export async function screenshot(page, name) {
  await mkdir(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`) });
}

export async function cleanup(...dirs) {
  for (const d of dirs) if (d) await rm(d, { recursive: true, force: true });
}

export { writeFile, readFile, join };

/**
 * Meters the page's WebSocket traffic through the DevTools protocol: per
 * socket, the handshake and every frame, decoded; and HTTP requests by path. Bytes are as on the wire
 * above TCP: the HTTP upgrade request and response, and each frame with its
 * header (client frames are masked: 4 bytes more). Pings are not reported
 * by Chromium and not counted (2–6 bytes every 15 s).
 */
export async function meterSockets(page) {
  const { cbor } = await import("@automerge/automerge-repo");
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Network.enable");
  const sockets = new Map();
  const http = (first, headers) =>
    first.length + 2 + Object.entries(headers ?? {}).reduce((n, [k, v]) => n + k.length + 2 + String(v).length + 2, 0) + 2;
  const frameHeader = (len, masked) => (len < 126 ? 2 : len < 65536 ? 4 : 10) + (masked ? 4 : 0);
  const frame = (dir) => ({ requestId, response }) => {
    const s = sockets.get(requestId);
    if (!s || response.opcode !== 2) return;
    const bytes = Buffer.from(response.payloadData, "base64");
    let msg = {};
    try {
      msg = cbor.decode(bytes);
    } catch {
      /* counted, not decoded */
    }
    s.frames.push({ dir, bytes: bytes.length + frameHeader(bytes.length, dir === "sent"), type: msg.type, documentId: msg.documentId, msg });
  };
  cdp.on("Network.webSocketCreated", ({ requestId, url }) => sockets.set(requestId, { url, handshake: 0, frames: [], opened: false, closed: false }));
  cdp.on("Network.webSocketWillSendHandshakeRequest", ({ requestId, request }) => {
    const s = sockets.get(requestId);
    if (s) s.handshake += http(`GET ${new URL(s.url).pathname} HTTP/1.1`, request.headers);
  });
  cdp.on("Network.webSocketHandshakeResponseReceived", ({ requestId, response }) => {
    const s = sockets.get(requestId);
    if (s) {
      s.handshake += http(`HTTP/1.1 ${response.status} ${response.statusText}`, response.headers);
      s.opened = true;
    }
  });
  cdp.on("Network.webSocketFrameSent", frame("sent"));
  cdp.on("Network.webSocketFrameReceived", frame("received"));
  const requests = new Map();
  cdp.on("Network.requestWillBeSent", ({ requestId, request }) => {
    const u = new URL(request.url);
    requests.set(requestId, { url: request.url, path: u.pathname, sent: http(`${request.method} ${u.pathname}${u.search} HTTP/1.1`, request.headers), received: 0, done: false });
  });
  cdp.on("Network.loadingFinished", ({ requestId, encodedDataLength }) => {
    const r = requests.get(requestId);
    if (r) Object.assign(r, { received: encodedDataLength, done: true });
  });
  cdp.on("Network.webSocketClosed", ({ requestId }) => {
    const s = sockets.get(requestId);
    if (s) s.closed = true;
  });
  return {
    /** HTTP requests to `path` that completed: bytes sent (estimated from headers) and received (as reported). */
    http: (path) => [...requests.values()].filter((r) => r.path === path && r.done),
    /**
     * Every socket that connected so far, oldest first. An attempt the
     * app makes while the phone is offline fails before its handshake and
     * costs nothing on the wire; counting it would shift every index by
     * one, depending on when the app's retry timer happened to fire.
     */
    sockets: () => [...sockets.values()].filter((s) => s.opened),
    total: (s) => s.handshake + s.frames.reduce((n, f) => n + f.bytes, 0),
    /** The documents a socket carried sync traffic for. */
    documents: (s) => new Set(s.frames.filter((f) => f.documentId).map((f) => f.documentId)),
  };
}
