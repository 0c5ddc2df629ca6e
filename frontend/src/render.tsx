/**
 * Turns the Markdown tree into Preact elements. Text is always text: there
 * is no innerHTML anywhere, so nothing in an article or a note can become
 * markup or script.
 *
 * Highlights (the notes feature, issue 4) are passed as `marks`: ranges of
 * body offsets [start, end). Every text leaf knows the body offset of each of
 * its characters, so a mark wraps exactly the characters it covers in a
 * <mark>, even across emphasis, links and paragraphs.
 */
import type { ComponentChildren, VNode } from "preact";
import { parse, type Block, type Inline } from "./markdown";

export interface Mark {
  /** Body offsets, UTF-16 units, end exclusive. */
  start: number;
  end: number;
  /** Stable id (a note id); several marks may overlap. */
  id: string;
}

export interface RenderOptions {
  marks?: readonly Mark[];
  /** Called when a highlighted passage is activated (click/Enter). */
  onMark?: (ids: string[]) => void;
}

export function renderMarkdown(body: string, opts: RenderOptions = {}): VNode[] {
  return renderBlocks(parse(body), opts);
}

export function renderBlocks(blocks: Block[], opts: RenderOptions): VNode[] {
  return blocks.map((b, i) => renderBlock(b, i, opts));
}

function renderBlock(b: Block, key: number, o: RenderOptions): VNode {
  switch (b.t) {
    case "p":
      return <p key={key}>{inl(b.children, o)}</p>;
    case "h": {
      // Same levels as the server's pulldown-cmark, so the swap is invisible.
      const H = `h${Math.min(6, Math.max(1, b.level))}` as "h2";
      return <H key={key}>{inl(b.children, o)}</H>;
    }
    case "quote":
      return <blockquote key={key}>{renderBlocks(b.children, o)}</blockquote>;
    case "list": {
      const items = b.items.map((item, i) => (
        <li key={i}>
          {b.tight
            ? item.map((x, j) => (x.t === "p" ? <>{inl(x.children, o)}</> : renderBlock(x, j, o)))
            : renderBlocks(item, o)}
        </li>
      ));
      return b.ordered ? (
        <ol key={key} start={b.start === 1 ? undefined : b.start}>
          {items}
        </ol>
      ) : (
        <ul key={key}>{items}</ul>
      );
    }
    case "pre":
      return (
        <pre key={key}>
          <code>{b.text}</code>
        </pre>
      );
    case "hr":
      return <hr key={key} />;
    case "table":
      return (
        <div key={key} class="table">
          <table>
            <thead>
              <tr>
                {b.head.map((c, i) => (
                  <th key={i} style={b.align[i] ? { textAlign: b.align[i] } : undefined}>
                    {inl(c, o)}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {b.rows.map((r, ri) => (
                <tr key={ri}>
                  {r.map((c, i) => (
                    <td key={i} style={b.align[i] ? { textAlign: b.align[i] } : undefined}>
                      {inl(c, o)}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      );
  }
}

function inl(xs: Inline[], o: RenderOptions): ComponentChildren[] {
  return xs.map((x, i) => renderInline(x, i, o));
}

function renderInline(x: Inline, key: number, o: RenderOptions): ComponentChildren {
  switch (x.t) {
    case "text":
      return o.marks && o.marks.length ? <>{marked(x.text, x.src, o)}</> : x.text;
    case "code":
      return <code key={key}>{o.marks && o.marks.length ? marked(x.text, x.src, o) : x.text}</code>;
    case "br":
      return <br key={key} />;
    case "em":
      return <em key={key}>{inl(x.children, o)}</em>;
    case "strong":
      return <strong key={key}>{inl(x.children, o)}</strong>;
    case "del":
      return <del key={key}>{inl(x.children, o)}</del>;
    case "link":
      return (
        <a key={key} href={x.href} title={x.title || undefined} rel="noopener noreferrer nofollow">
          {inl(x.children, o)}
        </a>
      );
    case "img":
      return <img key={key} src={x.src} alt={x.alt} title={x.title || undefined} loading="lazy" />;
  }
}

/** Splits a text leaf where the set of covering marks changes. */
export function segments(src: Int32Array, marks: readonly Mark[]): { from: number; to: number; ids: string[] }[] {
  const n = src.length;
  if (n === 0) return [];
  const lo = src[0] as number;
  const hi = src[n - 1] as number;
  const relevant = marks.filter((m) => m.end > Math.min(lo, hi) && m.start <= Math.max(lo, hi));
  const out: { from: number; to: number; ids: string[] }[] = [];
  let cur: string[] = [];
  let key = "";
  let from = 0;
  for (let i = 0; i < n; i++) {
    const at = src[i] as number;
    const ids = relevant.filter((m) => m.start <= at && at < m.end).map((m) => m.id);
    const k = ids.join(" ");
    if (i === 0) {
      cur = ids;
      key = k;
    } else if (k !== key) {
      out.push({ from, to: i, ids: cur });
      from = i;
      cur = ids;
      key = k;
    }
  }
  out.push({ from, to: n, ids: cur });
  return out;
}

function marked(text: string, src: Int32Array, o: RenderOptions): ComponentChildren[] {
  return segments(src, o.marks ?? []).map((seg) => {
    const t = text.slice(seg.from, seg.to);
    if (!seg.ids.length) return t;
    const activate = () => o.onMark?.(seg.ids);
    return (
      <mark
        data-notes={seg.ids.join(" ")}
        tabIndex={o.onMark ? 0 : undefined}
        onClick={o.onMark ? activate : undefined}
        onKeyDown={
          o.onMark
            ? (e: KeyboardEvent) => {
                if (e.key === "Enter" || e.key === " ") {
                  e.preventDefault();
                  activate();
                }
              }
            : undefined
        }
      >
        {t}
      </mark>
    );
  });
}
