// Helpers for the interop tests: start the real glosa binary on a free
// loopback port with temporary data and content directories, and talk to it
// with stock automerge-repo clients. Nothing here sleeps to synchronise:
// every wait polls a condition against a deadline.

import { spawn } from "node:child_process";
import { test } from "node:test";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Repo } from "@automerge/automerge-repo";
import { WebSocketClientAdapter } from "@automerge/automerge-repo-network-websocket";
import * as Automerge from "@automerge/automerge";

export { Automerge };

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

// Generous on purpose: CI is a noisy 2-core machine and a debug build.
export const WAIT_MS = 30_000;
const START_MS = 60_000;

/** The server binary: $GLOSA_BIN (relative paths are from the repo root) or target/debug/glosa. */
export function glosaBin() {
  const bin = path.resolve(REPO_ROOT, process.env.GLOSA_BIN || "target/debug/glosa");
  if (!fs.existsSync(bin)) {
    throw new Error(`glosa binary not found at ${bin}; run \`cargo build\` or set GLOSA_BIN`);
  }
  return bin;
}

/**
 * Poll `cond` (sync or async) until it returns a truthy value, which is
 * returned. A thrown error counts as "not yet", unless it has `fatal: true`.
 */
export async function waitFor(cond, { timeout = WAIT_MS, interval = 25, what = "condition" } = {}) {
  const deadline = Date.now() + timeout;
  let lastError;
  for (;;) {
    try {
      const v = await cond();
      if (v) return v;
      lastError = undefined;
    } catch (e) {
      if (e?.fatal) throw e; // no point waiting longer (e.g. the server exited)
      lastError = e;
    }
    if (Date.now() > deadline) {
      const why = lastError ? ` (last error: ${lastError.message})` : "";
      throw new Error(`timed out after ${timeout} ms waiting for ${what}${why}`);
    }
    await new Promise((r) => setTimeout(r, interval));
  }
}

/** A port that was free a moment ago: bind to port 0 on loopback and release it. */
export async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

// Every server process still running, so that even a crashing test process
// does not leave one behind.
const liveProcs = new Set();
process.on("exit", () => {
  for (const p of liveProcs) {
    try {
      p.kill("SIGKILL");
    } catch {
      // already gone
    }
  }
});

const LOG_LIMIT = 256 * 1024;

/**
 * One glosa server, restartable on the same port, data and content dirs.
 * Create with `Server.create()`; call `start()`.
 */
export class Server {
  constructor({ port, dataDir, contentDir, root }) {
    this.port = port;
    this.dataDir = dataDir;
    this.contentDir = contentDir;
    this.root = root;
    this.proc = null;
    this.log = "";
    this.exit = null; // {code, signal} once the current process ended
    this.starts = 0;
  }

