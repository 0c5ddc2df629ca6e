/**
 * Feeds the header's sync status from the repo: connection events, which
 * documents the server has spoken about since we connected, and how each
 * document's heads compare with the heads the server last acknowledged
 * (automerge-repo records those per server storage id in
 * `handle.getSyncInfo`; the notes also keep them across reloads). The
 * decision itself is the pure `syncState`.
 */
import { Automerge, decodeHeads, type DocHandle, type DocumentId, type PeerId, type Repo, type StorageId, type UrlHeads } from "@automerge/automerge-repo/slim";
import { compareHeads, syncState, type DocSync } from "../status";
import { loadServerHeads, storeLastSynced, type Store } from "../store";
import type { SyncPlan } from "./plan";

export class StatusTracker {
  #repo: Repo;
  #store: Store;
  #server: PeerId | null = null;
  #serverStorage: StorageId | null = null;
  #since: number | null = null;
  #heard = new Set<DocumentId>();
  #watched = new Set<DocHandle<unknown>>();
  #timer: ReturnType<typeof setTimeout> | null = null;
  #connectListeners = new Set<() => void>();
  #lastStored = 0;

  #plan: SyncPlan;

  constructor(repo: Repo, store: Store, plan: SyncPlan) {
    this.#repo = repo;
    this.#store = store;
    this.#plan = plan;
    const net = repo.networkSubsystem;
    net.on("peer", ({ peerId }) => {
      this.#server = peerId;
      this.#serverStorage = repo.getStorageIdOfPeer(peerId) ?? this.#serverStorage;
      this.#since = Date.now();
      this.#heard.clear();
      this.schedule();
      for (const cb of this.#connectListeners) cb();
    });
    net.on("peer-disconnected", ({ peerId }) => {
      if (peerId !== this.#server) return;
      this.#server = null;
      this.#since = null;
      this.schedule();
    });
    net.on("message", (m) => {
      if ("documentId" in m && m.senderId === this.#server && m.documentId) this.#heard.add(m.documentId);
      this.schedule();
    });
    repo.synchronizer.on("sync-state", () => this.schedule());
    // Re-evaluates the grace period and the "last synced" clock.
    setInterval(() => this.schedule(), 3000);
    this.schedule();
  }

  connected(): boolean {
    return this.#server !== null;
  }

  onConnect(cb: () => void): () => void {
    this.#connectListeners.add(cb);
    return () => this.#connectListeners.delete(cb);
  }

  /** Follows `handle`; false if it already did. */
  watch(handle: DocHandle<unknown>): boolean {
    if (this.#watched.has(handle)) return false;
    this.#watched.add(handle);
    handle.on("heads-changed", () => this.schedule());
    this.schedule();
    return true;
  }

  schedule(): void {
    if (this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#update();
    }, 150);
  }

  #update() {
    const sid = this.#serverStorage;
    const docs: DocSync[] = [];
    for (const h of this.#watched) {
      if (!h.isReady()) continue;
      // A document the server's change feed vouches for is the same there.
      if (this.#plan.confirmed(h.documentId, h.heads())) {
        docs.push({ relation: "same", heard: true });
        continue;
      }
      // After an offline reload the repo knows no server yet: fall back to
      // the heads the notes remembered, so unsent notes show as waiting.
      const remote: UrlHeads | undefined =
        (sid ? h.getSyncInfo(sid)?.lastHeads : undefined) ?? loadServerHeads(h.documentId) ?? undefined;
      const relation = compareHeads(h.heads(), remote, (hs) => {
        try {
          return Automerge.hasHeads(h.doc(), decodeHeads(hs as UrlHeads));
        } catch {
          return false;
        }
      });
      docs.push({ relation, heard: this.#heard.has(h.documentId) });
    }
    const now = Date.now();
    const state = syncState({ connected: this.#server !== null, connectedSince: this.#since, now, docs });
    const patch: Parameters<Store["set"]>[0] = { sync: state };
    if (state === "synced") {
      patch.lastSynced = now;
      if (now - this.#lastStored > 10_000) {
        this.#lastStored = now;
        storeLastSynced(now);
      }
    }
    this.#store.set(patch);
  }
}
