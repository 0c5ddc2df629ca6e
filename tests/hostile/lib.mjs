// Helpers for the hostile-input tests: start the real glosa binary, watch
// its memory, talk to it with a stock automerge-repo client (the healthy
// one that must keep syncing) and with raw sockets (the hostile ones).
// Nothing here sleeps to synchronise: every wait polls a condition against
// a deadline.

import assert from "node:assert/strict";
import WebSocket from "ws";
import { encode, decode } from "cbor-x";
import { Repo } from "@automerge/automerge-repo";
import { WebSocketClientAdapter } from "@automerge/automerge-repo-network-websocket";
import * as Automerge from "@automerge/automerge";

import { GlosaServer, REPO_ROOT, WAIT_MS, glosaBin, waitFor } from "../support/glosa.mjs";

export { Automerge, WebSocket, encode, decode };
export { REPO_ROOT, WAIT_MS, glosaBin, waitFor };

/**
 * The memory bound every test asserts. The server idles at a few tens of
 * MB; hostile input must not take it anywhere near this.
 */
export const RSS_LIMIT_MB = 300;

/** One glosa server on a temp copy of content/ plus `extraFiles` ({name: string | Buffer}). */
export class Server extends GlosaServer {
  /** A started server on a fresh root. */
  static async start({ extraFiles = {} } = {}) {
    const s = await this.create({ prefix: "glosa-hostile-", extraFiles });
    await s.start();
    return s;
  }

  /** Asserts the process lives, answers /healthz and stays under the memory bound. */
  async assertFine(what) {
    assert.ok(this.running, `server alive after ${what}\n${this.logTail(3000)}`);
    assert.equal((await this.get("/healthz")).status, 200, `healthz after ${what}`);
    const rss = this.rssMB();
    assert.ok(rss < RSS_LIMIT_MB, `server RSS ${rss.toFixed(0)} MB after ${what} (limit ${RSS_LIMIT_MB} MB)`);
    return rss;
  }

  async library() {
    return this.getJson("/api/library");
  }

  kill() {
    if (this.running) this.proc.kill("SIGKILL");
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
