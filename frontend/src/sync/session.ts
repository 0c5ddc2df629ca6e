/**
 * Everything that needs automerge: loaded lazily after first paint (this
 * module and its imports are a separate chunk; the wasm is a separate
 * hashed file fetched by initializeWasm, precached by the service worker).
 */
import wasmUrl from "@automerge/automerge/automerge.wasm?url";
import {
  Repo,
  encodeHeads,
  initializeWasm,
  type AutomergeUrl,
  type DocHandle,
  type DocumentId,
  type UrlHeads,
} from "@automerge/automerge-repo/slim";
import { IndexedDBStorageAdapter } from "@automerge/automerge-repo-storage-indexeddb";
import { ReconnectingSocket } from "./socket";
import { SyncPlan } from "./plan";
import { fetchBundle, installBundle } from "./bundle";
import { loadSaved } from "../progress";
import { StatusTracker } from "./tracker";
import type { Store } from "../store";

export interface Session {
  repo: Repo;
  /** Finds a document (IndexedDB first, then the server) and tracks its sync status. */
  find<T>(url: string, signal?: AbortSignal): Promise<DocHandle<T>>;
  /** Runs `cb` each time the connection to the server is (re)established. */
  onConnect(cb: () => void): () => void;
  connected(): boolean;
  /** Makes sure a document's current state is written to IndexedDB. */
  flush(ids: DocumentId[]): Promise<void>;
}

export function syncUrl(loc: Location = location): string {
  return `${loc.protocol === "https:" ? "wss:" : "ws:"}//${loc.host}/sync`;
}

export async function openSession(store: Store): Promise<Session> {
  const plan = new SyncPlan(localStorageOrNull());
  // A first install: the library comes in one download, fetched while the
  // wasm compiles; the socket waits for it, so it asks only what changed since.
  const firstInstall = plan.token() === null && Object.keys(loadSaved()).length === 0;
  const download = firstInstall ? fetchBundle() : Promise.resolve(null);
  await initializeWasm(wasmUrl);
  let bundled!: () => void;
  const gate = new Promise<void>((r) => (bundled = r));
  const repo: Repo = new Repo({
    storage: new IndexedDBStorageAdapter("glosa", "documents"),
    network: [new ReconnectingSocket(syncUrl(), plan, gate)],
    shareConfig: {
      // Sync with the server only what the plan says may differ.
      announce: async (_peer, documentId) => {
        if (!documentId) return true;
        // Not clean at any heads: no need to wait for IndexedDB to decide.
        if (!plan.isRecorded(documentId)) return plan.shouldSync(documentId, null);
        return plan.shouldSync(documentId, await loadedHeads(repo, documentId));
      },
      access: async () => true,
    },
  });
  plan.onDirty = () => repo.shareConfigChanged();
  followPlan(repo, plan);
  try {
    const buf = await download;
    if (buf) await installBundle(repo, plan, buf);
  } catch (err) {
    console.warn("the library bundle could not be used; syncing document by document", err);
  } finally {
    bundled();
  }
  const tracker = new StatusTracker(repo, store, plan);
  return {
    repo,
    async find<T>(url: string, signal?: AbortSignal) {
      const handle = await repo.find<T>(url as AutomergeUrl, signal ? { signal } : {});
      if (tracker.watch(handle)) {
        // Ready now, so this is an edit or a sync, not the load from IndexedDB.
        handle.on("heads-changed", () => plan.changed(handle.documentId));
      }
      return handle;
    },
    onConnect: (cb) => tracker.onConnect(cb),
    connected: () => tracker.connected(),
    flush: (ids) => repo.flush(ids),
  };
}

/** Tells the plan what the server says about each document. */
function followPlan(repo: Repo, plan: SyncPlan) {
  repo.networkSubsystem.on("message", (m) => {
    if ("documentId" in m && m.documentId) plan.heard(m.documentId);
  });
  repo.synchronizer.on("sync-state", ({ documentId, syncState }) => {
    const theirs = syncState.theirHeads;
    if (!theirs) return;
    // Emitted while the message is being applied: read our heads after.
    queueMicrotask(() => {
      const handle = repo.handles[documentId];
      if (handle?.isReady()) plan.synced(documentId, handle.heads(), encodeHeads(theirs));
    });
  });
}

/**
 * The heads of a document this phone holds, null if it has none. The repo
 * asks about a document as soon as it is looked for, before IndexedDB has
 * answered: wait for that, or every document would look missing. (Only for
 * documents the plan has recorded clean: waiting on one that must be
 * fetched would let the repo give up on it as unavailable meanwhile.)
 */
async function loadedHeads(repo: Repo, documentId: DocumentId): Promise<UrlHeads | null> {
  const handle = repo.handles[documentId];
  if (!handle) return null;
  try {
    await handle.whenReady(["ready", "requesting", "unavailable", "unloaded", "deleted"]);
  } catch {
    return null; // timed out: sync it
  }
  return handle.isReady() ? handle.heads() : null;
}

function localStorageOrNull(): Storage | null {
  try {
    return localStorage;
  } catch {
    return null;
  }
}
