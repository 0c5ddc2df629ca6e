/**
 * Everything that needs automerge: loaded lazily after first paint (this
 * module and its imports are a separate chunk; the wasm is a separate
 * hashed file fetched by initializeWasm, precached by the service worker).
 */
import wasmUrl from "@automerge/automerge/automerge.wasm?url";
import {
  Repo,
  initializeWasm,
  type AutomergeUrl,
  type DocHandle,
  type DocumentId,
} from "@automerge/automerge-repo/slim";
import { IndexedDBStorageAdapter } from "@automerge/automerge-repo-storage-indexeddb";
import { ReconnectingSocket } from "./socket";
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
  await initializeWasm(wasmUrl);
  const repo = new Repo({
    storage: new IndexedDBStorageAdapter("glosa", "documents"),
    network: [new ReconnectingSocket(syncUrl())],
  });
  const tracker = new StatusTracker(repo, store);
  return {
    repo,
    async find<T>(url: string, signal?: AbortSignal) {
      const handle = await repo.find<T>(url as AutomergeUrl, signal ? { signal } : {});
      tracker.watch(handle);
      return handle;
    },
    onConnect: (cb) => tracker.onConnect(cb),
    connected: () => tracker.connected(),
    flush: (ids) => repo.flush(ids),
  };
}
