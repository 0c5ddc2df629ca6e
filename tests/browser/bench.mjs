// First-visit benchmark on an emulated slow link (a benchmark, not a test:
// it asserts nothing about timings). A fresh phone opens an article over
// ~400 kbit/s with 400 ms RTT; we record when the article text was painted
// (first contentful paint: the text is in the server's HTML) and when
// automerge was ready (the app's performance marks), plus the bytes on the
// wire per kind of resource, brotli as served.
//
//   node tests/browser/bench.mjs [out.json]      (scripts/bench-web wraps it)
import { writeFile, mkdir } from "node:fs/promises";
import { get } from "node:http";
import { dirname } from "node:path";
import { cleanup, launch, makeContent, makeDataDir, phone, startServer, waitForArticleFromDoc, LONG } from "./lib.mjs";

const out = process.argv[2];
const SLOW = { offline: false, latency: 400, downloadThroughput: (400 * 1000) / 8, uploadThroughput: (400 * 1000) / 8 };

const content = await makeContent({ fixtures: false });
const data = await makeDataDir();
const server = await startServer({ dataDir: data, contentDir: content });
const browser = await launch();
const result = { link: "400 kbit/s down and up, 400 ms RTT (Chromium network emulation)", runs: [] };
const ARTICLE = "/articles/ayotzinapa-and-palestine";
await warm(`${server.url}${ARTICLE}`);
try {
  for (let run = 0; run < 3; run++) {
    // Service workers blocked: their fetches escape the page's network
    // emulation. The app registers its worker only after automerge is
    // loaded, so on a real first visit the precache comes from the HTTP cache.
    const ctx = await phone(browser, { serviceWorkers: "block" });
    const page = await ctx.newPage();
    const cdp = await ctx.newCDPSession(page);
    await cdp.send("Network.enable");
    await cdp.send("Network.emulateNetworkConditions", SLOW);
    const requests = new Map();
    cdp.on("Network.responseReceived", (e) => requests.set(e.requestId, { url: e.response.url, type: e.type, encoding: e.response.headers["content-encoding"] ?? e.response.headers["Content-Encoding"] ?? "" }));
    cdp.on("Network.loadingFinished", (e) => {
      const r = requests.get(e.requestId);
      if (r) r.bytes = e.encodedDataLength;
    });
    await page.goto(`${server.url}${ARTICLE}`, { waitUntil: "commit" });
    await waitForArticleFromDoc(page, LONG * 3);
    const times = await page.evaluate(() => {
      const fcp = performance.getEntriesByName("first-contentful-paint")[0]?.startTime ?? null;
      const mark = (n) => performance.getEntriesByName(n)[0]?.startTime ?? null;
      return { articleTextPainted: fcp, automergeReady: mark("glosa:automerge-ready"), articleFromDoc: mark("glosa:article-from-doc") };
    });
    const bytes = {};
    let total = 0;
    for (const r of requests.values()) {
      if (!r.bytes) continue;
      const path = new URL(r.url).pathname;
      const kind = path.endsWith(".wasm") ? "wasm" : path.endsWith(".js") ? "js" : path.endsWith(".css") ? "css" : r.type === "Document" ? "html" : r.type.toLowerCase();
      bytes[kind] = (bytes[kind] ?? 0) + r.bytes;
      total += r.bytes;
    }
    const files = [...requests.values()].filter((r) => r.bytes).map((r) => ({ path: new URL(r.url).pathname, bytes: r.bytes, encoding: r.encoding }));
    result.runs.push({ times, bytes, total, files });
    await ctx.close();
  }
} finally {
  await browser.close();
  await server.stop();
  await cleanup(content, data);
}
const ms = (v) => (v === null ? "n/a" : `${Math.round(v)} ms`);
for (const [i, r] of result.runs.entries()) {
  console.log(`run ${i + 1}: article text painted ${ms(r.times.articleTextPainted)}, automerge ready ${ms(r.times.automergeReady)}, article from doc ${ms(r.times.articleFromDoc)}; ${r.total} bytes on the wire ${JSON.stringify(r.bytes)}`);
}
console.log(result.runs[0].files.map((f) => `  ${f.path} ${f.bytes} ${f.encoding}`).join("\n"));
if (out) {
  await mkdir(dirname(out), { recursive: true });
  await writeFile(out, JSON.stringify(result, null, 2));
  console.log(`wrote ${out}`);
}

/**
 * The server compresses a page at brotli 11 once, in the background, after
 * its first request (src/web/brotli_pages.rs); until then it is brotli 5.
 * Any page a community reads has been requested before, so the phone's
 * first visit is measured against a page the server has served once:
 * resolves when the page comes smaller than its first response did.
 */
async function warm(url) {
  const size = () =>
    new Promise((resolve, reject) => {
      get(url, { headers: { "accept-encoding": "br" } }, (res) => {
        let n = 0;
        res.on("data", (c) => (n += c.length));
        res.on("end", () => resolve(n));
      }).on("error", reject);
    });
  const first = await size();
  const deadline = Date.now() + 30_000;
  for (;;) {
    const n = await size();
    if (n < first) return;
    if (Date.now() > deadline) throw new Error(`${url} was never served at brotli 11 (${n} bytes)`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
