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
import type { ArticleDoc } from "../types";

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

const str = (v: unknown) => (typeof v === "string" ? v : "");

export function countWords(body: string): number {
  const m = body.match(/[\p{L}\p{N}]+(?:['’-][\p{L}\p{N}]+)*/gu);
  return m ? m.length : 0;
}

export function Article({ doc, words, marks, onMark, children }: ArticleProps) {
  const body = str(doc.body);
  const lang = str(doc.lang) || "en";
  const dir = textDirection(lang);
  const rendered = useMemo(() => renderMarkdown(body, { marks: marks ?? [], ...(onMark ? { onMark } : {}) }), [body, marks, onMark]);
  const source = str(doc.source);
  const sourceName = str(doc.source_name) || source;
  const byline: [ComponentChildren, string][] = [];
  if (str(doc.author)) byline.push([str(doc.author), lang]);
  if (str(doc.published)) byline.push([<time datetime={str(doc.published)}>{str(doc.published)}</time>, "en"]);
  byline.push([readingTime(words || countWords(body)), "en"]);
  return (
    <article class="article" lang={lang} dir={dir} data-source="doc">
      <header>
        <h1>{str(doc.title)}</h1>
        <p class="meta">
          {/* Each part isolated, so "7 min read" stays whole inside an RTL article. */}
          {byline.map(([x, l], i) => (
            <>
              {i > 0 ? " · " : ""}
              <bdi lang={l}>{x}</bdi>
            </>
          ))}
        </p>
        {(sourceName || doc.translator) && (
          <p class="attribution">
            {sourceName && (
              <>
                First published by{" "}
                {/^https?:\/\//.test(source) ? (
                  <a href={source} rel="noopener noreferrer">
                    {sourceName}
                  </a>
                ) : (
                  sourceName
                )}
                .
              </>
            )}
            {sourceName && doc.translator ? " " : ""}
            {doc.translator ? `Translated by ${str(doc.translator)}.` : ""}
          </p>
        )}
      </header>
      {doc.withdrawn === true && <p role="status">This article was withdrawn by the publisher. Its notes are kept.</p>}
      <div class="body">{rendered}</div>
      {children}
    </article>
  );
}
