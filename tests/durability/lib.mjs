// Helpers for the durability tests: the real glosa binary on a free loopback
// port, restartable on the same data dir, its CLI (check, backup, restore),
// and stock automerge-repo clients, optionally with their own NodeFS storage
// (a phone that keeps its documents). Nothing here sleeps to synchronise:
// every wait polls a condition against a deadline.

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Repo } from "@automerge/automerge-repo";
import { WebSocketClientAdapter } from "@automerge/automerge-repo-network-websocket";
import { NodeFSStorageAdapter } from "@automerge/automerge-repo-storage-nodefs";
import * as Automerge from "@automerge/automerge";

import {
  GlosaServer as Server,
  REPO_ROOT,
  WAIT_MS,
  freePort,
  glosaBin,
  makeRoot as makeTempRoot,
  runGlosa,
  runGlosaAsync,
  waitFor,
} from "../support/glosa.mjs";

export { Automerge };

export { REPO_ROOT, Server, WAIT_MS, freePort, glosaBin, runGlosa, runGlosaAsync, waitFor };

/** A temporary root with a copy of the repo's content/ plus `extraFiles` ({name: text}). */
export function makeRoot(prefix = "glosa-durability-", extraFiles = {}) {
  const { root, contentDir } = makeTempRoot(prefix, extraFiles);
  // Callers choose their own data dir (a tmpfs, a restored one).
  fs.rmSync(path.join(root, "data"), { recursive: true, force: true });
  return { root, contentDir };
}

/**
 * A stock automerge-repo client. With `storageDir` it keeps its documents in
 * NodeFS storage, like a phone; `retryMs` is how soon it reconnects after
 * the server vanishes.
 */
export class Client {
  constructor(server, { name = "client", storageDir = null, retryMs = 250 } = {}) {
    this.name = name;
    this.closed = false;
    this.adapter = new WebSocketClientAdapter(server.wsUrl, retryMs);
    // Work around three faults of the 2.5.6 Node adapter that only show up
    // when the server dies under it. It schedules a reconnect when its socket
    // closes and never cancels it, even after shutdown: a closed client must
    // not dial again (and a short retry keeps such timers from holding the
    // process).
    // Its retry timer also dials again while the previous socket is still
    // connecting, removing that socket's error listener; the abandoned
    // socket's later error would then crash Node. Every socket keeps a no-op
    // error listener of ours.
    const connect = this.adapter.connect.bind(this.adapter);
    this.adapter.connect = (...args) => {
      if (this.closed) return undefined;
      const r = connect(...args);
      this.adapter.socket?.on?.("error", () => {});
      return r;
    };
    // It also rethrows any socket error but ECONNREFUSED from an event
    // handler, crashing Node when a kill -9 resets a connection mid-handshake
    // (browsers take another path). The close event that follows retries.
    const onError = this.adapter.onError;
    this.adapter.onError = (event) => {
      if (event && "error" in event && event.error?.code !== "ECONNREFUSED") return;
      return onError(event);
    };
    const opts = { network: [this.adapter] };
    if (storageDir) opts.storage = new NodeFSStorageAdapter(storageDir);
    this.repo = new Repo(opts);
  }

  async connected() {
    await waitFor(() => this.adapter.remotePeerId, { what: `${this.name} to join the server` });
    return this;
  }

  get serverStorageId() {
    const peer = this.adapter.remotePeerId;
    return peer ? this.repo.getStorageIdOfPeer(peer) : undefined;
  }

  async find(url, { timeout = WAIT_MS } = {}) {
    try {
      return await this.repo.find(url, { signal: AbortSignal.timeout(timeout) });
    } catch (e) {
      throw new Error(`${this.name}: find(${url}) failed: ${e.message}`);
    }
  }

  /** The heads the server last reported for this document. */
  serverHeads(handle) {
    const sid = this.serverStorageId;
    return sid ? handle.getSyncInfo(sid)?.lastHeads : undefined;
  }

