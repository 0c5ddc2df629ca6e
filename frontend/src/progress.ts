/**
 * Offline-save progress: which library articles (article doc + notes doc)
 * are stored on this device. Kept in localStorage as slug → article URL so
 * the library can show the marks at first paint, before automerge loads; the
 * background saver re-verifies and rewrites it on every visit.
 */

export interface Entry {
  slug: string;
  url: string;
}

export type SavedMap = Record<string, string>;

export interface Progress {
  saved: number;
  total: number;
}

export function progress(entries: readonly Entry[], saved: SavedMap): Progress {
  let n = 0;
  for (const e of entries) if (saved[e.slug] === e.url) n++;
  return { saved: n, total: entries.length };
}

export function isSaved(entry: Entry, saved: SavedMap): boolean {
  return saved[entry.slug] === entry.url;
}

export function progressLabel(p: Progress): string {
  if (p.total === 0) return "Nothing to save yet";
  if (p.saved >= p.total) return p.total === 1 ? "The article is saved for offline" : `All ${p.total} articles saved for offline`;
  return `${p.saved} of ${p.total} saved for offline`;
}

/** Drops marks for slugs that are no longer listed (withdrawn or removed). */
export function prune(saved: SavedMap, entries: readonly Entry[]): SavedMap {
  const keep = new Set(entries.map((e) => e.slug));
  const out: SavedMap = {};
  for (const [slug, url] of Object.entries(saved)) if (keep.has(slug)) out[slug] = url;
  return out;
}

const KEY = "glosa.saved";

export function loadSaved(storage: Pick<Storage, "getItem"> | null = safeStorage()): SavedMap {
  try {
    const raw = storage?.getItem(KEY);
    const v: unknown = raw ? JSON.parse(raw) : {};
    if (!v || typeof v !== "object" || Array.isArray(v)) return {};
    const out: SavedMap = {};
    for (const [k, u] of Object.entries(v)) if (typeof u === "string") out[k] = u;
    return out;
  } catch {
    return {};
  }
}

export function storeSaved(saved: SavedMap, storage: Pick<Storage, "setItem"> | null = safeStorage()): void {
  try {
    storage?.setItem(KEY, JSON.stringify(saved));
  } catch {
    // Storage full or blocked: the marks are only a cache of what IndexedDB holds.
  }
}

export function safeStorage(): Storage | null {
  try {
    return typeof localStorage === "undefined" ? null : localStorage;
  } catch {
    return null;
  }
}