  /** A server whose content is a temporary copy of the repo's content/ plus `extraFiles` ({name: text}). */
  static async create({ extraFiles = {} } = {}) {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "glosa-interop-"));
    const dataDir = path.join(root, "data");
    const contentDir = path.join(root, "content");
    fs.mkdirSync(dataDir);
    fs.cpSync(path.join(REPO_ROOT, "content"), contentDir, { recursive: true });
    for (const [name, text] of Object.entries(extraFiles)) {
      fs.writeFileSync(path.join(contentDir, name), text);
    }
    return new Server({ port: await freePort(), dataDir, contentDir, root });
  }

  get base() {
    return `http://127.0.0.1:${this.port}`;
  }

  get wsUrl() {
    return `ws://127.0.0.1:${this.port}/sync`;
  }

  get running() {
    return this.proc !== null && this.exit === null;
  }

  #append(prefix, chunk) {
    this.log += chunk
      .toString()
      .split("\n")
      .map((l, i, a) => (i === a.length - 1 && l === "" ? "" : `${prefix}${l}`))
      .join("\n");
    if (this.log.length > LOG_LIMIT) this.log = this.log.slice(-LOG_LIMIT);
  }

  /** The tail of the server's stdout+stderr, for failure messages. */
  logTail(chars = 4000) {
    return this.log.slice(-chars);
  }

  /** Start (or restart) the server and wait until it prints `listening on` and /healthz says 200. */
  async start() {
    if (this.running) throw new Error("server already running");
    this.starts += 1;
    this.exit = null;
    this.#append("", `\n===== start #${this.starts} =====\n`);
    const proc = spawn(
      glosaBin(),
      ["serve", "--addr", `127.0.0.1:${this.port}`, "--data", this.dataDir, "--content", this.contentDir],
      { cwd: this.root, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, RUST_BACKTRACE: "1", NO_COLOR: "1" } },
    );
    this.proc = proc;
    liveProcs.add(proc);
    let stdout = "";
    proc.stdout.on("data", (c) => {
      stdout += c.toString();
      this.#append("[out] ", c);
    });
    proc.stderr.on("data", (c) => this.#append("[err] ", c));
    const exited = new Promise((resolve) => {
      proc.on("exit", (code, signal) => {
        liveProcs.delete(proc);
        this.exit = { code, signal };
        resolve(this.exit);
      });
    });
    this.exited = exited;
    proc.on("error", (e) => this.#append("[spawn] ", `${e.message}\n`));
    try {
      await waitFor(
        async () => {
          if (this.exit) throw Object.assign(new Error(`server exited early: ${JSON.stringify(this.exit)}`), { fatal: true });
          if (!stdout.includes("listening on")) return false;
          const res = await fetch(`${this.base}/healthz`);
          await res.arrayBuffer();
          return res.status === 200;
        },
        { timeout: START_MS, interval: 50, what: "the server to print `listening on` and answer /healthz 200" },
      );
    } catch (e) {
      await this.kill9();
      throw new Error(`${e.message}\n--- server log ---\n${this.logTail()}`);
    }
  }

  /** SIGKILL: the server gets no chance to flush anything. */
  async kill9() {
    if (!this.running) return;
    this.proc.kill("SIGKILL");
    await this.exited;
  }

  /** SIGTERM, and expect a clean exit 0 within the deadline. */
  async stop() {
    if (!this.running) return;
    this.proc.kill("SIGTERM");
    let timer;
    const timeout = new Promise((resolve) => {
      timer = setTimeout(() => resolve(null), WAIT_MS);
    });
    const r = await Promise.race([this.exited, timeout]);
    clearTimeout(timer);
    if (r === null) {
      await this.kill9();
      throw new Error(`server did not exit within ${WAIT_MS} ms of SIGTERM\n${this.logTail()}`);
    }
    if (r.code !== 0) {
      throw new Error(`server exited with ${JSON.stringify(r)} after SIGTERM\n${this.logTail()}`);
    }
  }

  async restart({ hard = false } = {}) {
    if (hard) await this.kill9();
    else await this.stop();
    await this.start();
  }

  async getJson(p) {
    const res = await fetch(this.base + p);
    const body = await res.text();
    if (res.status !== 200) throw new Error(`GET ${p} → ${res.status}: ${body.slice(0, 500)}`);
    return JSON.parse(body);
  }

  async getText(p) {
    const res = await fetch(this.base + p);
    return { status: res.status, text: await res.text(), headers: res.headers };
  }

  async healthy() {
    try {
      const res = await fetch(`${this.base}/healthz`);
      await res.arrayBuffer();
      return res.status === 200;
    } catch {
      return false;
    }
  }

  cleanup() {
    fs.rmSync(this.root, { recursive: true, force: true });
  }
}

/** A stock automerge-repo client (no storage) connected to the server's /sync. */
export class Client {
  constructor(server, name = "client") {
    this.name = name;
    // A long retry interval: tests use fresh clients after restarts instead of reconnecting.
    this.adapter = new WebSocketClientAdapter(server.wsUrl, 60_000);
    this.disconnects = 0;
    this.adapter.on("peer-disconnected", () => {
      this.disconnects += 1;
    });
    this.repo = new Repo({ network: [this.adapter] });
    this.closed = false;
  }

