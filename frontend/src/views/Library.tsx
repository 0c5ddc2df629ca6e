/** The library: every listed article, newest first, with what a reader needs to choose. */
import { formatBytes, languageName, readingTime, textDirection } from "../format";
import { isSaved, progressLabel, type SavedMap } from "../progress";
import { useStore, type Store } from "../store";
import type { LibraryEntry } from "../types";

export interface LibraryProps {
  entries: LibraryEntry[];
  saved: SavedMap;
  /** Live note counts per slug, once the notes docs are loaded. */
  notes: ReadonlyMap<string, number>;
  store: Store;
  /** Where the list came from: "api" (online fallback) or "doc" (automerge). */
  source: "api" | "doc";
}

export function Library({ entries, saved, notes, store, source }: LibraryProps) {
  const s = useStore(store);
  return (
    <div class="library" data-source={source}>
      <h1>Library</h1>
      <section class="offline" aria-labelledby="offline-title">
        <h2 id="offline-title" class="visually-hidden">
          Offline reading
        </h2>
        <p id="save-progress" data-saved={s.progress?.saved} data-total={s.progress?.total}>
          {s.progress ? progressLabel(s.progress) : "Preparing offline reading…"}
        </p>
        {s.storage && (
          <p class="storage">
            {formatBytes(s.storage.used)} used on this device
            {s.storage.persisted === true ? " · kept by the browser" : s.storage.persisted === false ? " · the browser may clear it if space runs low" : ""}
          </p>
        )}
      </section>
      {entries.length === 0 ? (
        <p>No articles yet.</p>
      ) : (
        <ul class="articles">
          {entries.map((e) => {
            const ok = isSaved(e, saved);
            const n = notes.get(e.slug);
            return (
              <li key={e.slug} data-slug={e.slug} data-saved={ok ? "true" : "false"}>
                <h2 lang={e.lang} dir={textDirection(e.lang)}>
                  <a href={`/articles/${encodeURIComponent(e.slug)}`} hreflang={e.lang}>
                    {e.title}
                  </a>
                </h2>
                <p class="meta">
                  {[
                    e.author ? <bdi lang={e.lang}>{e.author}</bdi> : null,
                    languageName(e.lang),
                    e.published ? <time datetime={e.published}>{e.published}</time> : null,
                    readingTime(e.words),
                    n ? (n === 1 ? "1 note" : `${n} notes`) : null,
                  ]
                    .filter((x) => x !== null)
                    .map((x, i) => (
                      <>
                        {i > 0 ? " · " : ""}
                        {x}
                      </>
                    ))}
                </p>
                {e.summary && (
                  <p lang={e.lang} dir={textDirection(e.lang)}>
                    {e.summary}
                  </p>
                )}
                <p class={ok ? "badge saved" : "badge"}>{ok ? "Saved for offline" : "Not saved yet"}</p>
              </li>
            );
          })}
        </ul>
      )}
    </div>
  );
}
