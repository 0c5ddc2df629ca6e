/**
 * A small Markdown parser for article bodies, producing a tree that the
 * renderer turns into Preact elements (never an HTML string).
 *
 * Why our own: the article body lives in an Automerge text, notes anchor to
 * character positions in it, and highlights must land on the right words.
 * So every text leaf records the body offset (UTF-16 index, the same unit as
 * Automerge cursors in JS) of each of its characters. Off-the-shelf renderers
 * give HTML strings without offsets.
 *
 * Safety: raw HTML is never interpreted (it is text), link and image URLs
 * are filtered by scheme, and nesting deeper than MAX_DEPTH is flattened so
 * hostile input cannot blow the stack while parsing or rendering. It follows
 * CommonMark closely enough to match the server's pulldown-cmark output for
 * ordinary prose (paragraphs, headings, quotes, lists, code, emphasis,
 * links, images, tables, strikethrough).
 */

/** Deepest nesting of containers (quotes, lists) and of inline wrappers. */
export const MAX_DEPTH = 32;

export type Inline =
  | { t: "text"; text: string; src: Int32Array }
  | { t: "code"; text: string; src: Int32Array }
  | { t: "br" }
  | { t: "em" | "strong" | "del"; children: Inline[] }
  | { t: "link"; href: string; title: string; children: Inline[] }
  | { t: "img"; src: string; alt: string; title: string };

export type Align = "left" | "center" | "right" | null;

export type Block =
  | { t: "p"; children: Inline[] }
  | { t: "h"; level: number; children: Inline[] }
  | { t: "quote"; children: Block[] }
  | { t: "list"; ordered: boolean; start: number; tight: boolean; items: Block[][] }
  | { t: "pre"; lang: string; text: string }
  | { t: "hr" }
  | { t: "table"; align: Align[]; head: Inline[][]; rows: Inline[][][] };

/** One line of a container: `s`'s character i is at body offset `o + i`. */
interface Line {
  s: string;
  o: number;
}

export function parse(body: string): Block[] {
  const lines: Line[] = [];
  let o = 0;
  for (const raw of body.split("\n")) {
    const s = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    lines.push({ s, o });
    o += raw.length + 1;
  }
  return parseBlocks(lines, 0);
}

const isBlank = (l: Line) => /^[ \t]*$/.test(l.s);

/** Columns of leading whitespace (a tab advances to the next multiple of 4). */
function indentOf(s: string): number {
  let col = 0;
  for (const ch of s) {
    if (ch === " ") col++;
    else if (ch === "\t") col += 4 - (col % 4);
    else break;
  }
  return col;
}

/** Removes up to `n` columns of indentation (whole characters only). */
function dedent(l: Line, n: number): Line {
  let col = 0;
  let i = 0;
  while (i < l.s.length && col < n) {
    const ch = l.s[i];
    if (ch === " ") col++;
    else if (ch === "\t") col += 4 - (col % 4);
    else break;
    i++;
  }
  return { s: l.s.slice(i), o: l.o + i };
}

function trimStart(l: Line): Line {
  const m = /^[ \t]*/.exec(l.s);
  const n = m ? m[0].length : 0;
  return { s: l.s.slice(n), o: l.o + n };
}