  /** Wait until the server has answered our join, so that find() never gives up early. */
  async connected() {
    await waitFor(() => this.adapter.remotePeerId, { what: `${this.name} to join the server` });
    return this;
  }

  get serverPeerId() {
    return this.adapter.remotePeerId;
  }

  /** The server's storage id, from the peer metadata it sent in its `peer` message. */
  get serverStorageId() {
    return this.repo.getStorageIdOfPeer(this.serverPeerId);
  }

  async find(url, { timeout = WAIT_MS } = {}) {
    try {
      return await this.repo.find(url, { signal: AbortSignal.timeout(timeout) });
    } catch (e) {
      throw new Error(`${this.name}: find(${url}) failed: ${e.message}`);
    }
  }

  /** The heads the server last told us it has for this document (from its sync messages). */
  serverHeads(handle) {
    const sid = this.serverStorageId;
    if (!sid) return undefined;
    return handle.getSyncInfo(sid)?.lastHeads;
  }

  /** Wait until the server reports heads equal to ours: it has applied every local change. */
  async serverHasAll(handle, what = "the server to have our changes") {
    await waitFor(() => sameHeads(this.serverHeads(handle), handle.heads()), { what: `${this.name}: ${what}` });
  }

  async close() {
    if (this.closed) return;
    this.closed = true;
    await this.repo.shutdown();
  }
}

export function sameHeads(a, b) {
  if (!a || !b || a.length !== b.length) return false;
  const sa = [...a].sort();
  const sb = [...b].sort();
  return sa.every((h, i) => h === sb[i]);
}

/**
 * Per-test harness: servers and clients made through it are always torn down
 * when the test ends, passed or failed (clients first, so that no client
 * adapter sees its server vanish and schedules a reconnect).
 */
export async function harness(t, opts = {}) {
  const clients = [];
  const servers = [];
  const h = {
    server: null,
    async newServer(o = opts) {
      const s = await Server.create(o);
      servers.push(s);
      await s.start();
      return s;
    },
    /** A fresh client of `server` (default: h.server), already joined. */
    async client(name = `client${clients.length + 1}`, server = h.server) {
      const c = new Client(server, name);
      clients.push(c);
      return c.connected();
    },
    /** Close every client made so far (call before killing a server). */
    async closeClients() {
      await Promise.all(clients.map((c) => c.close()));
    },
  };
  t.after(async () => {
    await h.closeClients().catch(() => {});
    for (const s of servers) {
      await s.kill9().catch(() => {});
      if (process.env.GLOSA_TEST_LOGS) {
        // Full logs on request: GLOSA_TEST_LOGS=DIR keeps one file per server.
        fs.mkdirSync(process.env.GLOSA_TEST_LOGS, { recursive: true });
        const file = path.join(process.env.GLOSA_TEST_LOGS, `${path.basename(s.root)}.log`);
        fs.writeFileSync(file, `${t.name}\n${s.log}`);
      }
      s.cleanup();
    }
  });
  h.server = await h.newServer(opts);
  return h;
}

/**
 * A node:test test with its own server (content: the repo's content/ plus
 * the fixture article), torn down afterwards. A failure carries the tail of
 * the server's log, so that a failure on CI can be understood from its output.
 */
export function serverTest(name, opts, fn) {
  return test(name, opts, async (t) => {
    const h = await harness(t, { extraFiles: { [EXTRA_FILE]: EXTRA_TEXT } });
    try {
      await fn(h, t);
    } catch (e) {
      if (e && typeof e === "object" && typeof e.message === "string") {
        e.message += `\n--- server log (tail) ---\n${h.server.logTail(6000)}`;
      }
      throw e;
    }
  });
}

// ---------------------------------------------------------------- content

