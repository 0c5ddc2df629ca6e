/**
 * The app proper, loaded after first paint. It takes over the page's <main>:
 * - library: from /api/library at once (online), then from the library
 *   document (IndexedDB + sync), which keeps it live;
 * - article: from the article document, re-rendered on every change (a
 *   publisher's correction appears without a reload);
 * - app shell (a page the service worker served from its precache because
 *   the phone is offline and never loaded this URL): both from IndexedDB.
 * It also starts the background save of the whole library.
 */
import { render } from "preact";
import type { DocHandle } from "@automerge/automerge-repo/slim";
import type { ReadingPosition } from "./reading";
import type { Store } from "./store";
import { listEntries, normalize, readArticle, route, sortEntries, type ArticleDoc, type LibraryDoc, type LibraryEntry, type PageData } from "./types";
import { Library } from "./views/Library";
import { Article } from "./views/Article";
import { Message } from "./views/Message";
import { loadSaved, type SavedMap } from "./progress";
import { textDirection } from "./format";

const LIBRARY_KEY = "glosa.library";

interface StartOptions {
  data: PageData;
  store: Store;
  reading: ReadingPosition | null;
  /** Called once automerge is loaded (the service worker registers then). */
  onAutomerge?: () => void;
}

export async function start({ data, store, reading, onAutomerge }: StartOptions): Promise<void> {
  const main = document.getElementById("main");
  if (!main) return;
  const r = route(location.pathname);
  if (r.kind === "other") return;
  const serverRendered = r.kind === "library" ? data.page === "library" : data.page === "article" && data.slug === r.slug;

  let libraryUrl = data.library ?? null;
  try {
    if (libraryUrl) localStorage.setItem(LIBRARY_KEY, libraryUrl);
    else libraryUrl = localStorage.getItem(LIBRARY_KEY);
  } catch {
    /* private mode: only this page's data */
  }

  let took = false;
  const show = (vnode: preact.VNode) => {
    // The first render replaces the server's HTML; later ones diff.
    if (!took) {
      main.textContent = "";
      took = true;
    }
    render(vnode, main);
  };

  let saved: SavedMap = loadSaved();
  let notes: ReadonlyMap<string, number> = new Map();
  let entries: LibraryEntry[] | null = null;
  let fromDoc = false;
  const showLibrary = () => {
    if (r.kind !== "library" || !entries) return;
    show(<Library entries={entries} saved={saved} notes={notes} store={store} source={fromDoc ? "doc" : "api"} />);
  };

  if (r.kind === "library" && serverRendered) {
    // Online fallback while the wasm loads: same list, plus the saved marks.
    fetch("/api/library", { headers: { accept: "application/json" } })
      .then((res) => (res.ok ? res.json() : null))
      .then((json: { articles?: Record<string, unknown>[] } | null) => {
        if (fromDoc || !json || !Array.isArray(json.articles)) return;
        entries = sortEntries(json.articles.map(normalize).filter((e) => e.slug && e.url));
        showLibrary();
      })
      .catch(() => {
        /* offline: the doc will do */
      });
  }

  const { openSession } = await import("./sync/session");
  const { Saver } = await import("./sync/saver");
  const session = await openSession(store);
  // For scripts/bench-web: when automerge is ready (wasm compiled, repo up).
  performance.mark("glosa:automerge-ready");
  onAutomerge?.();

  if (!libraryUrl) {
    if (!serverRendered) show(<Message title="Not on this device yet">{notYet}</Message>);
    return;
  }

  let library: DocHandle<LibraryDoc>;
  try {
    library = await session.find<LibraryDoc>(libraryUrl);
  } catch {
    if (!serverRendered) show(<Message title="Not on this device yet">{notYet}</Message>);
    return;
  }

  const saver = new Saver(session, store);
  saver.onSaved = (s) => {
    saved = s;
    showLibrary();
  };
  saver.onNotes = (counts) => {
    notes = new Map(counts);
    showLibrary();
  };

  let onLibrary: (() => void) | null = null;
  const refresh = () => {
    entries = listEntries(library.doc());
    fromDoc = true;
    saver.run(entries);
    showLibrary();
    onLibrary?.();
  };
  library.on("change", refresh);
  refresh();
  document.documentElement.dataset.app = "ready";

  if (r.kind !== "article") return;
  // Notes (issue 4): the notes layer around the article, see notes/Annotations.
  const { Annotations } = await import("./notes/Annotations");

  // The article: from the library entry, or the page's own data (an article
  // the library doc on this device does not list yet).
  let handle: DocHandle<ArticleDoc> | null = null;
  let firstRender = true;
  const showArticle = () => {
    if (!handle) return;
    const doc = handle.doc();
    const entry = entries?.find((e) => e.slug === r.slug);
    if (!serverRendered || firstRender) {
      const { lang, title } = readArticle(doc);
      document.documentElement.lang = lang;
      document.documentElement.dir = textDirection(lang);
      if (title) document.title = title;
    }
    // Notes (issue 4): the layer gives the Article its highlights and the notes panel.
    const notesUrl = entry?.notes || (serverRendered ? data.notes : undefined);
    show(
      <Annotations session={session} article={handle} notesUrl={notesUrl}>
        {(layer) => <Article doc={doc} words={entry?.words ?? 0} {...layer} />}
      </Annotations>,
    );
    if (firstRender) {
      performance.mark("glosa:article-from-doc");
      firstRender = false;
      reading?.restore();
    }
  };
  const open = async () => {
    if (handle) return;
    const url = entries?.find((e) => e.slug === r.slug)?.url ?? (serverRendered ? data.url : undefined);
    if (!url) {
      if (!serverRendered) show(<Message title="Not on this device yet">{notYet}</Message>);
      return;
    }
    try {
      const h = await session.find<ArticleDoc>(url);
      if (handle) return;
      handle = h;
      h.on("change", showArticle);
      showArticle();
    } catch {
      if (!serverRendered) show(<Message title="Not on this device yet">{notYet}</Message>);
    }
  };
  // A new article may reach the library after we opened its URL offline.
  onLibrary = () => void open();
  await open();
}

const notYet = (
  <p>
    This page has not been saved on this device, and there is no connection right now. It will be saved the next time
    the phone is online.
  </p>
);
