/** Shapes of the page data and of the documents (docs/schema.md). */

export interface PageData {
  page: "library" | "article" | "missing" | "error" | "shell" | string;
  library?: string;
  slug?: string;
  url?: string;
  notes?: string;
}

/** A library entry as the app uses it (from the library doc or /api/library). */
export interface LibraryEntry {
  slug: string;
  title: string;
  author: string;
  lang: string;
  published: string;
  summary: string;
  words: number;
  url: string;
  notes: string;
  withdrawn?: boolean;
}

export interface LibraryDoc {
  schema?: unknown;
  version?: unknown;
  articles?: Record<string, Record<string, unknown> | undefined>;
}

/** Field types are `unknown`: read them with `str()` / `readArticle()`. */
export interface ArticleDoc {
  schema?: unknown;
  version?: unknown;
  slug?: unknown;
  title?: unknown;
  author?: unknown;
  lang?: unknown;
  published?: unknown;
  source?: unknown;
  source_name?: unknown;
  translator?: unknown;
  summary?: unknown;
  tags?: unknown;
  withdrawn?: unknown;
  body?: unknown;
}

export interface NotesDoc {
  schema?: string;
  version?: number;
  article?: string;
  notes?: Record<string, { deleted?: boolean } | undefined>;
}

export function readPageData(doc: Document = document): PageData {
  const el = doc.getElementById("glosa-data");
  try {
    const v: unknown = JSON.parse(el?.textContent ?? "{}");
    if (v && typeof v === "object" && typeof (v as PageData).page === "string") return v as PageData;
  } catch {
    /* fall through */
  }
  return { page: "shell" };
}

/**
 * A string field of a document. Automerge 3 gives text objects as JS strings
 * but scalar strings (what the server writes for titles, URLs, …) as
 * ImmutableString objects with a `val`; both read as plain strings here.
 */
export function str(v: unknown): string {
  if (typeof v === "string") return v;
  if (v && typeof v === "object" && typeof (v as { val?: unknown }).val === "string") return (v as { val: string }).val;
  return "";
}

/** An article document as plain values, whatever string representation each field has. */
export interface Article {
  title: string;
  author: string;
  lang: string;
  published: string;
  source: string;
  sourceName: string;
  translator: string;
  withdrawn: boolean;
  body: string;
}

export function readArticle(doc: ArticleDoc | undefined): Article {
  return {
    title: str(doc?.title),
    author: str(doc?.author),
    lang: str(doc?.lang) || "en",
    published: str(doc?.published),
    source: str(doc?.source),
    sourceName: str(doc?.source_name),
    translator: str(doc?.translator),
    withdrawn: doc?.withdrawn === true,
    body: str(doc?.body),
  };
}

/** Listed entries of a library doc, in the schema's order: newest first, then title. */
export function listEntries(doc: LibraryDoc | undefined): LibraryEntry[] {
  const out: LibraryEntry[] = [];
  for (const [slug, e] of Object.entries(doc?.articles ?? {})) {
    if (!e || e.withdrawn === true) continue;
    const url = str(e.url);
    if (!url.startsWith("automerge:")) continue;
    out.push(normalize({ ...e, slug: str(e.slug) || slug }));
  }
  return sortEntries(out);
}

export function normalize(e: Record<string, unknown>): LibraryEntry {
  return {
    slug: str(e.slug),
    title: str(e.title) || str(e.slug),
    author: str(e.author),
    lang: str(e.lang) || "en",
    published: str(e.published),
    summary: str(e.summary),
    words: typeof e.words === "number" && Number.isFinite(e.words) ? e.words : 0,
    url: str(e.url),
    notes: str(e.notes),
    withdrawn: e.withdrawn === true,
  };
}

export function sortEntries(xs: LibraryEntry[]): LibraryEntry[] {
  return xs.sort((a, b) =>
    a.published !== b.published ? (a.published < b.published ? 1 : -1) : a.title.localeCompare(b.title),
  );
}

/** The route of a path: the library, an article, or something else. */
export type Route = { kind: "library" } | { kind: "article"; slug: string } | { kind: "other" };

export function route(pathname: string): Route {
  if (pathname === "/" || pathname === "/index.html" || pathname === "/shell.html") return { kind: "library" };
  const m = /^\/articles\/([^/]+)\/?$/.exec(pathname);
  if (m) {
    try {
      return { kind: "article", slug: decodeURIComponent(m[1] ?? "") };
    } catch {
      return { kind: "other" };
    }
  }
  return { kind: "other" };
}

/** Number of live (not deleted) notes in a notes doc. */
export function noteCount(doc: NotesDoc | undefined): number {
  let n = 0;
  for (const note of Object.values(doc?.notes ?? {})) if (note && note.deleted !== true) n++;
  return n;
}
