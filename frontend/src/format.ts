/** Small pure formatting helpers shared by the views. */

/**
 * Minutes to read `words` words. 200 a minute, rounded up, at least 1: the
 * same rule as the server's pages, so the number never changes on takeover.
 */
export function readingMinutes(words: number): number {
  if (!Number.isFinite(words) || words <= 0) return 1;
  return Math.max(1, Math.ceil(words / 200));
}

export function readingTime(words: number): string {
  return `${readingMinutes(words)} min read`;
}

/** Bytes as "812 KB" / "3.4 MB" (decimal units, as storage UIs use). */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n) || n < 0) return "unknown";
  if (n < 1000) return `${Math.round(n)} B`;
  const units = ["KB", "MB", "GB", "TB"];
  let v = n / 1000;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${v >= 100 ? Math.round(v) : v.toFixed(1)} ${units[u]}`;
}

/** "just now", "5 min ago", "3 h ago", else a date. `now` is injectable for tests. */
export function formatSince(then: number, now: number = Date.now()): string {
  const s = Math.max(0, Math.round((now - then) / 1000));
  if (s < 45) return "just now";
  const m = Math.round(s / 60);
  if (m < 60) return `${m} min ago`;
  const h = Math.round(m / 60);
  if (h < 24) return `${h} h ago`;
  return new Date(then).toISOString().slice(0, 10);
}

/** Languages written right to left (same list as the server, docs/schema.md). */
const RTL = new Set(["ar", "he", "fa", "ur", "ps", "sd", "ug", "yi", "dv", "ckb"]);

export function textDirection(lang: string): "rtl" | "ltr" {
  const primary = (lang || "").toLowerCase().split(/[-_]/)[0] ?? "";
  return RTL.has(primary) ? "rtl" : "ltr";
}

/** A language tag's name in English, e.g. "es" → "Spanish"; the tag itself if unknown. */
export function languageName(lang: string): string {
  try {
    const names = new Intl.DisplayNames(["en"], { type: "language" });
    return names.of(lang) ?? lang;
  } catch {
    return lang;
  }
}
