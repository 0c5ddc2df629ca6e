// Helpers for the interop tests: start the real glosa binary on a free
// loopback port with temporary data and content directories, and talk to it
// with stock automerge-repo clients. Nothing here sleeps to synchronise:
// every wait polls a condition against a deadline.

import { test } from "node:test";
import fs from "node:fs";
import path from "node:path";
import { Repo } from "@automerge/automerge-repo";
import { WebSocketClientAdapter } from "@automerge/automerge-repo-network-websocket";
import * as Automerge from "@automerge/automerge";

import { GlosaServer, REPO_ROOT, WAIT_MS, freePort, glosaBin, waitFor } from "../support/glosa.mjs";

export { Automerge };

export { REPO_ROOT, WAIT_MS, freePort, glosaBin, waitFor };

/** One glosa server on a temporary copy of content/ (../support/glosa.mjs). */
export class Server extends GlosaServer {
  static async create({ extraFiles = {} } = {}) {
    return super.create({ prefix: "glosa-interop-", extraFiles });
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

/** One gauge from the server's /metrics (throws if it is missing). */
export async function gauge(server, name) {
  const { status, text } = await server.get("/metrics");
  if (status !== 200) throw new Error(`GET /metrics: ${status}`);
  const line = text.split("\n").find((l) => l.split(" ")[0] === name);
  if (!line) throw new Error(`no ${name} in /metrics`);
  return Number(line.split(" ").pop());
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