/**
 * Split a content file the way the contract says the importer does:
 * CRLF → LF, YAML front matter between a leading `---` line and the next
 * `---` line removed. Returns {meta, body} with a flat key: value reading of
 * the front matter (enough for the scalar fields the tests compare).
 */
export function parseArticleFile(raw) {
  let text = raw.replace(/^\uFEFF/, "").replace(/\r\n/g, "\n");
  const meta = {};
  if (!text.startsWith("---\n")) return { meta, body: text };
  const end = text.indexOf("\n---\n", 3);
  let fm;
  let body;
  if (end === -1) {
    if (!text.endsWith("\n---")) throw new Error("unterminated front matter");
    fm = text.slice(4, text.length - 4);
    body = "";
  } else {
    fm = text.slice(4, end + 1);
    body = text.slice(end + 5);
  }
  for (const line of fm.split("\n")) {
    const m = /^([A-Za-z_][\w-]*):\s*(.*)$/.exec(line);
    if (!m) continue;
    let v = m[2].trim();
    if ((v.startsWith('"') && v.endsWith('"')) || (v.startsWith("'") && v.endsWith("'"))) v = v.slice(1, -1);
    meta[m[1]] = v;
  }
  return { meta, body };
}

/** Every `*.md` in a content dir: [{slug, file, meta, body}]. */
export function readContentDir(dir) {
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith(".md"))
    .sort()
    .map((f) => {
      const { meta, body } = parseArticleFile(fs.readFileSync(path.join(dir, f), "utf8"));
      return { slug: f.slice(0, -3), file: path.join(dir, f), meta, body };
    });
}

/** A text value of a document as a JS string (Automerge 3 gives strings for text). */
export function str(v) {
  return v === undefined || v === null ? v : String(v);
}

// ---------------------------------------------------------------- notes

let noteCounter = 0;

/** A fresh random note id. */
export function noteId(prefix = "n") {
  noteCounter += 1;
  return `${prefix}-${process.pid}-${noteCounter}-${Math.random().toString(36).slice(2, 10)}`;
}

/**
 * Add a note shaped per docs/schema.md to a notes document, anchored with
 * cursors into `article` (a doc with a `body` text) at [start, end).
 */
export function addNote(notesHandle, article, { id = noteId(), author = "tester", text, start = 0, end = 10 } = {}) {
  const body = String(article.body);
  const anchor = {
    start: Automerge.getCursor(article, ["body"], start),
    end: Automerge.getCursor(article, ["body"], Math.min(end, body.length)),
    quote: body.slice(start, end),
  };
  notesHandle.change((d) => {
    if (!d.notes) d.notes = {};
    d.notes[id] = {
      id,
      author,
      created: Date.now(),
      edited: null,
      text,
      anchor,
      replies: {},
      deleted: false,
    };
  });
  return id;
}

/** GET /api/library and the entry for `slug` (throws if it is missing). */
export async function libraryEntry(server, slug) {
  const lib = await server.getJson("/api/library");
  const entry = lib.articles.find((a) => a.slug === slug);
  if (!entry) throw new Error(`slug ${slug} not in /api/library: ${JSON.stringify(lib.articles.map((a) => a.slug))}`);
  return { lib, entry };
}

/** A second article used by several tests: CRLF line endings, non-BMP characters, quoted YAML. */
export const EXTRA_SLUG = "interop-fixture";
export const EXTRA_FILE = `${EXTRA_SLUG}.md`;
export const EXTRA_TEXT = [
  "---",
  'title: "Interop fixture: the river 🌊 remembers"',
  "author: Test Author",
  "lang: en",
  "published: 2024-03-01",
  "summary: A small article the interop tests edit, withdraw and annotate.",
  "tags: [test, fixture]",
  "---",
  "The first paragraph talks about water 🌊 and stones 🪨 along the bank.",
  "",
  "The second paragraph names the heron, who waits by the reeds every morning.",
  "",
  "A last line with ümlauts and a closing word: lantern.",
  "",
].join("\r\n");
