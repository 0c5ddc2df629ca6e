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
  schema?: string;
  version?: number;
  articles?: Record<string, Partial<LibraryEntry>>;
}

export interface ArticleDoc {
  schema?: string;
  version?: number;
  slug?: string;
  title?: string;
  author?: string;
  lang?: string;
  published?: string;
  source?: string;
  source_name?: string;
  translator?: string;
  summary?: string;
  tags?: string[];
  withdrawn?: boolean;
  body?: string;
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

const str = (v: unknown) => (typeof v === "string" ? v : "");

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

export function normalize(e: Partial<LibraryEntry>): LibraryEntry {
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
