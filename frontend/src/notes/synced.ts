/**
 * Which notes the server has: the "not yet synced" marks.
 *
 * automerge-repo records, per document and per remote storage id, the heads
 * the peer last told us it has (`DocHandle.getSyncInfo`, event
 * `remote-heads`, set from the sync state after every sync message). Our only
 * peer is the server, so those are the server's heads. The document as of
 * those heads (`Automerge.view`) is the server's copy; a note is synced when
 * that copy holds it with the same text and deleted flag (model.unsyncedIds).
 *
 * The repo only learns the server's heads once it is connected, so the last
 * heads are also kept in localStorage (`store.ts`): after an offline reload
 * the marks are still right (the server had what it had).
 */
import { Automerge, decodeHeads, type DocHandle, type Repo, type UrlHeads } from "@automerge/automerge-repo/slim";
import { loadServerHeads, storeServerHeads } from "../store";
import { readNotes, unsyncedIds, type Note, type RawNotesDoc } from "./model";

export class ServerCopy {
  #handle: DocHandle<RawNotesDoc>;
  #heads: UrlHeads | null = null;
  #cache: { key: string; server: Note[] | null } | null = null;
  #onChange: () => void;

  constructor(handle: DocHandle<RawNotesDoc>, repo: Repo, onChange: () => void) {
    this.#handle = handle;
    this.#onChange = onChange;
    this.#heads = this.#load();
    for (const peer of repo.peers) {
      const sid = repo.getStorageIdOfPeer(peer);
      const heads = sid ? handle.getSyncInfo(sid)?.lastHeads : undefined;
      if (heads) this.#set(heads);
    }
    handle.on("remote-heads", ({ heads }) => {
      this.#set(heads);
      this.#onChange();
    });
  }

  #load(): UrlHeads | null {
    return loadServerHeads(this.#handle.documentId);
  }

  #set(heads: UrlHeads) {
    this.#heads = heads;
    storeServerHeads(this.#handle.documentId, heads);
  }

  /** The notes as the server has them; null when unknown. */
  #server(): Note[] | null {
    const heads = this.#heads;
    if (!heads) return null;
    const doc = this.#handle.doc();
    const key = heads.join(",");
    if (this.#cache?.key === key) return this.#cache.server;
    let decoded;
    try {
      decoded = decodeHeads(heads);
    } catch {
      return null;
    }
    // The server has changes we have not received yet: its copy cannot be
    // built here. Keep the last answer until they arrive (moments later).
    if (!Automerge.hasHeads(doc, decoded)) return this.#cache?.server ?? null;
    const server = readNotes(Automerge.view(doc, decoded) as RawNotesDoc);
    this.#cache = { key, server };
    return server;
  }

  /** The server's last known heads (for the list's data attributes and tests). */
  heads(): readonly string[] {
    return this.#heads ?? [];
  }

  /** Ids of the notes and replies ("note/reply") the server lacks in their current state. */
  unsynced(current: readonly Note[]): Set<string> {
    return unsyncedIds(current, this.#server());
  }
}
