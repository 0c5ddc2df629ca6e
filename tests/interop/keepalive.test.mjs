// A phone that vanishes (no FIN, no close: a bus into a tunnel) must not
// hold its socket forever. The server pings every 15 s and closes a
// connection it has heard nothing from for 40 s; a quiet but healthy
// client answers the pings and stays.

import assert from "node:assert/strict";
import WebSocket from "ws";
import { cbor } from "@automerge/automerge-repo";
import { serverTest, waitFor } from "./lib.mjs";

function open(url, { autoPong }) {
  const ws = new WebSocket(url, { autoPong });
  const state = { ws, closedAt: null, pings: 0 };
  ws.on("ping", () => state.pings++);
  ws.on("close", () => {
    state.closedAt = Date.now();
  });
  ws.on("error", () => {});
  return state;
}

serverTest("a silent client is closed within a minute; a quiet healthy one stays", { timeout: 180_000 }, async (h) => {
  const url = h.server.wsUrl;
  // Dead: joins, then answers nothing, not even pings.
  const dead = open(url, { autoPong: false });
  // Healthy: joins, sends nothing more, but its WebSocket answers pings.
  const alive = open(url, { autoPong: true });
  for (const s of [dead, alive]) {
    await waitFor(() => s.ws.readyState === WebSocket.OPEN, { what: "socket open" });
    s.ws.send(
      cbor.encode({ type: "join", senderId: `ka-${Math.random()}`, peerMetadata: {}, supportedProtocolVersions: ["1"] }),
    );
  }
  const start = Date.now();
  await waitFor(() => dead.closedAt !== null, { timeout: 90_000, interval: 250, what: "the server to close the silent client" });
  const after = dead.closedAt - start;
  assert.ok(after < 60_000, `closed after ${after} ms, within a minute`);
  assert.ok(dead.pings >= 1, "the server pinged before giving up");
  assert.ok(alive.pings >= 1, "the healthy client was pinged too");
  assert.equal(alive.closedAt, null, "the healthy client is still connected");
  assert.equal(alive.ws.readyState, WebSocket.OPEN);
  assert.match(h.server.log, /no frame from the client/, "the reason is logged");
  alive.ws.close();
});
