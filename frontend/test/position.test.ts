import { describe, expect, it } from "vitest";
import { capture, loadPosition, pruneOld, savePosition, target } from "../src/position";

class MemStorage implements Storage {
  m = new Map<string, string>();
  get length() {
    return this.m.size;
  }
  clear() {
    this.m.clear();
  }
  getItem(k: string) {
    return this.m.get(k) ?? null;
  }
  key(i: number) {
    return [...this.m.keys()][i] ?? null;
  }
  removeItem(k: string) {
    this.m.delete(k);
  }
  setItem(k: string, v: string) {
    this.m.set(k, v);
  }
}

const blocks = [
  { top: 100, height: 50 },
  { top: 150, height: 200 },
  { top: 350, height: 100 },
];

describe("reading position", () => {
  it("captures the block at the top of the viewport and the fraction into it", () => {
    expect(capture(blocks, 250, 7)).toEqual({ block: 1, fraction: 0.5, at: 7 });
    expect(capture(blocks, 0, 7)).toEqual({ block: 0, fraction: 0, at: 7 });
    expect(capture([], 0, 7)).toBeNull();
  });
  it("finds the same words again after the layout changed (bigger text)", () => {
    const pos = capture(blocks, 250, 1)!;
    const bigger = blocks.map((b) => ({ top: b.top * 2, height: b.height * 2 }));
    expect(target(pos, bigger)).toBe(500);
  });
  it("clamps to the end when the article got shorter", () => {
    expect(target({ block: 9, fraction: 0.5, at: 0 }, blocks)).toBe(450);
  });
  it("is remembered per article", () => {
    const s = new MemStorage();
    savePosition("a", { block: 2, fraction: 0.25, at: 1 }, s);
    savePosition("b", { block: 1, fraction: 0, at: 2 }, s);
    expect(loadPosition("a", s)).toEqual({ block: 2, fraction: 0.25, at: 1 });
    expect(loadPosition("b", s)?.block).toBe(1);
    expect(loadPosition("c", s)).toBeNull();
    s.setItem("glosa.pos.bad", "nope");
    expect(loadPosition("bad", s)).toBeNull();
  });
  it("keeps only the most recent positions", () => {
    const s = new MemStorage();
    for (let i = 0; i < 10; i++) savePosition(`s${i}`, { block: i, fraction: 0, at: i }, s);
    s.setItem("unrelated", "x");
    pruneOld(s, 3);
    expect([...s.m.keys()].sort()).toEqual(["glosa.pos.s7", "glosa.pos.s8", "glosa.pos.s9", "unrelated"]);
  });
});
