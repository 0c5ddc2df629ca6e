// Helpers for the durability tests: the real glosa binary on a free loopback
// port, restartable on the same data dir, its CLI (check, backup, restore),
// and stock automerge-repo clients, optionally with their own NodeFS storage
// (a phone that keeps its documents). Nothing here sleeps to synchronise:
// every wait polls a condition against a deadline.

import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Repo } from "@automerge/automerge-repo";
import { WebSocketClientAdapter } from "@automerge/automerge-repo-network-websocket";
import { NodeFSStorageAdapter } from "@automerge/automerge-repo-storage-nodefs";
import * as Automerge from "@automerge/automerge";

export { Automerge };

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

// Generous on purpose: CI is a noisy 2-core machine and a debug build.
export const WAIT_MS = 60_000;
const START_MS = 90_000;

/** The server binary: $GLOSA_BIN (relative paths are from the repo root) or target/debug/glosa. */
export function glosaBin() {
  const bin = path.resolve(REPO_ROOT, process.env.GLOSA_BIN || "target/debug/glosa");
  if (!fs.existsSync(bin)) {
    throw new Error(`glosa binary not found at ${bin}; run \`cargo build\` or set GLOSA_BIN`);
  }
  return bin;
}

/** Poll `cond` (sync or async) until it returns a truthy value, which is returned. */
export async function waitFor(cond, { timeout = WAIT_MS, interval = 25, what = "condition" } = {}) {
  const deadline = Date.now() + timeout;
  let lastError;
  for (;;) {
    try {
      const v = await cond();
      if (v) return v;
      lastError = undefined;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() > deadline) {
      const why = lastError ? ` (last error: ${lastError.message})` : "";
      throw new Error(`timed out after ${timeout} ms waiting for ${what}${why}`);
    }
    await new Promise((r) => setTimeout(r, interval));
  }
}

/** A port that was free a moment ago. */
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

const LOG_LIMIT = 1024 * 1024;

/** Run a glosa subcommand to completion: {code, stdout, stderr}. */
export function runGlosa(args, { timeout = 120_000 } = {}) {
  const r = spawnSync(glosaBin(), args, { encoding: "utf8", timeout, env: { ...process.env, RUST_LOG: "info" } });
  if (r.error) throw new Error(`glosa ${args.join(" ")}: ${r.error.message}`);
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/** Run a glosa subcommand without blocking the event loop (clients keep syncing meanwhile). */
export function runGlosaAsync(args) {
  return new Promise((resolve, reject) => {
    const p = spawn(glosaBin(), args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, RUST_LOG: "info" } });
    liveProcs.add(p);
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (c) => (stdout += c));
    p.stderr.on("data", (c) => (stderr += c));
    p.on("error", reject);
    p.on("exit", (code, signal) => {
      liveProcs.delete(p);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** A temporary root with a copy of the repo's content/ plus `extraFiles` ({name: text}). */
export function makeRoot(prefix = "glosa-durability-", extraFiles = {}) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const contentDir = path.join(root, "content");
  fs.cpSync(path.join(REPO_ROOT, "content"), contentDir, { recursive: true });
  for (const [name, text] of Object.entries(extraFiles)) {
    fs.writeFileSync(path.join(contentDir, name), text);
  }
  return { root, contentDir };
}

/** One glosa server, restartable on the same port, data and content dirs. */
export class Server {
  constructor({ port, dataDir, contentDir, root }) {
    this.port = port;
    this.dataDir = dataDir;
    this.contentDir = contentDir;
    this.root = root;
    this.proc = null;
    this.log = "";
    this.exit = null;
    this.starts = 0;
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

  logTail(chars = 6000) {
    return this.log.slice(-chars);
  }

  /** The log of the current (latest) run only. */
  currentLog() {
    const marker = `===== start #${this.starts} =====`;
    const i = this.log.lastIndexOf(marker);
    return i === -1 ? this.log : this.log.slice(i);
  }

  /** Start (or restart) and wait until it prints `listening on` and /healthz answers 200. */
  async start({ expectHealthy = true } = {}) {
    if (this.running) throw new Error("server already running");
    this.starts += 1;
    this.exit = null;
    this.#append("", `\n===== start #${this.starts} =====\n`);
    const proc = spawn(
      glosaBin(),
      ["serve", "--addr", `127.0.0.1:${this.port}`, "--data", this.dataDir, "--content", this.contentDir],
      { cwd: this.root, stdio: ["ignore", "pipe", "pipe"], env: { RUST_LOG: "info", ...process.env, RUST_BACKTRACE: "1" } },
    );
    this.proc = proc;
    liveProcs.add(proc);
    let stdout = "";
    proc.stdout.on("data", (c) => {
      stdout += c.toString();
      this.#append("[out] ", c);
    });
    proc.stderr.on("data", (c) => this.#append("[err] ", c));
    this.exited = new Promise((resolve) => {
      proc.on("exit", (code, signal) => {
        liveProcs.delete(proc);
        this.exit = { code, signal };
        resolve(this.exit);
      });
    });
    proc.on("error", (e) => this.#append("[spawn] ", `${e.message}\n`));
    try {
      await waitFor(
        async () => {
          if (this.exit) throw new Error(`server exited early: ${JSON.stringify(this.exit)}`);
          if (!stdout.includes("listening on")) return false;
          if (!expectHealthy) return true;
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

  /** SIGTERM, and expect a clean exit 0. */
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
    if (r.code !== 0) throw new Error(`server exited with ${JSON.stringify(r)} after SIGTERM\n${this.logTail()}`);
  }

  async getJson(p) {
    const res = await fetch(this.base + p);
    const body = await res.text();
    if (res.status !== 200) throw new Error(`GET ${p} → ${res.status}: ${body.slice(0, 500)}`);
    return JSON.parse(body);
  }

  async get(p) {
    const res = await fetch(this.base + p);
    return { status: res.status, text: await res.text() };
  }

  /** GET /healthz: {status, body}. */
  async health() {
    const res = await fetch(`${this.base}/healthz`);
    const text = await res.text();
    let body;
    try {
      body = JSON.parse(text);
    } catch {
      body = { raw: text };
    }
    return { status: res.status, body };
  }
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
