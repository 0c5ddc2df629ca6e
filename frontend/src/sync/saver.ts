/**
 * Background save of the whole library to IndexedDB: for every listed
 * article, its article doc and its notes doc are found (from the server if
 * this device lacks them) and flushed to storage. Progress goes to the store
 * and the per-slug marks to localStorage. Runs on every visit (cheap when
 * everything is already stored), again on every reconnection, and again when
 * the library doc changes (a new article).
 */
import type { DocHandle } from "@automerge/automerge-repo/slim";
import { loadSaved, progress, prune, storeSaved, type SavedMap } from "../progress";
import { noteCount, type LibraryEntry, type NotesDoc } from "../types";
import type { Session } from "./session";
import type { Store } from "../store";

/** How long to wait for one document from the server before moving on. */
const FIND_TIMEOUT = 60_000;

export class Saver {
  #session: Session;
  #store: Store;
  #entries: LibraryEntry[] = [];
  #saved: SavedMap = loadSaved();
  #running = false;
  #again = false;
  #noteCounts = new Map<string, number>();
  onNotes: ((counts: Map<string, number>) => void) | null = null;
  /** Called after each article is saved, with the current marks. */
  onSaved: ((saved: SavedMap) => void) | null = null;

  constructor(session: Session, store: Store) {
    this.#session = session;
    this.#store = store;
    session.onConnect(() => this.run(this.#entries));
  }

  saved(): SavedMap {
    return this.#saved;
  }

  run(entries: LibraryEntry[]): void {
    this.#entries = entries;
    this.#saved = prune(this.#saved, entries);
    this.#publish();
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = true;
    void this.#loop().finally(() => {
      this.#running = false;
      if (this.#again) {
        this.#again = false;
        this.run(this.#entries);
      } else void this.#reportStorage();
    });
  }

  async #loop() {
    // Articles not yet saved first, so a fresh phone fills up quickly.
    const order = [...this.#entries].sort(
      (a, b) => Number(this.#saved[a.slug] === a.url) - Number(this.#saved[b.slug] === b.url),
    );
    for (const e of order) {
      if (this.#again) return;
      try {
        const signal = AbortSignal.timeout(FIND_TIMEOUT);
        const [article, notes] = await Promise.all([
          this.#session.find(e.url, signal),
          e.notes ? this.#session.find<NotesDoc>(e.notes, signal) : Promise.resolve(null),
        ]);
        await this.#session.flush(notes ? [article.documentId, notes.documentId] : [article.documentId]);
        if (notes) this.#watchNotes(e.slug, notes);
        if (this.#saved[e.slug] !== e.url) {
          this.#saved = { ...this.#saved, [e.slug]: e.url };
          storeSaved(this.#saved);
          this.#publish();
        }
      } catch {
        // Unavailable (offline and not stored yet) or timed out: retried on
        // the next connection or library change.
      }
    }
  }

  #watchNotes(slug: string, h: DocHandle<NotesDoc>) {
    const update = () => {
      this.#noteCounts.set(slug, noteCount(h.doc()));
      this.onNotes?.(this.#noteCounts);
    };
    if (!this.#noteCounts.has(slug)) h.on("change", update);
    update();
  }

  #publish() {
    this.#store.set({ progress: progress(this.#entries, this.#saved) });
    this.onSaved?.(this.#saved);
  }

  async #reportStorage() {
    const storage = typeof navigator !== "undefined" ? navigator.storage : undefined;
    if (!storage?.estimate) return;
    try {
      // Ask once the library is on the device: browsers grant persistence
      // more readily to a site the person has used.
      const persisted = (await storage.persisted?.()) || (await storage.persist?.()) || false;
      const { usage } = await storage.estimate();
      this.#store.set({ storage: { used: usage ?? 0, persisted } });
    } catch {
      /* estimate unsupported: nothing to show */
    }
  }
}
