/**
 * A tiny observable for the state the header and the views share: sync
 * status, offline-save progress, storage. No framework store: the entry
 * chunk must stay small.
 */
import { useEffect, useState } from "preact/hooks";
import type { SyncState } from "./status";
import type { Progress } from "./progress";
import type { UrlHeads } from "@automerge/automerge-repo/slim";

export interface AppState {
  /** "starting" until automerge and the repo are up. */
  sync: SyncState | "starting";
  lastSynced: number | null;
  progress: Progress | null;
  /** Bytes used by this origin, and whether storage is persistent. */
  storage: { used: number; persisted: boolean | null } | null;
  /** A problem the reader should know about (e.g. the wasm failed to load). */
  problem: string | null;
}

type Listener = (s: AppState) => void;

export class Store {
  #state: AppState;
  #listeners = new Set<Listener>();
  constructor(initial: AppState) {
    this.#state = initial;
  }
  get(): AppState {
    return this.#state;
  }
  set(patch: Partial<AppState>): void {
    let changed = false;
    for (const k of Object.keys(patch) as (keyof AppState)[]) {
      if (this.#state[k] !== patch[k]) changed = true;
    }
    if (!changed) return;
    this.#state = { ...this.#state, ...patch };
    for (const l of this.#listeners) l(this.#state);
  }
  subscribe(l: Listener): () => void {
    this.#listeners.add(l);
    return () => this.#listeners.delete(l);
  }
}

export function useStore(store: Store): AppState {
  const [s, setS] = useState(store.get());
  useEffect(() => {
    setS(store.get());
    return store.subscribe(setS);
  }, [store]);
  return s;
}

const LAST_SYNCED = "glosa.lastSynced";

export function loadLastSynced(): number | null {
  try {
    const v = Number(localStorage.getItem(LAST_SYNCED));
    return Number.isFinite(v) && v > 0 ? v : null;
  } catch {
    return null;
  }
}

export function storeLastSynced(t: number): void {
  try {
    localStorage.setItem(LAST_SYNCED, String(t));
  } catch {
    /* only a display hint */
  }
}

/**
 * The server's heads of each document as last heard. The repo learns them
 * only once connected; after an offline reload the "not yet synced" marks
 * and the header's "changes waiting" need them.
 */
const SERVER_HEADS = "glosa.serverHeads.";

export function loadServerHeads(documentId: string): UrlHeads | null {
  try {
    const v: unknown = JSON.parse(localStorage.getItem(SERVER_HEADS + documentId) ?? "null");
    return Array.isArray(v) && v.every((h) => typeof h === "string") ? (v as UrlHeads) : null;
  } catch {
    return null;
  }
}

export function storeServerHeads(documentId: string, heads: UrlHeads): void {
  try {
    localStorage.setItem(SERVER_HEADS + documentId, JSON.stringify(heads));
  } catch {
    /* marks after an offline reload may be pessimistic: harmless */
  }
}
