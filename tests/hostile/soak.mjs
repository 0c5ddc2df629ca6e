// The soak: many phones on one server for a long time. Run by scripts/soak.
//
//   node soak.mjs MINUTES CLIENTS
//
// Starts the server binary ($GLOSA_BIN) on a copy of content/ plus a few
// generated articles, spreads CLIENTS stock automerge-repo clients over
// several worker processes (soak-worker.mjs), and while each phone now and
// then adds a note and reads, records the server's RSS every 10 s. Fails if
// memory grows (the last third's average above 1.5x the first third's,
// after the warm-up), if any healthy client was disconnected, or if any note
// is missing on the server at the end. Prints the figures.

import { fork } from "node:child_process";
import os from "node:os";
import { Client, Server, waitFor } from "./lib.mjs";

const minutes = Number(process.argv[2] ?? 30);
const total = Number(process.argv[3] ?? 1000);
const WORKERS = Math.max(1, Math.min(8, Math.ceil(total / 250)));
const SAMPLE_MS = 10_000;
// Each phone adds a note about every 10 minutes (1.7 notes/s for 1,000
// phones) to the notes of one of 50 articles (20 phones on each).
const NOTE_EVERY_MS = Number(process.env.SOAK_NOTE_EVERY_MS ?? 600_000);
const ARTICLES = Number(process.env.SOAK_ARTICLES ?? 50);
const GROWTH_LIMIT = 1.5;

function article(i) {
  const para = (k) =>
    `Paragraph ${k} of soak article ${i}: the river keeps its stones and the heron waits by the reeds while the town wakes.`;
  return `---\ntitle: Soak article ${i}\nauthor: Soak\nlang: en\nsummary: Generated for the soak test.\n---\n${Array.from({ length: 30 }, (_, k) => para(k)).join("\n\n")}\n`;
}

const fmt = (mb) => `${mb.toFixed(1)} MB`;
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
const log = (...a) => console.log(`[${new Date().toISOString().slice(11, 19)}]`, ...a);