const ATX = /^ {0,3}(#{1,6})(?=[ \t]|$)/;
const HR = /^ {0,3}(?:(?:-[ \t]*){3,}|(?:\*[ \t]*){3,}|(?:_[ \t]*){3,})$/;
const FENCE = /^( {0,3})(`{3,}|~{3,})(.*)$/;
const QUOTE = /^ {0,3}> ?/;
const BULLET = /^( {0,3})([-+*])([ \t]+|$)/;
const ORDERED = /^( {0,3})(\d{1,9})([.)])([ \t]+|$)/;
const TABLE_DELIM = /^ {0,3}\|?[ \t]*:?-+:?[ \t]*(?:\|[ \t]*:?-+:?[ \t]*)*\|?[ \t]*$/;

interface ListMarker {
  ordered: boolean;
  char: string;
  start: number;
  /** Columns from the line start to the item's content. */
  width: number;
}

function listMarker(s: string): ListMarker | null {
  let m = BULLET.exec(s);
  if (m) {
    const pad = m[3] ?? "";
    const ws = pad.length === 0 ? 1 : pad.length > 4 ? 1 : pad.length;
    return { ordered: false, char: m[2] ?? "-", start: 1, width: (m[1] ?? "").length + 1 + ws };
  }
  m = ORDERED.exec(s);
  if (m) {
    const pad = m[4] ?? "";
    const ws = pad.length === 0 ? 1 : pad.length > 4 ? 1 : pad.length;
    const num = m[2] ?? "1";
    return { ordered: true, char: m[3] ?? ".", start: Number(num), width: (m[1] ?? "").length + num.length + 1 + ws };
  }
  return null;
}

/** Can this line start a block that interrupts a paragraph? */
function interrupts(l: Line, depth: number): boolean {
  const s = l.s;
  if (ATX.test(s) || HR.test(s) || FENCE.test(s)) return true;
  if (depth < MAX_DEPTH) {
    if (QUOTE.test(s)) return true;
    const lm = listMarker(s);
    // Only a non-empty item, and for ordered lists only one starting at 1, may interrupt.
    if (lm && s.slice(lm.width).trim() !== "" && (!lm.ordered || lm.start === 1)) return true;
  }
  return false;
}

function parseBlocks(lines: Line[], depth: number): Block[] {
  const out: Block[] = [];
  let i = 0;
  while (i < lines.length) {
    const l = lines[i] as Line;
    if (isBlank(l)) {
      i++;
      continue;
    }
    const s = l.s;
    let m: RegExpExecArray | null;

    if ((m = ATX.exec(s))) {
      const level = (m[1] ?? "#").length;
      let content = trimStart({ s: s.slice(m[0].length), o: l.o + m[0].length });
      // Closing sequence: trailing #s preceded by a space.
      const close = /(?:^|[ \t]+)#+[ \t]*$/.exec(content.s);
      let text = close ? content.s.slice(0, close.index) : content.s;
      text = text.replace(/[ \t]+$/, "");
      content = { s: text, o: content.o };
      out.push({ t: "h", level, children: parseInline(joinLines([content]), depth) });
      i++;
      continue;
    }
    if (HR.test(s)) {
      out.push({ t: "hr" });
      i++;
      continue;
    }
    if ((m = FENCE.exec(s))) {
      const indent = (m[1] ?? "").length;
      const fence = m[2] ?? "```";
      const info = (m[3] ?? "").trim();
      if (!(fence[0] === "`" && info.includes("`"))) {
        const body: string[] = [];
        i++;
        while (i < lines.length) {
          const cur = (lines[i] as Line).s;
          const close = /^ {0,3}(`{3,}|~{3,})[ \t]*$/.exec(cur);
          if (close && (close[1] ?? "")[0] === fence[0] && (close[1] ?? "").length >= fence.length) {
            i++;
            break;
          }
          body.push(dedent(lines[i] as Line, indent).s);
          i++;
        }
        out.push({ t: "pre", lang: info.split(/\s+/)[0] ?? "", text: body.length ? body.join("\n") + "\n" : "" });
        continue;
      }
    }
    if (indentOf(s) >= 4) {
      const body: string[] = [];
      while (i < lines.length) {
        const cur = lines[i] as Line;
        if (isBlank(cur)) body.push("");
        else if (indentOf(cur.s) >= 4) body.push(dedent(cur, 4).s);
        else break;
        i++;
      }
      while (body.length && body[body.length - 1] === "") body.pop();
      out.push({ t: "pre", lang: "", text: body.join("\n") + "\n" });
      continue;
    }
    if (depth < MAX_DEPTH && QUOTE.test(s)) {
      const inner: Line[] = [];
      let lastWasText = false;
      while (i < lines.length) {
        const cur = lines[i] as Line;
        const q = QUOTE.exec(cur.s);
        if (q) {
          const rest = { s: cur.s.slice(q[0].length), o: cur.o + q[0].length };
          inner.push(rest);
          lastWasText = !isBlank(rest) && !FENCE.test(rest.s);
        } else if (lastWasText && !isBlank(cur) && !interrupts(cur, depth)) {
          // Lazy continuation of a paragraph inside the quote.
          inner.push(cur);
        } else break;
        i++;
      }
      out.push({ t: "quote", children: parseBlocks(inner, depth + 1) });
      continue;
    }
    const lm = depth < MAX_DEPTH ? listMarker(s) : null;
    if (lm) {
      const items: Line[][] = [];
      let tight = true;
      let sawBlankBetween = false;
      while (i < lines.length) {
        const cur = lines[i] as Line;
        const mk = listMarker(cur.s);
        if (!mk || mk.ordered !== lm.ordered || mk.char !== lm.char || HR.test(cur.s)) break;
        if (sawBlankBetween) tight = false;
        const item: Line[] = [];
        const first = { s: cur.s.slice(Math.min(mk.width, cur.s.length)), o: cur.o + Math.min(mk.width, cur.s.length) };
        item.push(first);
        i++;
        let blankRun = 0;
        let lastWasText = !isBlank(first);
        while (i < lines.length) {
          const nxt = lines[i] as Line;
          if (isBlank(nxt)) {
            blankRun++;
            item.push({ s: "", o: nxt.o });
            i++;
            continue;
          }
          if (indentOf(nxt.s) >= mk.width) {
            if (blankRun > 0 && item.some((x) => !isBlank(x))) tight = tight && false;
            item.push(dedent(nxt, mk.width));
            blankRun = 0;
            lastWasText = true;
            i++;
            continue;
          }
          if (blankRun === 0 && lastWasText && !interrupts(nxt, depth) && !listMarker(nxt.s)) {
            item.push(nxt);
            i++;
            continue;
          }
          break;
        }
        // Trailing blank lines belong between items, not inside the item.
        let trailing = 0;
        while (item.length > 1 && isBlank(item[item.length - 1] as Line)) {
          item.pop();
          trailing++;
        }
        sawBlankBetween = trailing > 0;
        items.push(item);
        if (trailing > 0 && i < lines.length) {
          // A blank line followed by something that is not a sibling item ends the list.
          const nx = lines[i] as Line;
          const mk2 = listMarker(nx.s);
          if (!mk2 || mk2.ordered !== lm.ordered || mk2.char !== lm.char) break;
        }
      }
      const parsed = items.map((it) => parseBlocks(it, depth + 1));
      out.push({ t: "list", ordered: lm.ordered, start: lm.start, tight, items: parsed });
      continue;
    }
    if (s.includes("|") && i + 1 < lines.length && TABLE_DELIM.test((lines[i + 1] as Line).s)) {
      const head = splitRow(l);
      const delims = splitRow(lines[i + 1] as Line);
      if (head.length === delims.length) {
        const align: Align[] = delims.map((d) => {
          const t = d.s.trim();
          const left = t.startsWith(":");
          const right = t.endsWith(":");
          return left && right ? "center" : right ? "right" : left ? "left" : null;
        });
        i += 2;
        const rows: Inline[][][] = [];
        while (i < lines.length && !isBlank(lines[i] as Line) && !interrupts(lines[i] as Line, depth)) {
          const cells = splitRow(lines[i] as Line);
          const row: Inline[][] = [];
          for (let c = 0; c < head.length; c++) {
            const cell = cells[c];
            row.push(cell ? parseInline(joinLines([trimLine(cell)]), depth) : []);
          }
          rows.push(row);
          i++;
        }
        out.push({
          t: "table",
          align,
          head: head.map((h) => parseInline(joinLines([trimLine(h)]), depth)),
          rows,
        });
        continue;
      }
    }
    // Paragraph, possibly a setext heading.
    const para: Line[] = [trimStart(l)];
    i++;
    let setext = 0;
    while (i < lines.length) {
      const cur = lines[i] as Line;
      if (isBlank(cur)) break;
      if (/^ {0,3}=+[ \t]*$/.test(cur.s)) {
        setext = 1;
        i++;
        break;
      }
      if (/^ {0,3}-+[ \t]*$/.test(cur.s)) {
        setext = 2;
        i++;
        break;
      }
      if (interrupts(cur, depth)) break;
      para.push(trimStart(cur));
      i++;
    }
    const last = para[para.length - 1] as Line;
    para[para.length - 1] = { s: last.s.replace(/[ \t]+$/, (ws) => (ws.length >= 2 && !setext ? "" : "")), o: last.o };
    const children = parseInline(joinLines(para), depth);
    out.push(setext ? { t: "h", level: setext, children } : { t: "p", children });
  }
  return out;
}

function trimLine(l: Line): Line {
  const t = trimStart(l);
  return { s: t.s.replace(/[ \t]+$/, ""), o: t.o };
}

/** Splits a table row on unescaped pipes (outer pipes optional). */
function splitRow(l: Line): Line[] {
  let { s, o } = trimLine(l);
  if (s.startsWith("|")) {
    s = s.slice(1);
    o++;
  }
  if (s.endsWith("|") && !s.endsWith("\\|")) s = s.slice(0, -1);
  const cells: Line[] = [];
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    if (s[i] === "\\") i++;
    else if (s[i] === "|") {
      cells.push({ s: s.slice(start, i), o: o + start });
      start = i + 1;
    }
  }
  cells.push({ s: s.slice(start), o: o + start });
  return cells;
}

interface Source {
  s: string;
  map: Int32Array;
}

function joinLines(lines: Line[]): Source {
  let total = 0;
  for (const l of lines) total += l.s.length + 1;
  const map = new Int32Array(Math.max(0, total - 1));
  let s = "";
  let k = 0;
  lines.forEach((l, idx) => {
    for (let j = 0; j < l.s.length; j++) map[k++] = l.o + j;
    s += l.s;
    if (idx < lines.length - 1) {
      map[k++] = l.o + l.s.length;
      s += "\n";
    }
  });
  return { s, map };
}

// ---------------------------------------------------------------- inlines

/** A node of the inline linked list built while scanning. */
interface Node {
  v: Inline;
  prev: Node | null;
  next: Node | null;
}

interface Delim {
  node: Node;
  ch: string; // "*", "_", "~", "[" or "!["
  count: number;
  canOpen: boolean;
  canClose: boolean;
  active: boolean;
  prev: Delim | null;
  next: Delim | null;
}

const PUNCT = /[!-/:-@[-`{-~\p{P}\p{S}]/u;
const WS = /\s/u;
const ESCAPABLE = /[!-/:-@[-`{-~]/;
const ENTITIES: Record<string, string> = {
  amp: "&", lt: "<", gt: ">", quot: '"', apos: "'", nbsp: "\u00a0", mdash: "\u2014", ndash: "\u2013",
  hellip: "\u2026", copy: "\u00a9", reg: "\u00ae", laquo: "\u00ab", raquo: "\u00bb", lsquo: "\u2018",
  rsquo: "\u2019", ldquo: "\u201c", rdquo: "\u201d", shy: "\u00ad", middot: "\u00b7", times: "\u00d7",
};

export function parseInline(src: Source, depth = 0): Inline[] {
  const { s, map } = src;
  const head: Node = { v: { t: "br" }, prev: null, next: null };
  let tail = head;
  let delims = null as Delim | null; // top of the stack
  // Nesting depth of each wrapper built so far, to flatten beyond MAX_DEPTH.
  const depths = new WeakMap<Inline, number>();

  const childDepth = (xs: Inline[]) => xs.reduce((m, x) => Math.max(m, depths.get(x) ?? 0), 0);
  const append = (v: Inline): Node => {
    const n: Node = { v, prev: tail, next: null };
    tail.next = n;
    tail = n;
    return n;
  };
  // Accumulates literal characters into one text node.
  let buf = "";
  let bufSrc: number[] = [];
  const flush = () => {
    if (buf) {
      append({ t: "text", text: buf, src: Int32Array.from(bufSrc) });
      buf = "";
      bufSrc = [];
    }
  };
  const lit = (text: string, at: number, len = 1) => {
    buf += text;
    for (let k = 0; k < text.length; k++) bufSrc.push(map[Math.min(at + Math.min(k, len - 1), map.length - 1)] ?? 0);
  };
  const pushDelim = (node: Node, ch: string, count: number, canOpen: boolean, canClose: boolean) => {
    const d: Delim = { node, ch, count, canOpen, canClose, active: true, prev: delims, next: null };
    if (delims) delims.next = d;
    delims = d;
  };
  const removeDelim = (d: Delim) => {
    if (d.prev) d.prev.next = d.next;
    if (d.next) d.next.prev = d.prev;
    else delims = d.prev;
  };

  let i = 0;
  while (i < s.length) {
    const c = s[i] as string;
    if (c === "\\") {
      const n = s[i + 1];
      if (n === "\n") {
        flush();
        append({ t: "br" });
        i += 2;
        continue;
      }
      if (n !== undefined && ESCAPABLE.test(n)) {
        lit(n, i + 1);
        i += 2;
        continue;
      }
      lit(c, i);
      i++;
      continue;
    }
    if (c === "\n") {
      // Two or more trailing spaces make a hard break; otherwise a soft one.
      let j = buf.length;
      while (j > 0 && buf[j - 1] === " ") j--;
      const hard = buf.length - j >= 2;
      buf = buf.slice(0, j);
      bufSrc = bufSrc.slice(0, j);
      if (hard) {
        flush();
        append({ t: "br" });
      } else lit("\n", i);
      i++;
      while (s[i] === " ") i++;
      continue;
    }
    if (c === "`") {
      let n = 0;
      while (s[i + n] === "`") n++;
      const fence = "`".repeat(n);
      let j = s.indexOf(fence, i + n);
      while (j !== -1 && (s[j + n] === "`" || s[j - 1] === "`")) {
        let k = j;
        while (s[k] === "`") k++;
        j = s.indexOf(fence, k);
      }
      if (j === -1) {
        lit(fence, i, n);
        i += n;
        continue;
      }
      flush();
      let text = s.slice(i + n, j).replace(/\n/g, " ");
      let off = i + n;
      if (text.length > 2 && text.startsWith(" ") && text.endsWith(" ") && text.trim() !== "") {
        text = text.slice(1, -1);
        off++;
      }
      append({ t: "code", text, src: map.slice(off, off + text.length) });
      i = j + n;
      continue;
    }
    if (c === "<") {
      const auto = /^<([a-zA-Z][a-zA-Z0-9+.-]{1,31}:[^\s<>]*)>/.exec(s.slice(i, i + 2048));
      const mail = auto ? null : /^<([a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*)>/.exec(s.slice(i, i + 512));
      const m = auto ?? mail;
      if (m) {
        const target = m[1] ?? "";
        const href = safeUrl(mail ? `mailto:${target}` : target);
        flush();
        const textNode: Inline = { t: "text", text: target, src: map.slice(i + 1, i + 1 + target.length) };
        append(href ? { t: "link", href, title: "", children: [textNode] } : textNode);
        i += m[0].length;
        continue;
      }
      lit(c, i);
      i++;
      continue;
    }
    if (c === "&") {
      const m = /^&(?:#[xX]([0-9a-fA-F]{1,6})|#([0-9]{1,7})|([a-zA-Z][a-zA-Z0-9]{1,31}));/.exec(s.slice(i, i + 40));
      if (m) {
        let ch: string | undefined;
        if (m[1] || m[2]) {
          const code = m[1] ? parseInt(m[1], 16) : parseInt(m[2] ?? "0", 10);
          ch = code === 0 || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff) ? "\ufffd" : String.fromCodePoint(code);
        } else ch = ENTITIES[m[3] ?? ""];
        if (ch !== undefined) {
          lit(ch, i);
          i += m[0].length;
          continue;
        }
      }
      lit(c, i);
      i++;
      continue;
    }
    if (c === "*" || c === "_" || c === "~") {
      let n = 0;
      while (s[i + n] === c) n++;
      if (c === "~" && n !== 2) {
        lit(c.repeat(n), i, n);
        i += n;
        continue;
      }
      const before = i === 0 ? "\n" : (s[i - 1] as string);
      const after = i + n >= s.length ? "\n" : (s[i + n] as string);
      const leftFlanking = !WS.test(after) && (!PUNCT.test(after) || WS.test(before) || PUNCT.test(before));
      const rightFlanking = !WS.test(before) && (!PUNCT.test(before) || WS.test(after) || PUNCT.test(after));
      let canOpen = leftFlanking;
      let canClose = rightFlanking;
      if (c === "_") {
        canOpen = leftFlanking && (!rightFlanking || PUNCT.test(before));
        canClose = rightFlanking && (!leftFlanking || PUNCT.test(after));
      }
      flush();
      const node = append({ t: "text", text: c.repeat(n), src: map.slice(i, i + n) });
      if (canOpen || canClose) pushDelim(node, c, n, canOpen, canClose);
      i += n;
      continue;
    }
    if (c === "[" || (c === "!" && s[i + 1] === "[")) {
      const len = c === "!" ? 2 : 1;
      flush();
      const node = append({ t: "text", text: s.slice(i, i + len), src: map.slice(i, i + len) });
      pushDelim(node, c === "!" ? "![" : "[", 1, false, false);
      i += len;
      continue;
    }
    if (c === "]") {
      let opener: Delim | null = delims;
      while (opener && opener.ch !== "[" && opener.ch !== "![") opener = opener.prev;
      if (!opener) {
        lit(c, i);
        i++;
        continue;
      }
      if (!opener.active) {
        removeDelim(opener);
        lit(c, i);
        i++;
        continue;
      }
      const dest = s[i + 1] === "(" ? linkDestination(s, i + 2) : null;
      if (!dest) {
        removeDelim(opener);
        lit(c, i);
        i++;
        continue;
      }
      flush();
      // Resolve emphasis inside the brackets first, then gather the children.
      processEmphasis(opener, removeDelim, depth);
      const children = collect(opener.node.next);
      const isImage = opener.ch === "![";
      const href = safeUrl(dest.url);
      opener.node.next = null;
      tail = opener.node;
      removeDelim(opener);
      if (isImage) {
        const alt = plainText(children);
        opener.node.v = href
          ? { t: "img", src: href, alt, title: dest.title }
          : { t: "text", text: alt, src: new Int32Array(alt.length).fill(map[i] ?? 0) };
      } else if (href && depth + childDepth(children) + 1 <= MAX_DEPTH) {
        const link: Inline = { t: "link", href, title: dest.title, children };
        depths.set(link, childDepth(children) + 1);
        opener.node.v = link;
      } else {
        // Unsafe URL: keep the link text, drop the link.
        opener.node.v = { t: "text", text: "", src: new Int32Array(0) };
        for (const ch of children) append(ch);
      }
      i = dest.end;
      if (!isImage) {
        // No links inside links: deactivate earlier link openers.
        // Everything below an already inactive opener was deactivated before.
        for (let d: Delim | null = delims; d; d = d.prev) {
          if (d.ch !== "[") continue;
          if (!d.active) break;
          d.active = false;
        }
      }
      continue;
    }
    lit(c, i);
    i++;
  }
  flush();
  processEmphasis(null, removeDelim, depth);
  return mergeText(collect(head.next));

  function processEmphasis(bottom: Delim | null, remove: (d: Delim) => void, d0: number) {
    let closer: Delim | null = null;
    for (let d = delims as Delim | null; d && d !== bottom; d = d.prev) closer = d;
    // openers_bottom per (char, closer length mod 3, canOpen) avoids quadratic rescans.
    const floor = new Map<string, Delim | null>();
    while (closer) {
      if (!(closer.canClose && (closer.ch === "*" || closer.ch === "_" || closer.ch === "~"))) {
        closer = closer.next;
        continue;
      }
      const key = `${closer.ch}${closer.count % 3}${closer.canOpen ? 1 : 0}`;
      const stop = floor.has(key) ? (floor.get(key) ?? null) : bottom;
      let opener = closer.prev;
      let found = false;
      while (opener && opener !== bottom && opener !== stop) {
        if (opener.ch === closer.ch && opener.canOpen) {
          const odd =
            (opener.canClose || closer.canOpen) &&
            (opener.count + closer.count) % 3 === 0 &&
            !(opener.count % 3 === 0 && closer.count % 3 === 0);
          if (!odd && (closer.ch !== "~" || opener.count === closer.count)) {
            found = true;
            break;
          }
        }
        opener = opener.prev;
      }
      if (!found || !opener) {
        floor.set(key, closer.prev);
        const next = closer.next;
        if (!closer.canOpen) remove(closer);
        closer = next;
        continue;
      }
      const use = closer.ch === "~" ? 2 : opener.count >= 2 && closer.count >= 2 ? 2 : 1;
      const kind = closer.ch === "~" ? "del" : use === 2 ? "strong" : "em";
      // Remove delimiters between opener and closer.
      for (let d = closer.prev; d && d !== opener; d = d.prev) remove(d);
      opener.count -= use;
      closer.count -= use;
      shrink(opener.node, use, true);
      shrink(closer.node, use, false);
      // Wrap nodes strictly between opener.node and closer.node.
      const inner = collect(opener.node.next, closer.node);
      const innerDepth = childDepth(inner);
      const wrapped: Inline = { t: kind, children: inner };
      const wrapNode: Node = { v: wrapped, prev: opener.node, next: closer.node };
      if (d0 + innerDepth + 1 > MAX_DEPTH) {
        // Too deep: keep the content without the wrapper.
        let p = opener.node;
        for (const v of inner) {
          const n: Node = { v, prev: p, next: null };
          p.next = n;
          p = n;
        }
        p.next = closer.node;
        closer.node.prev = p;
      } else {
        depths.set(wrapped, innerDepth + 1);
        opener.node.next = wrapNode;
        closer.node.prev = wrapNode;
      }
      if (opener.count === 0) remove(opener);
      if (closer.count === 0) {
        const next = closer.next;
        remove(closer);
        closer = next;
      }
    }
    // Whatever is left above bottom is literal text.
    let d = delims as Delim | null;
    while (d && d !== bottom) {
      const p: Delim | null = d.prev;
      if (d.ch === "*" || d.ch === "_" || d.ch === "~") remove(d);
      d = p;
    }
  }

  function shrink(n: Node, by: number, fromEnd: boolean) {
    const v = n.v;
    if (v.t !== "text") return;
    const keep = v.text.length - by;
    v.text = fromEnd ? v.text.slice(0, keep) : v.text.slice(by);
    // Views, not copies: a 50,000-character delimiter run shrinks 25,000 times.
    v.src = fromEnd ? v.src.subarray(0, keep) : v.src.subarray(by);
  }

  /** Detaches and returns the nodes from `from` up to (excluding) `until`. */
  function collect(from: Node | null, until: Node | null = null): Inline[] {
    const res: Inline[] = [];
    for (let n = from; n && n !== until; n = n.next) {
      if (!(n.v.t === "text" && n.v.text === "")) res.push(n.v);
    }
    return res;
  }
}

/** Joins adjacent text nodes (recursively) so renders are compact. */
function mergeText(xs: Inline[]): Inline[] {
  const out: Inline[] = [];
  let run: { text: string; src: Int32Array }[] = [];
  const end = () => {
    if (run.length === 1) out.push({ t: "text", ...(run[0] as { text: string; src: Int32Array }) });
    else if (run.length > 1) {
      const src = new Int32Array(run.reduce((n, r) => n + r.src.length, 0));
      let k = 0;
      for (const r of run) {
        src.set(r.src, k);
        k += r.src.length;
      }
      out.push({ t: "text", text: run.map((r) => r.text).join(""), src });
    }
    run = [];
  };
  for (const x of xs) {
    if (x.t === "text") {
      run.push(x);
      continue;
    }
    end();
    out.push("children" in x ? ({ ...x, children: mergeText(x.children) } as Inline) : x);
  }
  end();
  return out;
}

export function plainText(xs: Inline[]): string {
  let s = "";
  for (const x of xs) {
    if (x.t === "text" || x.t === "code") s += x.text;
    else if (x.t === "img") s += x.alt;
    else if (x.t === "br") s += "\n";
    else s += plainText(x.children);
  }
  return s;
}

interface Dest {
  url: string;
  title: string;
  end: number;
}

/** Parses `url "title")` starting just after `(`; null if it is not a link. */
function linkDestination(s: string, i: number): Dest | null {
  const skip = () => {
    while (i < s.length && /[ \t\n]/.test(s[i] as string)) i++;
  };
  skip();
  let url = "";
  if (s[i] === "<") {
    const j = s.indexOf(">", i + 1);
    if (j === -1) return null;
    url = s.slice(i + 1, j);
    if (/[\n<]/.test(url)) return null;
    i = j + 1;
  } else {
    let parens = 0;
    const start = i;
    while (i < s.length) {
      const c = s[i] as string;
      if (c === "\\" && i + 1 < s.length) {
        i += 2;
        continue;
      }
      if (/[\s\x00-\x1f]/.test(c)) break;
      if (c === "(") {
        parens++;
        if (parens > 32) return null;
      } else if (c === ")") {
        if (parens === 0) break;
        parens--;
      }
      i++;
    }
    url = s.slice(start, i).replace(/\\([!-/:-@[-`{-~])/g, "$1");
  }
  skip();
  let title = "";
  const q = s[i];
  if (q === '"' || q === "'" || q === "(") {
    const close = q === "(" ? ")" : q;
    const j = s.indexOf(close, i + 1);
    if (j === -1) return null;
    title = s.slice(i + 1, j);
    i = j + 1;
    skip();
  }
  if (s[i] !== ")") return null;
  return { url, title, end: i + 1 };
}

/**
 * Returns the URL if it is safe to put in an href/src: http(s), mailto, or
 * relative. Anything else (javascript:, data:, vbscript:, …) is refused.
 */
export function safeUrl(raw: string): string | null {
  const url = raw.trim();
  // Browsers ignore control characters and whitespace inside schemes: so do we, when checking.
  const probe = url.replace(/[\x00-\x20\x7f]/g, "").toLowerCase();
  const scheme = /^([a-z][a-z0-9+.-]*):/.exec(probe);
  if (scheme) return ["http", "https", "mailto"].includes(scheme[1] ?? "") ? url : null;
  // A relative reference; refuse a leading "//" host-relative oddity only if it hides a scheme.
  return url;
}