  /** Wait until the server reports heads equal to ours: it has (and acknowledged) every local change. */
  async serverHasAll(handle, what = "the server to have our changes", timeout = WAIT_MS) {
    await waitFor(() => sameHeads(this.serverHeads(handle), handle.heads()), { what: `${this.name}: ${what}`, timeout });
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

/** Directory of a document in the data dir (the NodeFS layout). */
export function docDir(dataDir, url) {
  const id = url.replace(/^automerge:/, "");
  return path.join(dataDir, id.slice(0, 2), id.slice(2));
}

export function docId(url) {
  return url.replace(/^automerge:/, "");
}

/** Every file under dir, relative paths. */
export function walk(dir) {
  const out = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...walk(p).map((r) => path.join(e.name, r)));
    else out.push(e.name);
  }
  return out;
}

/** A text value as a JS string. */
export function str(v) {
  return v === undefined || v === null ? v : String(v);
}

let noteCounter = 0;

export function noteId(prefix = "n") {
  noteCounter += 1;
  return `${prefix}-${process.pid}-${noteCounter}-${Math.random().toString(36).slice(2, 10)}`;
}

/** Add a note shaped per docs/schema.md, anchored into `article` (a doc with a `body` text). */
export function addNote(notesHandle, article, { id = noteId(), author = "tester", text = "a note", start = 0, end = 10 } = {}) {
  const body = String(article.body);
  const s = Math.max(0, Math.min(start, body.length - 1));
  const e = Math.max(s, Math.min(end, body.length));
  const anchor = {
    start: Automerge.getCursor(article, ["body"], s),
    end: Automerge.getCursor(article, ["body"], e),
    quote: body.slice(s, e),
  };
  notesHandle.change((d) => {
    if (!d.notes) d.notes = {};
    d.notes[id] = { id, author, created: Date.now(), edited: null, text, anchor, replies: {}, deleted: false };
  });
  return id;
}

/** Note ids present in a notes document. */
export function noteIds(handle) {
  return new Set(Object.keys(handle.doc()?.notes ?? {}));
}

/** A second article, so tests have more than one notes document. */
export function fixtureArticle(slug, title) {
  return {
    [`${slug}.md`]: [
      "---",
      `title: "${title}"`,
      "author: Test Author",
      "lang: en",
      "published: 2024-03-01",
      "summary: A fixture article for the durability tests.",
      "---",
      `The river ${slug} remembers every stone along the bank, and the heron waits by the reeds.`,
      "",
      "A second paragraph, so that notes have somewhere else to point.",
      "",
    ].join("\n"),
  };
}

/**
 * Per-test harness: servers, clients and temp dirs made through it are torn
 * down when the test ends, passed or failed (clients first).
 */
export function harness(t) {
  const clients = [];
  const servers = [];
  const dirs = [];
  const cleanups = [];
  const h = {
    async server({ extraFiles = {}, dataDir = null, root = null, contentDir = null } = {}) {
      let r = root;
      let c = contentDir;
      if (!r) {
        ({ root: r, contentDir: c } = makeRoot("glosa-durability-", extraFiles));
        dirs.push(r);
      }
      const d = dataDir ?? path.join(r, "data");
      fs.mkdirSync(d, { recursive: true });
      const s = new Server({ port: await freePort(), dataDir: d, contentDir: c, root: r });
      servers.push(s);
      return s;
    },
    async client(server, opts = {}) {
      const c = new Client(server, { name: `client${clients.length + 1}`, ...opts });
      clients.push(c);
      return c;
    },
    tempDir(prefix = "glosa-durability-tmp-") {
      const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
      dirs.push(d);
      return d;
    },
    onCleanup(f) {
      cleanups.push(f);
    },
    async closeClients() {
      await Promise.all(clients.map((c) => c.close().catch(() => {})));
    },
  };
  t.after(async () => {
    await h.closeClients();
    for (const s of servers) {
      await s.kill9().catch(() => {});
      if (process.env.GLOSA_TEST_LOGS) t.diagnostic(`server log (${s.dataDir}):\n${s.logTail(20000)}`);
    }
    for (const f of cleanups.reverse()) {
      try {
        await f();
      } catch (e) {
        t.diagnostic(`cleanup failed: ${e.message}`);
      }
    }
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });
  return h;
}
