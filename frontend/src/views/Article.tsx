/**
 * An article rendered from its Automerge document. Same markup as the
 * server's page (article.article > header + div.body), so replacing the
 * server HTML with this is invisible, and the reading position (counted in
 * top-level blocks of .body) carries over.
 */
import type { ComponentChildren } from "preact";
import { useMemo } from "preact/hooks";
import { readingTime, textDirection } from "../format";
import { renderMarkdown, type Mark } from "../render";
import { readArticle, type ArticleDoc } from "../types";

export interface ArticleProps {
  doc: ArticleDoc;
  /** Body word count from the library entry, for the reading time. */
  words: number;
  /**
   * Notes (issue 4) plug in here: `marks` highlight passages of the body
   * (body offsets, UTF-16), `onMark` opens the notes of a highlight, and
   * `children` is rendered after the body (the notes list / bottom sheet).
   */
  marks?: readonly Mark[];
  onMark?: (noteIds: string[]) => void;
  children?: ComponentChildren;
}

export function countWords(body: string): number {
  const m = body.match(/[\p{L}\p{N}]+(?:['’-][\p{L}\p{N}]+)*/gu);
  return m ? m.length : 0;
}

export function Article({ doc, words, marks, onMark, children }: ArticleProps) {
  const a = readArticle(doc);
  const { body, lang } = a;
  const dir = textDirection(lang);
  const rendered = useMemo(() => renderMarkdown(body, { marks: marks ?? [], ...(onMark ? { onMark } : {}) }), [body, marks, onMark]);
  const sourceName = a.sourceName || a.source;
  const byline: [ComponentChildren, string][] = [];
  if (a.author) byline.push([a.author, lang]);
  if (a.published) byline.push([<time datetime={a.published}>{a.published}</time>, "en"]);
  byline.push([readingTime(words || countWords(body)), "en"]);
  return (
    <article class="article" lang={lang} dir={dir} data-source="doc">
      <header>
        <h1>{a.title}</h1>
        <p class="meta">
          {/* Each part isolated, so "7 min read" stays whole inside an RTL article. */}
          {byline.map(([x, l], i) => (
            <>
              {i > 0 ? " · " : ""}
              <bdi lang={l}>{x}</bdi>
            </>
          ))}
        </p>
        {(sourceName || a.translator) && (
          <p class="attribution">
            {sourceName && (
              <>
                First published by{" "}
                {/^https?:\/\//.test(a.source) ? (
                  <a href={a.source} rel="noopener noreferrer">
                    {sourceName}
                  </a>
                ) : (
                  sourceName
                )}
                .
              </>
            )}
            {sourceName && a.translator ? " " : ""}
            {a.translator ? `Translated by ${a.translator}.` : ""}
          </p>
        )}
      </header>
      {a.withdrawn && <p role="status">This article was withdrawn by the publisher. Its notes are kept.</p>}
      <div class="body">{rendered}</div>
      {children}
    </article>
  );
}
