/**
 * The WebSocket network adapter for automerge-repo, speaking the stock
 * protocol (join / peer / CBOR messages, protocol "1") to the server's
 * `/sync`.
 *
 * Why not the stock BrowserWebSocketClientAdapter: it retries on a fixed
 * 5 s interval forever, and never notices that the phone came back online
 * until the next tick; it also leaves a half-open socket alone when the
 * network drops. This one reconnects with jittered exponential backoff
 * (1 s → 30 s), retries at once on the `online` event or when the page
 * becomes visible, and drops the socket on `offline`, so the status is
 * honest and reconnection is quick when the signal returns.
 */
import { NetworkAdapter, cbor, type Message, type PeerId, type PeerMetadata } from "@automerge/automerge-repo/slim";
import type { ChangesMessage, SyncPlan } from "./plan";

const PROTOCOL_V1 = "1";
const MIN_DELAY = 1_000;
const MAX_DELAY = 30_000;
/** A socket that has not opened by then is abandoned (bad 3G can hang). */
const OPEN_TIMEOUT = 20_000;

export function backoffDelay(attempt: number, random: number): number {
  const base = Math.min(MAX_DELAY, MIN_DELAY * 2 ** Math.min(attempt, 10));
  return Math.round(base * (0.5 + random / 2));
}

export class ReconnectingSocket extends NetworkAdapter {
  readonly url: string;
  #socket: WebSocket | null = null;
  #remotePeerId: PeerId | null = null;
  #attempt = 0;
  #retry: ReturnType<typeof setTimeout> | null = null;
  #openTimer: ReturnType<typeof setTimeout> | null = null;
  #stopped = false;
  #ready = false;
  #readyResolve: (() => void) | null = null;
  #readyPromise = new Promise<void>((r) => (this.#readyResolve = r));

  #plan: SyncPlan | null;
  /** No socket opens before this resolves (the first install's bundle). */
  #gateOpen: boolean;
  #gate: Promise<void> | null;

  constructor(url: string, plan: SyncPlan | null = null, gate: Promise<void> | null = null) {
    super();
    this.url = url;
    this.#plan = plan;
    this.#gate = gate;
    this.#gateOpen = gate === null;
  }

  isReady(): boolean {
    return this.#ready;
  }

  whenReady(): Promise<void> {
    return this.#readyPromise;
  }

  #markReady() {
    if (this.#ready) return;
    this.#ready = true;
    this.#readyResolve?.();
  }

  connect(peerId: PeerId, peerMetadata?: PeerMetadata): void {
    this.peerId = peerId;
    this.peerMetadata = peerMetadata ?? {};
    this.#stopped = false;
    // Don't hold the repo up when offline: after a second, documents not in
    // IndexedDB may be reported unavailable (the stock adapter does the same).
    setTimeout(() => this.#markReady(), 1000);
    addEventListener("online", this.#nudge);
    addEventListener("offline", this.#drop);
    document.addEventListener("visibilitychange", this.#onVisible);
    if (this.#gate) {
      void this.#gate.then(() => {
        this.#gateOpen = true;
        this.#open();
      });
    } else this.#open();
  }

  /** Reconnect now (the network is back, or the page is visible again). */
  #nudge = () => {
    if (this.#stopped || this.#socket) return;
    this.#attempt = 0;
    this.#open();
  };

  #onVisible = () => {
    if (document.visibilityState === "visible") this.#nudge();
  };

  /** The browser says the network is gone: don't wait for TCP to notice. */
  #drop = () => {
    this.#socket?.close();
    this.#closed(this.#socket);
  };

  #open() {
    if (this.#retry) clearTimeout(this.#retry);
    this.#retry = null;
    if (this.#stopped || this.#socket || !this.#gateOpen) return;
    let ws: WebSocket;
    try {
      ws = new WebSocket(this.url);
    } catch {
      this.#schedule();
      return;
    }
    ws.binaryType = "arraybuffer";
    this.#socket = ws;
    this.#openTimer = setTimeout(() => {
      if (ws.readyState !== WebSocket.OPEN) {
        ws.close();
        this.#closed(ws);
      }
    }, OPEN_TIMEOUT);
    ws.addEventListener("open", () => {
      if (this.#openTimer) clearTimeout(this.#openTimer);
      this.#attempt = 0;
      this.#sendRaw({
        type: "join",
        senderId: this.peerId,
        peerMetadata: this.peerMetadata,
        supportedProtocolVersions: [PROTOCOL_V1],
      });
    });
    ws.addEventListener("message", (e: MessageEvent) => this.#receive(e.data));
    ws.addEventListener("close", () => this.#closed(ws));
    // "error" is always followed by "close"; nothing to do here.
  }

  #closed(ws: WebSocket | null) {
    if (!ws || this.#socket !== ws) return;
    if (this.#openTimer) clearTimeout(this.#openTimer);
    this.#socket = null;
    if (this.#remotePeerId) {
      const peerId = this.#remotePeerId;
      this.#remotePeerId = null;
      this.emit("peer-disconnected", { peerId });
    }
    this.#schedule();
  }

  #schedule() {
    if (this.#stopped || this.#retry) return;
    const delay = backoffDelay(this.#attempt++, Math.random());
    this.#retry = setTimeout(() => this.#open(), delay);
  }

  #receive(data: unknown) {
    if (!(data instanceof ArrayBuffer) || data.byteLength === 0) return;
    let msg: { type?: string; senderId?: PeerId; peerMetadata?: PeerMetadata; message?: string } & Partial<ChangesMessage>;
    try {
      msg = cbor.decode(new Uint8Array(data)) as typeof msg;
    } catch {
      return;
    }
    if (msg.type === "peer" && msg.senderId) {
      this.#markReady();
      this.#remotePeerId = msg.senderId;
      if (this.#plan) {
        this.#plan.connected();
        const since = this.#plan.token();
        this.#sendRaw({ type: "glosa-since", senderId: this.peerId, ...(since ? { since } : {}) });
      }
      this.emit("peer-candidate", { peerId: msg.senderId, peerMetadata: msg.peerMetadata ?? {} });
    } else if (msg.type === "glosa-changes") {
      if (typeof msg.token === "string" && Array.isArray(msg.documentIds)) {
        const documentIds = msg.documentIds.filter((d): d is string => typeof d === "string");
        this.#plan?.changes({ token: msg.token, all: msg.all === true, documentIds });
      }
    } else if (msg.type === "error") {
      console.warn("sync server error:", msg.message);
    } else {
      this.emit("message", msg as unknown as Message);
    }
  }

  #sendRaw(msg: object) {
    const ws = this.#socket;
    if (!ws || ws.readyState !== WebSocket.OPEN) return;
    const bytes = cbor.encode(msg);
    ws.send(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
  }

  send(message: Message): void {
    if ("data" in message && message.data?.byteLength === 0) throw new Error("Tried to send a zero-length message");
    // Dropped when disconnected: the repo re-syncs every document on reconnect.
    this.#sendRaw(message);
  }

  disconnect(): void {
    this.#stopped = true;
    if (this.#retry) clearTimeout(this.#retry);
    removeEventListener("online", this.#nudge);
    removeEventListener("offline", this.#drop);
    document.removeEventListener("visibilitychange", this.#onVisible);
    const ws = this.#socket;
    this.#closed(ws);
    ws?.close();
  }
}
