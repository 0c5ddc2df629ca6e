import { describe, expect, it } from "vitest";
import { renderToString } from "preact-render-to-string";
import { parse, parseInline, plainText, safeUrl, MAX_DEPTH, type Inline } from "../src/markdown";
import { renderMarkdown, segments } from "../src/render";

const html = (md: string, opts = {}) => renderToString(<div>{renderMarkdown(md, opts)}</div>);

/** Every text leaf maps each character to the body offset it came from. */
function leaves(xs: Inline[], out: { text: string; src: Int32Array }[] = []) {
  for (const x of xs) {
    if (x.t === "text" || x.t === "code") out.push(x);
    else if ("children" in x) leaves(x.children, out);
  }
  return out;
}

describe("markdown blocks", () => {
  it("renders paragraphs, headings, quotes, lists, code and rules", () => {
    const md = "# Title\n\nOne\ntwo\n\n> quoted\n> more\n\n- a\n- b\n\n1. x\n2. y\n\n```js\nlet a = 1 < 2;\n```\n\n---\n";
    expect(html(md)).toBe(
      "<div><h1>Title</h1><p>One\ntwo</p><blockquote><p>quoted\nmore</p></blockquote>" +
        "<ul><li>a</li><li>b</li></ul><ol><li>x</li><li>y</li></ol>" +
        "<pre><code>let a = 1 &lt; 2;\n</code></pre><hr/></div>",
    );
  });

  it("renders loose lists with paragraphs and nested lists", () => {
    expect(html("- a\n\n- b\n  - c\n")).toBe("<div><ul><li><p>a</p></li><li><p>b</p><ul><li>c</li></ul></li></ul></div>");
  });

  it("renders tables and setext headings", () => {
    expect(html("| a | b |\n|:--|--:|\n| 1 | *2* |\n")).toContain("<th style=\"text-align:left;\">a</th>");
    expect(html("| a | b |\n|:--|--:|\n| 1 | *2* |\n")).toContain("<em>2</em>");
    expect(html("Big\n===\n")).toBe("<div><h1>Big</h1></div>");
  });
});

describe("markdown inlines", () => {
  it("handles emphasis, strong, strike, code and links", () => {
    expect(html("*a* **b** ~~c~~ `d` [e](https://x.org/ \"t\")")).toBe(
      '<div><p><em>a</em> <strong>b</strong> <del>c</del> <code>d</code> <a href="https://x.org/" title="t" rel="noopener noreferrer nofollow">e</a></p></div>',
    );
  });

  it("handles intraword underscores, escapes, entities and hard breaks", () => {
    expect(html("snake_case_name \\*not\\* &amp; &mdash; a  \nb")).toBe("<div><p>snake_case_name *not* &amp; — a<br/>b</p></div>");
  });

  it("records the body offset of every character", () => {
    const body = "Intro *em* and [link](https://a.b) \\* x";
    const [p] = parse(body);
    expect(p?.t).toBe("p");
    for (const leaf of leaves(p && p.t === "p" ? p.children : [])) {
      for (let i = 0; i < leaf.text.length; i++) {
        expect(body[leaf.src[i] as number]).toBe(leaf.text[i]);
      }
    }
  });

  it("keeps offsets right inside quotes and list items", () => {
    const body = "> quoted *text*\n> second line\n\n- item one\n  continued";
    const blocks = parse(body);
    const all: { text: string; src: Int32Array }[] = [];
    const walk = (bs: typeof blocks) => {
      for (const b of bs) {
        if (b.t === "p" || b.t === "h") leaves(b.children, all);
        if (b.t === "quote") walk(b.children);
        if (b.t === "list") b.items.forEach(walk);
      }
    };
    walk(blocks);
    expect(all.length).toBeGreaterThan(2);
    for (const leaf of all)
      for (let i = 0; i < leaf.text.length; i++) if (leaf.text[i] !== "\n") expect(body[leaf.src[i] as number]).toBe(leaf.text[i]);
  });
});

describe("markdown safety", () => {
  it("never turns raw HTML into markup", () => {
    const out = html('<script>alert(1)</script>\n\n<img src=x onerror="alert(1)"> text');
    expect(out).not.toContain("<script");
    expect(out).not.toContain("<img");
    expect(out).toContain("&lt;script>alert(1)&lt;/script>");
  });

  it("drops dangerous link and image URLs but keeps the text", () => {
    for (const bad of ["javascript:alert(1)", "JaVaScRiPt:alert(1)", "java\tscript:alert(1)", "data:text/html,x", "vbscript:x"]) {
      const out = html(`[click](${bad}) ![pic](${bad})`);
      expect(out).not.toContain("href");
      expect(out).not.toContain("<img");
      expect(out).toContain("click");
    }
    expect(safeUrl("/articles/x")).toBe("/articles/x");
    expect(safeUrl("https://example.org/a")).toBe("https://example.org/a");
    expect(safeUrl("mailto:a@b.c")).toBe("mailto:a@b.c");
    expect(safeUrl(" javascript:x")).toBeNull();
  });

  it("survives absurd nesting without overflowing the stack", () => {
    const deep = ">".repeat(100_000) + " deep";
    const out = html(deep);
    expect(out).toContain("deep");
    expect((out.match(/<blockquote>/g) ?? []).length).toBeLessThanOrEqual(MAX_DEPTH);

    const lists = Array.from({ length: 1000 }, (_, i) => " ".repeat(i * 2) + "- x").join("\n");
    expect(html(lists)).toContain("x");

    const stars = "*".repeat(50_000) + "a" + "*".repeat(50_000);
    const out2 = html(stars);
    expect((out2.match(/<(em|strong)>/g) ?? []).length).toBeLessThanOrEqual(MAX_DEPTH);

    const brackets = "[".repeat(50_000) + "a" + "](x)".repeat(50_000);
    expect(html(brackets)).toContain("a");
  });

  it("extracts plain text", () => {
    expect(plainText(parseInline({ s: "a *b* `c`", map: new Int32Array(9).map((_, i) => i) }))).toBe("a b c");
  });
});

describe("highlights", () => {
  it("wraps exactly the marked characters, across inline elements", () => {
    const body = "Hello *brave* world";
    // "brave wor": offsets 7..12 (brave) and 14..17 (wor)
    const out = html(body, { marks: [{ start: 7, end: 17, id: "n1" }] });
    expect(out).toBe('<div><p>Hello <em><mark data-notes="n1">brave</mark></em><mark data-notes="n1"> wor</mark>ld</p></div>');
  });

  it("splits segments where overlapping marks change", () => {
    const src = Int32Array.from([0, 1, 2, 3, 4, 5]);
    expect(segments(src, [{ start: 1, end: 4, id: "a" }, { start: 3, end: 6, id: "b" }])).toEqual([
      { from: 0, to: 1, ids: [] },
      { from: 1, to: 3, ids: ["a"] },
      { from: 3, to: 4, ids: ["a", "b"] },
      { from: 4, to: 6, ids: ["b"] },
    ]);
  });
});
