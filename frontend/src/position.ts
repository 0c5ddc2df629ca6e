/**
 * Reading position per article. Stored as "block k of the body, fraction f
 * into it" rather than pixels, so it survives a text-size change, a theme
 * change and the swap from the server's HTML to the app's rendering (both
 * produce the same sequence of top-level blocks).
 */
import { safeStorage } from "./progress";

export interface Position {
  block: number;
  fraction: number;
  /** When it was saved (ms), to prune the oldest. */
  at: number;
}

export interface Box {
  top: number;
  height: number;
}

/** The block at the top of the viewport (`y` = the document y just below the sticky header). */
export function capture(blocks: readonly Box[], y: number, now: number): Position | null {
  if (!blocks.length) return null;
  let k = 0;
  for (let i = 0; i < blocks.length; i++) {
    if ((blocks[i] as Box).top <= y) k = i;
    else break;
  }
  const b = blocks[k] as Box;
  const fraction = b.height > 0 ? Math.min(1, Math.max(0, (y - b.top) / b.height)) : 0;
  return { block: k, fraction, at: now };
}

/** The document y to scroll to so that `pos` is at the top again. */
export function target(pos: Position, blocks: readonly Box[]): number | null {
  if (!blocks.length) return null;
  const b = blocks[Math.min(pos.block, blocks.length - 1)] as Box;
  return b.top + b.height * (pos.block >= blocks.length ? 1 : pos.fraction);
}

const PREFIX = "glosa.pos.";
const MAX_KEPT = 300;

export function loadPosition(slug: string, storage = safeStorage()): Position | null {
  try {
    const raw = storage?.getItem(PREFIX + slug);
    if (!raw) return null;
    const v = JSON.parse(raw) as Partial<Position>;
    if (typeof v.block !== "number" || typeof v.fraction !== "number") return null;
    return { block: v.block, fraction: v.fraction, at: typeof v.at === "number" ? v.at : 0 };
  } catch {
    return null;
  }
}

export function savePosition(slug: string, pos: Position, storage = safeStorage()): void {
  if (!storage) return;
  try {
    storage.setItem(PREFIX + slug, JSON.stringify(pos));
  } catch {
    // Quota: drop the oldest positions and try once more.
    pruneOld(storage, MAX_KEPT / 2);
    try {
      storage.setItem(PREFIX + slug, JSON.stringify(pos));
    } catch {
      /* give up: a lost position is harmless */
    }
  }
}

/** Keeps the `keep` most recent positions. */
export function pruneOld(storage: Storage, keep = MAX_KEPT): void {
  const all: { key: string; at: number }[] = [];
  for (let i = 0; i < storage.length; i++) {
    const key = storage.key(i);
    if (!key || !key.startsWith(PREFIX)) continue;
    let at = 0;
    try {
      at = (JSON.parse(storage.getItem(key) ?? "{}") as Partial<Position>).at ?? 0;
    } catch {
      /* unreadable: oldest */
    }
    all.push({ key, at });
  }
  all.sort((a, b) => b.at - a.at);
  for (const { key } of all.slice(keep)) storage.removeItem(key);
}
