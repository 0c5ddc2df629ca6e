// Protocol hygiene: a bad frame closes that connection and nothing else.

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import WebSocket from "ws";
import { cbor } from "@automerge/automerge-repo";
import { EXTRA_SLUG, WAIT_MS, addNote, serverTest, libraryEntry, waitFor } from "./lib.mjs";

/** Open a raw WebSocket to /sync; resolves once open. Records close and errors. */
async function rawSocket(url) {
  const ws = new WebSocket(url);
  const state = { ws, closed: null, errors: [], messages: [] };
  ws.on("error", (e) => state.errors.push(e.message)); // EPIPE/ECONNRESET when the server cuts us off mid-send
  ws.on("close", (code, reason) => {
    state.closed = { code, reason: reason.toString() };
  });
  ws.on("message", (data, isBinary) => state.messages.push({ data, isBinary }));
  await waitFor(() => ws.readyState === WebSocket.OPEN || state.closed, { what: "a raw socket to open" });
  assert.equal(ws.readyState, WebSocket.OPEN, "raw socket opened");
  return state;
}

/** A valid automerge-repo join, and wait for the server's `peer` answer. */
async function join(state) {
  const senderId = `raw-${Math.random().toString(36).slice(2)}`;
  state.ws.send(cbor.encode({ type: "join", senderId, peerMetadata: {}, supportedProtocolVersions: ["1"] }));
  const peer = await waitFor(
    () => state.messages.map((m) => cbor.decode(new Uint8Array(m.data))).find((m) => m.type === "peer"),
    { what: "the server's peer message" },
  );
  assert.equal(peer.targetId, senderId);
}

serverTest("text, garbage and oversized frames close only their own connection", { timeout: 300_000 }, async (h, t) => {
  const { entry } = await libraryEntry(h.server, EXTRA_SLUG);

  // A healthy client, connected before the abuse and kept open through it.
  const healthy = await h.client("healthy");
  const article = (await healthy.find(entry.url)).doc();
  const notes = await healthy.find(entry.notes);

  const cases = [
    { name: "a text frame", join: false, send: (ws) => ws.send("hello, I am text") },
    { name: "a text frame after join", join: true, send: (ws) => ws.send('{"type":"join"}') },
    // 0xff is CBOR's "break" code: not a valid start of any message.
    { name: "garbage binary", join: false, send: (ws) => ws.send(Buffer.concat([Buffer.from([0xff, 0xfe, 0xfd]), randomBytes(61)])) },
    { name: "garbage binary after join", join: true, send: (ws) => ws.send(Buffer.concat([Buffer.from([0xff]), randomBytes(200)])) },
    { name: "an oversized frame (10 MiB + 1)", join: true, send: (ws) => ws.send(Buffer.alloc(10 * 1024 * 1024 + 1, 7)) },
  ];
  for (const c of cases) {
    const s = await rawSocket(h.server.wsUrl);
    if (c.join) await join(s);
    c.send(s.ws);
    await waitFor(() => s.closed, { timeout: WAIT_MS, what: `the server to close the connection after ${c.name}` });
    t.diagnostic(`${c.name}: closed with ${JSON.stringify(s.closed)}${s.errors.length ? ` errors ${s.errors}` : ""}`);
    assert.ok(await h.server.healthy(), `server healthy after ${c.name}`);
    assert.ok(h.server.running, `server process alive after ${c.name}`);
  }

  // The healthy client's connection was never dropped, and it still syncs.
  assert.equal(healthy.disconnects, 0, "the healthy client was never disconnected");

  // /metrics counted it all: every abusive connection refused, the healthy
  // one still open, its messages both ways.
  const metrics = await h.server.get("/metrics");
  assert.equal(metrics.status, 200);
  const value = (name) => Number(new RegExp(`^${name} (\\d+)$`, "m").exec(metrics.text)?.[1]);
  assert.equal(value("glosa_sync_connections_refused_total"), cases.length, metrics.text);
  assert.ok(value("glosa_sync_connections") >= 1, metrics.text);
  assert.ok(value("glosa_sync_connections_total") >= cases.length + 1, metrics.text);
  for (const name of ["glosa_sync_messages_received_total", "glosa_sync_messages_sent_total", "glosa_sync_received_bytes_total", "glosa_sync_sent_bytes_total"]) {
    assert.ok(value(name) > 0, `${name} in\n${metrics.text}`);
  }
  const id = addNote(notes, article, { text: "still here", start: 0, end: 3 });
  await healthy.serverHasAll(notes, "the server to take the healthy client's note");
  const fresh = await h.client("fresh");
  const fn = await fresh.find(entry.notes);
  await waitFor(() => fn.doc().notes?.[id], { what: "a fresh client to see the healthy client's note" });
});
