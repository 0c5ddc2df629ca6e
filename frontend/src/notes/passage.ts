/**
 * The article body as the reader sees it: the concatenated text of every text
 * node the renderer produces (src/render.tsx), in document order, with the
 * body offset (UTF-16, the unit of Automerge cursors in JS) of each
 * character. A selection in the page is a range in this text, so it maps to
 * body offsets even across emphasis, links and paragraphs; and a quote can be
 * found again in it when a cursor cannot be resolved.
 */
import { parse, type Block, type Inline } from "../markdown";

export interface Flat {
  /** The visible text, exactly as the DOM's text nodes concatenate. */
  text: string;
  /** For each character of `text`, its body offset, or -1 (code blocks carry none). */
  map: Int32Array;
}

export function flatten(body: string): Flat {
  const parts: string[] = [];
  const maps: (Int32Array | number)[] = [];
  const inline = (xs: Inline[]) => {
    for (const x of xs) {
      if (x.t === "text" || x.t === "code") {
        parts.push(x.text);
        maps.push(x.src);
      } else if (x.t === "em" || x.t === "strong" || x.t === "del" || x.t === "link") inline(x.children);
      // br and img render no text node.
    }
  };
  const blocks = (bs: Block[]) => {
    for (const b of bs) {
      switch (b.t) {
        case "p":
        case "h":
          inline(b.children);
          break;
        case "quote":
          blocks(b.children);
          break;
        case "list":
          for (const item of b.items) blocks(item);
          break;
        case "pre":
          parts.push(b.text);
          maps.push(b.text.length);
          break;
        case "table":
          for (const c of b.head) inline(c);
          for (const r of b.rows) for (const c of r) inline(c);
          break;
        case "hr":
          break;
      }
    }
  };
  blocks(parse(body));
  const text = parts.join("");
  const map = new Int32Array(text.length);
  let i = 0;
  for (const m of maps) {
    if (typeof m === "number") {
      map.fill(-1, i, i + m);
      i += m;
    } else {
      map.set(m.subarray(0, Math.min(m.length, map.length - i)), i);
      i += m.length;
    }
  }
  return { text, map };
}

/**
 * The body range [start, end) of the visible characters [from, to), with
 * surrounding whitespace left out. Null if nothing anchorable is selected
 * (only spaces, or only code blocks).
 */
export function toBody(flat: Flat, from: number, to: number): { start: number; end: number } | null {
  let a = Math.max(0, Math.min(from, to));
  let b = Math.min(flat.text.length, Math.max(from, to));
  const skip = (i: number) => flat.map[i] === -1 || /\s/.test(flat.text[i] ?? "");
  while (a < b && skip(a)) a++;
  while (b > a && skip(b - 1)) b--;
  if (a >= b) return null;
  const start = flat.map[a] as number;
  const end = (flat.map[b - 1] as number) + 1;
  return end > start ? { start, end } : null;
}

/**
 * Where a quote is in the body, if it occurs exactly once (visible text
 * first, then the raw Markdown). Used only when a note's cursors cannot be
 * resolved at all; short quotes are not searched, they would land anywhere.
 */
export function findQuote(flat: Flat, body: string, quote: string): { start: number; end: number } | null {
  const q = quote.trim();
  if (q.length < 12) return null;
  const once = (hay: string) => {
    const i = hay.indexOf(q);
    return i !== -1 && hay.indexOf(q, i + 1) === -1 ? i : -1;
  };
  const v = once(flat.text);
  if (v !== -1) return toBody(flat, v, v + q.length);
  const r = once(body);
  return r !== -1 ? { start: r, end: r + q.length } : null;
}
