// Bounded memory (issue 6), a benchmark (run by scripts/bench-unload and
// scripts/bench on the release build; not in CI: it measures resident
// memory, which a shared CI machine makes noisy). One phone reads 1,000 distinct documents (the
// library, 500 articles and their notes) and leaves; the server unloads
// them and its memory falls back to within 2x of idle. Exits 1 if not.
//
//   GLOSA_BIN=target/release/glosa node tests/hostile/unload.mjs
import { Client, Server, waitFor } from "./lib.mjs";

const ARTICLES = Number(process.env.UNLOAD_ARTICLES ?? 500);
const LIMIT = 2;
const log = (...a) => console.log(`[${new Date().toISOString().slice(11, 19)}]`, ...a);
const fmt = (mb) => `${mb.toFixed(1)} MB`;

function article(i) {
  const para = (k) => `Paragraph ${k} of article ${i}: the river keeps its stones and the heron waits by the reeds.`;
  return `---\ntitle: Article ${i}\nlang: en\n---\n${Array.from({ length: 20 }, (_, k) => para(k)).join("\n\n")}\n`;
}

const extraFiles = Object.fromEntries(Array.from({ length: ARTICLES }, (_, i) => [`unload-${i}.md`, article(i)]));
const server = await Server.start({ extraFiles });
const loaded = async () => {
  const text = (await server.get("/metrics")).text;
  return Number(/^glosa_documents_loaded (\d+)/m.exec(text)?.[1] ?? NaN);
};
let ok = false;
try {
  const lib = await server.library();
  const urls = [lib.library, ...lib.articles.flatMap((a) => [a.url, a.notes])];
  // Idle: a restarted server (the first start imported every article,
  // which a community's server does once), with only the library loaded.
  await server.restart();
  await waitFor(async () => (await loaded()) <= 1, { timeout: 300_000, interval: 1000, what: "only the library to be loaded" });
  const idle = server.rssMB();
  log(`${urls.length} documents; idle after a restart ${fmt(idle)}`);

  const client = await Client.connect(server, "reader");
  for (let i = 0; i < urls.length; i += 50) await Promise.all(urls.slice(i, i + 50).map((u) => client.find(u)));
  const inUse = await loaded();
  const peak = server.rssMB();
  log(`read every document: ${inUse} loaded, RSS ${fmt(peak)}`);
  await client.close();

  await waitFor(async () => (await loaded()) <= 1, { timeout: 300_000, interval: 1000, what: "every document but the library to be unloaded" });
  log(`every document unloaded; RSS ${fmt(server.rssMB())}`);
  // Freed memory goes back to the system on the unloader's ticks (every
  // second), actors dropped after one tick's trim on the next: wait until
  // two readings a second apart agree, so the figure is the settled one.
  let previous = Infinity;
  await waitFor(
    () => {
      const now = server.rssMB();
      const settled = Math.abs(previous - now) < 0.5;
      previous = now;
      return settled && now <= LIMIT * idle;
    },
    { timeout: 120_000, interval: 1000, what: `RSS settled within ${LIMIT}x idle` },
  ).catch(() => {});
  const after = server.rssMB();
  ok = after <= LIMIT * idle;
  log(`after every client left: ${fmt(after)} = ${(after / idle).toFixed(2)}x idle (target <= ${LIMIT}x): ${ok ? "met" : "NOT MET"}`);
} finally {
  server.kill();
}
process.exit(ok ? 0 : 1);
