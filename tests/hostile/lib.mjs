// Helpers for the hostile-input tests: start the real glosa binary, watch
// its memory, talk to it with a stock automerge-repo client (the healthy
// one that must keep syncing) and with raw sockets (the hostile ones).
// Nothing here sleeps to synchronise: every wait polls a condition against
// a deadline.

import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";
import WebSocket from "ws";
import { encode, decode } from "cbor-x";
import { Repo } from "@automerge/automerge-repo";
import { WebSocketClientAdapter } from "@automerge/automerge-repo-network-websocket";
import * as Automerge from "@automerge/automerge";

export { Automerge, WebSocket, encode, decode };

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

// Generous on purpose: CI is a noisy 2-core machine and a debug build.
export const WAIT_MS = 60_000;

/**
 * The memory bound every test asserts. The server idles at a few tens of
 * MB; hostile input must not take it anywhere near this.
 */
export const RSS_LIMIT_MB = 300;

export function glosaBin() {
  const bin = path.resolve(REPO_ROOT, process.env.GLOSA_BIN || "target/debug/glosa");
  if (!fs.existsSync(bin)) {
    throw new Error(`glosa binary not found at ${bin}; run \`cargo build\` or set GLOSA_BIN`);
  }
  return bin;
}

/** Poll `cond` until it returns a truthy value, which is returned. */
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

async function freePort() {
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

const live = new Set();
process.on("exit", () => {
  for (const p of live) {
    try {
      p.kill("SIGKILL");
    } catch {
      // already gone
    }
  }
});

// Everything: a flood of warnings after a closed connection must not push
// out the line a test looks for.
const LOG_LIMIT = 64 * 1024 * 1024;

/** One glosa server on a temp copy of content/ plus `extraFiles` ({name: string | Buffer}). */
export class Server {
  static async start({ extraFiles = {} } = {}) {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "glosa-hostile-"));
    const s = new Server();
    s.root = root;
    s.dataDir = path.join(root, "data");
    s.contentDir = path.join(root, "content");
    fs.mkdirSync(s.dataDir);
    fs.cpSync(path.join(REPO_ROOT, "content"), s.contentDir, { recursive: true });
    for (const [name, body] of Object.entries(extraFiles)) {
      fs.writeFileSync(path.join(s.contentDir, name), body);
    }
    s.port = await freePort();
    s.log = "";
    s.exit = null;
    const proc = spawn(
      glosaBin(),
      ["serve", "--addr", `127.0.0.1:${s.port}`, "--data", s.dataDir, "--content", s.contentDir],
      { cwd: root, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, RUST_LOG: "info", RUST_BACKTRACE: "1" } },
    );
    s.proc = proc;
    live.add(proc);
    const append = (c) => {
      s.log += c.toString();
      if (s.log.length > LOG_LIMIT) s.log = s.log.slice(-LOG_LIMIT);
    };
    proc.stdout.on("data", append);
    proc.stderr.on("data", append);
    proc.on("exit", (code, signal) => {
      live.delete(proc);
      s.exit = { code, signal };
    });
    try {
      await waitFor(
        async () => {
          if (s.exit) throw new Error(`server exited early: ${JSON.stringify(s.exit)}`);
          if (!s.log.includes("listening on")) return false;
          return (await fetch(`${s.base}/healthz`)).status === 200;
        },
        { interval: 50, what: "the server to start" },
      );
    } catch (e) {
      s.kill();
      throw new Error(`${e.message}\n--- server log ---\n${s.log.slice(-4000)}`);
    }
    return s;
  }

  get base() {
    return `http://127.0.0.1:${this.port}`;
  }

  get wsUrl() {
    return `ws://127.0.0.1:${this.port}/sync`;
  }

  get running() {
    return this.exit === null;
  }

  /** Resident memory of the server process, in MB, from /proc. */
  rssMB() {
    const status = fs.readFileSync(`/proc/${this.proc.pid}/status`, "utf8");
    const m = /^VmRSS:\s+(\d+) kB/m.exec(status);
    assert.ok(m, "VmRSS in /proc/PID/status");
    return Number(m[1]) / 1024;
  }

  /** Asserts the process lives, answers /healthz and stays under the memory bound. */
  async assertFine(what) {
    assert.ok(this.running, `server alive after ${what}\n${this.log.slice(-3000)}`);
    const res = await fetch(`${this.base}/healthz`);
    await res.arrayBuffer();
    assert.equal(res.status, 200, `healthz after ${what}`);
    const rss = this.rssMB();
    assert.ok(rss < RSS_LIMIT_MB, `server RSS ${rss.toFixed(0)} MB after ${what} (limit ${RSS_LIMIT_MB} MB)`);
    return rss;
  }

  /** Waits until the server's log contains `text` (a string or RegExp). */
  async logged(text, what = `the log to mention ${text}`) {
    try {
      await waitFor(() => (typeof text === "string" ? this.log.includes(text) : text.test(this.log)), { what });
    } catch (e) {
      throw new Error(`${e.message}\n--- server log ---\n${this.log.slice(-3000)}`);
    }
  }

  async library() {
    const res = await fetch(`${this.base}/api/library`);
    assert.equal(res.status, 200);
    return res.json();
  }

  kill() {
    if (this.running) this.proc.kill("SIGKILL");
  }

  cleanup() {
    this.kill();
    fs.rmSync(this.root, { recursive: true, force: true });
  }
}