const extraFiles = Object.fromEntries(Array.from({ length: ARTICLES - 1 }, (_, i) => [`soak-${i + 1}.md`, article(i + 1)]));
const server = await Server.start({ extraFiles });
let failed = false;
const workers = [];
try {
  const { articles } = await server.library();
  log(`server pid ${server.proc.pid} on ${server.base}; ${articles.length} articles; ${total} clients in ${WORKERS} workers; ${minutes} min; a note per phone every ~${NOTE_EVERY_MS / 1000} s`);
  const samples = [];
  const sample = () => {
    const s = { t: Date.now(), rss: server.rssMB() };
    samples.push(s);
    return s;
  };
  sample();

  // Start the workers and wait until every client has joined and opened its documents.
  const started = Date.now();
  const errorsSeen = [];
  const per = Math.ceil(total / WORKERS);
  for (let w = 0; w < WORKERS; w++) {
    const count = Math.min(per, total - w * per);
    const proc = fork(new URL("./soak-worker.mjs", import.meta.url), [server.wsUrl, JSON.stringify(articles), String(count), String(w * per), String(NOTE_EVERY_MS)], {
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    const worker = { proc, ready: null, stats: null, done: null };
    proc.on("message", (m) => {
      if (m.type === "ready") worker.ready = m;
      if (m.type === "stats") worker.stats = m;
      if (m.type === "done") worker.done = m;
      if (m.type === "error" && errorsSeen.length < 20) errorsSeen.push(m.message);
    });
    proc.on("exit", (code) => {
      worker.exit = code;
    });
    // A worker that died cannot be told anything; its clients count as dropped.
    proc.on("error", (e) => errorsSeen.push(`worker ${w}: ${e.message}`));
    worker.send = (m) => {
      if (proc.connected) proc.send(m);
    };
    workers.push(worker);
  }
  await waitFor(() => workers.every((w) => w.ready || w.exit != null), { timeout: 15 * 60_000, interval: 500, what: "every client to connect" });
  const connected = workers.reduce((n, w) => n + (w.ready?.clients ?? 0), 0);
  log(`${connected}/${total} clients connected in ${((Date.now() - started) / 1000).toFixed(0)} s; RSS ${fmt(sample().rss)}`);
  if (connected !== total) throw new Error(`only ${connected} of ${total} clients connected: ${errorsSeen.join("; ")}`);

  // The soak proper.
  const warmupEnd = Date.now();
  const end = warmupEnd + minutes * 60_000;
  while (Date.now() < end) {
    await new Promise((r) => setTimeout(r, SAMPLE_MS));
    if (!server.running) throw new Error(`the server died: ${JSON.stringify(server.exit)}\n${server.log.slice(-3000)}`);
    const s = sample();
    // Client figures as of the last sample (the workers answer in between).
    const st = workers.map((w) => w.stats ?? {});
    const sum = (k) => st.reduce((n, x) => n + (x[k] ?? 0), 0);
    for (const w of workers) w.send({ type: "stats" });
    log(`RSS ${fmt(s.rss)}  connected ${sum("connected")}/${total}  disconnects ${sum("disconnects")}  notes ${sum("notesAdded")}  errors ${sum("errors")}  load ${os.loadavg()[0].toFixed(1)}`);
  }

  // Stop: every worker waits until the server has all its notes, then reports them.
  for (const w of workers) w.send({ type: "stop" });
  await waitFor(() => workers.every((w) => w.done || w.exit != null), { timeout: 10 * 60_000, interval: 500, what: "workers to finish" });
  const died = workers.filter((w) => !w.done).length;
  const done = workers.map((w) => w.done ?? { disconnects: 0, unsynced: 0, notesAdded: 0, errors: 0, noteIds: [] });
  const disconnects = done.reduce((n, d) => n + d.disconnects, 0);
  const unsynced = done.reduce((n, d) => n + d.unsynced, 0);
  const notesAdded = done.reduce((n, d) => n + d.notesAdded, 0);
  const errors = done.reduce((n, d) => n + d.errors, 0);

  // Every note any phone wrote is on the server: a fresh client reads each notes doc.
  const expected = new Map();
  for (const d of done) for (const { notes, ids } of d.noteIds) for (const id of ids) (expected.get(notes) ?? expected.set(notes, []).get(notes)).push(id);
  const checker = await Client.connect(server, "checker");
  let missing = 0;
  for (const [url, ids] of expected) {
    const doc = (await checker.find(url)).doc();
    missing += ids.filter((id) => !doc.notes?.[id]).length;
  }
  await checker.close();

  // Memory: the first and last thirds of the soak proper.
  const soak = samples.filter((s) => s.t >= warmupEnd);
  const third = Math.max(1, Math.floor(soak.length / 3));
  const firstThird = mean(soak.slice(0, third).map((s) => s.rss));
  const lastThird = mean(soak.slice(-third).map((s) => s.rss));
  const peak = Math.max(...samples.map((s) => s.rss));
  const ratio = lastThird / firstThird;

  console.log("\n==== soak figures ====");
  console.log(`duration            ${minutes} min after warm-up, ${total} clients in ${WORKERS} processes, ${ARTICLES} articles`);
  console.log(`server RSS          idle ${fmt(samples[0].rss)}, after connect ${fmt(samples[1].rss)}, first third ${fmt(firstThird)}, last third ${fmt(lastThird)} (x${ratio.toFixed(2)}), peak ${fmt(peak)}`);
  console.log(`notes               ${notesAdded} added (${(notesAdded / (minutes * 60)).toFixed(1)}/s), ${missing} missing on the server, ${unsynced} clients not acknowledged`);
  console.log(`healthy clients     ${disconnects} disconnects, ${errors} errors`);
  console.log(`RSS samples (MB)    ${samples.map((s) => s.rss.toFixed(0)).join(" ")}`);
  // Why the server closed connections, if it did.
  const reasons = new Map();
  for (const m of server.log.matchAll(/closing sync connection .*?reason=([^\n]{0,60})/g)) reasons.set(m[1], (reasons.get(m[1]) ?? 0) + 1);
  console.log(`server closed       ${reasons.size ? [...reasons].map(([r, n]) => `${n}x ${r}`).join("; ") : "no connection"}`);

  const problems = [];
  if (ratio > GROWTH_LIMIT) problems.push(`memory grew: last third ${fmt(lastThird)} > ${GROWTH_LIMIT} x first third ${fmt(firstThird)}`);
  if (died !== 0) problems.push(`${died} worker processes died`);
  if (disconnects !== 0) problems.push(`${disconnects} healthy clients were disconnected`);
  if (unsynced !== 0) problems.push(`${unsynced} clients' notes were not acknowledged by the server`);
  if (missing !== 0) problems.push(`${missing} notes missing on the server`);
  if (errors !== 0) problems.push(`${errors} client errors: ${errorsSeen.join("; ")}`);
  if (problems.length) {
    failed = true;
    console.log(`\nFAILED:\n- ${problems.join("\n- ")}`);
  } else {
    console.log("\nPASSED");
  }
} catch (e) {
  failed = true;
  console.error(`soak failed: ${e.stack ?? e}`);
} finally {
  for (const w of workers) w.proc.kill("SIGKILL");
  server.cleanup();
}
process.exit(failed ? 1 : 0);
