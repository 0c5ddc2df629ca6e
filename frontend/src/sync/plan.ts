/**
 * Which documents this phone must sync with the server on this connection.
 *
 * The stock automerge-repo client syncs every document it holds each time
 * it connects: for a library of 1,000 articles, 2,000 round trips to learn
 * that nothing changed. Here the phone keeps a token from the server's
 * change feed (`src/sync/feed.rs`) and the set of documents it knows to be
 * *clean*: as of that token, its copy held everything the server had.
 * Once connected it sends the token (`glosa-since`); the server answers
 * with the documents written since (`glosa-changes`), and announces later
 * writes the same way while the connection lasts. Only documents that are
 * not clean are synced: those the server changed, those the phone changed,
 * and those it has never synced.
 *
 * The rules that keep this from losing anything:
 * - a document is clean *at its heads*: the set records the heads it had
 *   when the server last reported exactly those. Any edit here (in this
 *   tab or another, before or after a crash) changes the heads, so the
 *   document is synced again: a note written offline is always sent;
 * - after the server says a document changed, it becomes clean again only
 *   on a sync message that came after that news;
 * - the token and the clean set are stored together, in one write.
 */

export interface ChangesMessage {
  token: string;
  all: boolean;
  documentIds: string[];
}

/** Where the plan is kept; localStorage in the app. */
export interface PlanStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

const KEY = "glosa.syncPlan";
/** Gaining a clean document may wait: losing the write costs one sync. */
const SAVE_DELAY_MS = 1_000;

export class SyncPlan {
  #storage: PlanStorage | null;
  #token: string | null = null;
  /** Clean documents, each with the heads (`headsKey`) it is clean at. */
  #clean = new Map<string, string>();
  /** Syncing on this connection: stays so until it ends (live updates). */
  #active = new Set<string>();
  /** Changed on the server: clean only after a later message about it. */
  #news = new Set<string>();
  /** The server answered `glosa-since` on this connection. */
  #confirmed = false;
  #saveTimer: ReturnType<typeof setTimeout> | null = null;
  /** Called when documents must start syncing (the repo re-asks `shouldSync`). */
  onDirty: (() => void) | null = null;

  constructor(storage: PlanStorage | null) {
    this.#storage = storage;
    try {
      const saved: unknown = JSON.parse(storage?.getItem(KEY) ?? "null");
      if (isSaved(saved)) {
        this.#token = saved.token;
        this.#clean = new Map(Object.entries(saved.clean));
      }
    } catch {
      /* nothing usable: sync everything once */
    }
  }

  token(): string | null {
    return this.#token;
  }

  /** Whether the document is clean at some heads (ours may differ). */
  isRecorded(documentId: string): boolean {
    return this.#clean.has(documentId);
  }

  /** Whether our copy, at `heads`, holds what the server had at the token. */
  isClean(documentId: string, heads: readonly string[]): boolean {
    return this.#clean.get(documentId) === headsKey(heads);
  }

  /** Clean, and the server has confirmed so on this connection. */
  confirmed(documentId: string, heads: readonly string[]): boolean {
    return this.#confirmed && this.isClean(documentId, heads);
  }

  /**
   * Whether to sync `documentId` with the server now. `heads` is null for a
   * document this phone does not hold yet (it must be fetched, whatever the
   * plan says). Once true, it stays true for the connection.
   */
  shouldSync(documentId: string, heads: readonly string[] | null): boolean {
    if (this.#active.has(documentId)) return true;
    if (heads && this.isClean(documentId, heads)) return false;
    this.#active.add(documentId);
    return true;
  }

  /** A new connection: nothing is syncing yet, nothing confirmed. */
  connected(): void {
    this.#active.clear();
    this.#news.clear();
    this.#confirmed = false;
  }

  /** The server's answer to `glosa-since`, or news of later writes. */
  changes(msg: ChangesMessage): void {
    if (msg.all) this.#clean.clear();
    for (const id of msg.documentIds) {
      this.#clean.delete(id);
      this.#news.add(id);
    }
    this.#token = msg.token;
    this.#confirmed = true;
    this.#saveNow();
    this.onDirty?.();
  }

  /** The server sent a message about `documentId`. */
  heard(documentId: string): void {
    this.#news.delete(documentId);
  }

  /**
   * Our heads changed. An edit to a document not syncing now must start
   * syncing; changes from the server come only on documents that are.
   */
  changed(documentId: string): void {
    if (!this.#active.has(documentId)) this.onDirty?.();
  }

  /** After a sync message: is the server at exactly our heads? */
  synced(documentId: string, ours: readonly string[], theirs: readonly string[] | undefined): void {
    if (!theirs || this.#news.has(documentId)) return;
    const key = headsKey(ours);
    if (key !== headsKey(theirs) || this.#clean.get(documentId) === key) return;
    this.#clean.set(documentId, key);
    this.#saveLater();
  }

  /** Documents that came in a bundle at `token`, with their heads then. */
  imported(token: string, docs: ReadonlyArray<readonly [string, readonly string[]]>): void {
    this.#token = token;
    this.#clean = new Map(docs.map(([id, heads]) => [id, headsKey(heads)]));
    this.#saveNow();
  }

  #saveLater() {
    if (this.#saveTimer) return;
    this.#saveTimer = setTimeout(() => this.#saveNow(), SAVE_DELAY_MS);
  }

  #saveNow() {
    if (this.#saveTimer) clearTimeout(this.#saveTimer);
    this.#saveTimer = null;
    try {
      this.#storage?.setItem(KEY, JSON.stringify({ token: this.#token, clean: Object.fromEntries(this.#clean) }));
    } catch {
      // Storage full or denied: the saved plan is older, which only means
      // syncing more next time (its token and clean set stay consistent).
    }
  }
}

/**
 * Heads as stored: sorted, each cut to 16 base58 characters (93 bits:
 * enough to tell versions of one document apart, and half the storage).
 */
export function headsKey(heads: readonly string[]): string {
  return heads
    .map((h) => h.slice(0, 16))
    .sort()
    .join(",");
}

function isSaved(v: unknown): v is { token: string; clean: Record<string, string> } {
  if (!v || typeof v !== "object") return false;
  const { token, clean } = v as { token?: unknown; clean?: unknown };
  return (
    typeof token === "string" &&
    !!clean &&
    typeof clean === "object" &&
    !Array.isArray(clean) &&
    Object.values(clean).every((c) => typeof c === "string")
  );
}