/** A stock automerge-repo client, the kind a phone runs. */
export class Client {
  constructor(server, name) {
    this.name = name;
    this.adapter = new WebSocketClientAdapter(server.wsUrl, 60_000);
    this.disconnects = 0;
    this.adapter.on("peer-disconnected", () => {
      this.disconnects += 1;
    });
    this.repo = new Repo({ network: [this.adapter] });
  }

  static async connect(server, name = "healthy") {
    const c = new Client(server, name);
    await waitFor(() => c.adapter.remotePeerId, { what: `${name} to join the server` });
    return c;
  }

  async find(url) {
    return this.repo.find(url, { signal: AbortSignal.timeout(WAIT_MS) });
  }

  /** The heads the server last told us it has for `handle`. */
  serverHeads(handle) {
    const sid = this.repo.getStorageIdOfPeer(this.adapter.remotePeerId);
    return sid ? handle.getSyncInfo(sid)?.lastHeads : undefined;
  }

  async close() {
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
 * The healthy phone of every test: opens the first article's notes before
 * the abuse, and after it must still be connected and still get a new note
 * to the server and from there to a fresh client.
 */
export async function healthyPhone(server) {
  const lib = await server.library();
  const entry = lib.articles[0];
  assert.ok(entry, "the library lists an article");
  const client = await Client.connect(server, "healthy");
  const article = await client.find(entry.url);
  const notes = await client.find(entry.notes);
  return {
    client,
    /** Asserts the phone was never cut off and still syncs both ways. */
    async stillSyncs(what) {
      assert.equal(client.disconnects, 0, `the healthy client was never disconnected (${what})`);
      const id = `note-${Math.random().toString(36).slice(2)}`;
      const doc = article.doc();
      notes.change((d) => {
        if (!d.notes) d.notes = {};
        d.notes[id] = {
          id,
          author: "healthy",
          created: Date.now(),
          edited: null,
          text: `still here after ${what}`,
          anchor: {
            start: Automerge.getCursor(doc, ["body"], 0),
            end: Automerge.getCursor(doc, ["body"], 5),
            quote: String(doc.body).slice(0, 5),
          },
          replies: {},
          deleted: false,
        };
      });
      await waitFor(() => sameHeads(client.serverHeads(notes), notes.heads()), {
        what: `the server to take the healthy client's note after ${what}`,
      });
      const fresh = await Client.connect(server, "fresh");
      try {
        const fn = await fresh.find(entry.notes);
        await waitFor(() => fn.doc().notes?.[id], { what: `a fresh client to see the note after ${what}` });
      } finally {
        await fresh.close();
      }
    },
    close: () => client.close(),
  };
}

/** A raw WebSocket to /sync that records what happens to it. */
export async function rawSocket(server, opts = {}) {
  const ws = new WebSocket(server.wsUrl, opts);
  const s = { ws, closed: null, errors: [], messages: [] };
  ws.on("error", (e) => s.errors.push(e.message)); // EPIPE/ECONNRESET when cut off mid-send
  ws.on("close", (code, reason) => {
    s.closed = { code, reason: reason.toString() };
  });
  ws.on("message", (data, isBinary) => {
    if (isBinary) s.messages.push(decode(data));
  });
  await waitFor(() => ws.readyState === WebSocket.OPEN || s.closed, { what: "a raw socket to open" });
  assert.equal(ws.readyState, WebSocket.OPEN, "raw socket opened");
  return s;
}

/** Joins as automerge-repo does and waits for the server's `peer` answer. */
export async function join(s) {
  s.peerId = `hostile-${Math.random().toString(36).slice(2)}`;
  s.ws.send(encode({ type: "join", senderId: s.peerId, peerMetadata: {}, supportedProtocolVersions: ["1"] }));
  const peer = await waitFor(() => s.messages.find((m) => m.type === "peer"), { what: "the server's peer message" });
  s.serverId = peer.senderId;
  return s;
}

/** Waits for the server to close `s`; returns {code, reason}. */
export async function closedBy(s, what, timeout = WAIT_MS) {
  await waitFor(() => s.closed, { timeout, what: `the server to close the connection after ${what}` });
  return s.closed;
}

/** An empty document's first sync message: what a phone sends to ask for a document. */
export function firstSyncMessage() {
  const doc = Automerge.init();
  const [, msg] = Automerge.generateSyncMessage(doc, Automerge.initSyncState());
  return msg;
}
