import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { cbor, type PeerId } from "@automerge/automerge-repo/slim";
import { backoffDelay, ReconnectingSocket } from "../src/sync/socket";
import { SyncPlan } from "../src/sync/plan";

/** A fake browser WebSocket: tests open/close it and inspect what was sent. */
class FakeSocket extends EventTarget {
  static OPEN = 1;
  static all: FakeSocket[] = [];
  readyState = 0;
  binaryType = "";
  sent: unknown[] = [];
  constructor(public url: string) {
    super();
    FakeSocket.all.push(this);
  }
  send(data: ArrayBuffer) {
    this.sent.push(cbor.decode(new Uint8Array(data)));
  }
  close() {
    if (this.readyState === 3) return;
    this.readyState = 3;
    this.dispatchEvent(new Event("close"));
  }
  open() {
    this.readyState = 1;
    this.dispatchEvent(new Event("open"));
  }
  receive(msg: object) {
    const bytes = cbor.encode(msg);
    const ev = new MessageEvent("message", { data: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) });
    this.dispatchEvent(ev);
  }
}

// A fresh window per test, so adapters of earlier tests hear nothing.
let win = new EventTarget();

beforeEach(() => {
  win = new EventTarget();
  vi.useFakeTimers();
  FakeSocket.all = [];
  vi.stubGlobal("WebSocket", FakeSocket);
  vi.stubGlobal("addEventListener", win.addEventListener.bind(win));
  vi.stubGlobal("removeEventListener", win.removeEventListener.bind(win));
  vi.stubGlobal("document", Object.assign(new EventTarget(), { visibilityState: "visible" }));
});

afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

describe("backoffDelay", () => {
  it("grows exponentially from 1 s to a 30 s cap, with jitter", () => {
    expect(backoffDelay(0, 1)).toBe(1000);
    expect(backoffDelay(0, 0)).toBe(500);
    expect(backoffDelay(3, 1)).toBe(8000);
    expect(backoffDelay(10, 1)).toBe(30000);
    expect(backoffDelay(50, 1)).toBe(30000);
  });
});

describe("ReconnectingSocket", () => {
  it("joins, reports the server as a peer, and passes messages on", () => {
    const s = new ReconnectingSocket("ws://x/sync");
    const events: string[] = [];
    s.on("peer-candidate", ({ peerId }) => events.push(`peer ${peerId}`));
    s.on("message", (m) => events.push(`message ${m.type}`));
    s.connect("me" as PeerId, {});
    const ws = FakeSocket.all[0]!;
    ws.open();
    expect(ws.sent[0]).toMatchObject({ type: "join", senderId: "me", supportedProtocolVersions: ["1"] });
    ws.receive({ type: "peer", senderId: "server", peerMetadata: {} });
    ws.receive({ type: "sync", senderId: "server", targetId: "me", documentId: "d", data: new Uint8Array([1]) });
    expect(events).toEqual(["peer server", "message sync"]);
    expect(s.isReady()).toBe(true);
  });

  it("asks the change feed before the repo hears of the server, and hands the answer to the plan", () => {
    const plan = new SyncPlan(null);
    plan.changes({ token: "e.3", all: false, documentIds: [] });
    const s = new ReconnectingSocket("ws://x/sync", plan);
    const order: string[] = [];
    s.on("peer-candidate", () => order.push(`peer after ${(FakeSocket.all[0]!.sent.at(-1) as { type: string }).type}`));
    s.on("message", (m) => order.push(`message ${m.type}`));
    s.connect("me" as PeerId, {});
    const ws = FakeSocket.all[0]!;
    ws.open();
    ws.receive({ type: "peer", senderId: "server", peerMetadata: {} });
    expect(ws.sent[1]).toEqual({ type: "glosa-since", senderId: "me", since: "e.3" });
    ws.receive({ type: "glosa-changes", senderId: "server", targetId: "me", token: "e.7", all: false, documentIds: ["d1", 5] });
    expect(plan.token()).toBe("e.7");
    expect(plan.shouldSync("d1", ["h"])).toBe(true);
    // The feed is Glosa's, not the repo's.
    expect(order).toEqual(["peer after glosa-since"]);
  });

  it("opens no socket before its gate (the first install's bundle) opens", async () => {
    let open!: () => void;
    const s = new ReconnectingSocket("ws://x/sync", null, new Promise<void>((r) => (open = r)));
    s.connect("me" as PeerId, {});
    win.dispatchEvent(new Event("online"));
    expect(FakeSocket.all).toHaveLength(0);
    open();
    await Promise.resolve();
    expect(FakeSocket.all).toHaveLength(1);
  });

  it("reconnects with backoff after the connection drops, and at once when the network returns", () => {
    const s = new ReconnectingSocket("ws://x/sync");
    const events: string[] = [];
    s.on("peer-disconnected", ({ peerId }) => events.push(`gone ${peerId}`));
    s.connect("me" as PeerId, {});
    FakeSocket.all[0]!.open();
    FakeSocket.all[0]!.receive({ type: "peer", senderId: "server", peerMetadata: {} });
    FakeSocket.all[0]!.close();
    expect(events).toEqual(["gone server"]);
    expect(FakeSocket.all).toHaveLength(1);
    vi.advanceTimersByTime(1000);
    expect(FakeSocket.all).toHaveLength(2); // first retry within 1 s
    FakeSocket.all[1]!.close(); // still down
    vi.advanceTimersByTime(999);
    expect(FakeSocket.all).toHaveLength(2); // second retry waits longer (1–2 s)
    vi.advanceTimersByTime(1001);
    expect(FakeSocket.all).toHaveLength(3);
    FakeSocket.all[2]!.close();
    // The network comes back: no waiting for the timer.
    win.dispatchEvent(new Event("online"));
    expect(FakeSocket.all).toHaveLength(4);
  });

  it("drops the connection when the browser goes offline, and stops after disconnect()", () => {
    const s = new ReconnectingSocket("ws://x/sync");
    const events: string[] = [];
    s.on("peer-disconnected", () => events.push("gone"));
    s.connect("me" as PeerId, {});
    FakeSocket.all[0]!.open();
    FakeSocket.all[0]!.receive({ type: "peer", senderId: "server", peerMetadata: {} });
    win.dispatchEvent(new Event("offline"));
    expect(events).toEqual(["gone"]);
    expect(FakeSocket.all[0]!.readyState).toBe(3);
    s.disconnect();
    vi.advanceTimersByTime(120_000);
    win.dispatchEvent(new Event("online"));
    expect(FakeSocket.all).toHaveLength(1);
  });

  it("abandons a socket that never opens", () => {
    const s = new ReconnectingSocket("ws://x/sync");
    s.connect("me" as PeerId, {});
    vi.advanceTimersByTime(20_000);
    expect(FakeSocket.all[0]!.readyState).toBe(3);
    vi.advanceTimersByTime(1000);
    expect(FakeSocket.all).toHaveLength(2);
  });
});
