import { describe, expect, it } from "vitest";
import { isSaved, loadSaved, progress, progressLabel, prune, storeSaved } from "../src/progress";

const entries = [
  { slug: "a", url: "automerge:A" },
  { slug: "b", url: "automerge:B" },
  { slug: "c", url: "automerge:C" },
];

class MemStorage {
  m = new Map<string, string>();
  getItem(k: string) {
    return this.m.get(k) ?? null;
  }
  setItem(k: string, v: string) {
    this.m.set(k, v);
  }
}

describe("offline-save progress", () => {
  it("counts entries whose saved URL matches", () => {
    expect(progress(entries, { a: "automerge:A", b: "automerge:OLD" })).toEqual({ saved: 1, total: 3 });
    expect(isSaved(entries[0]!, { a: "automerge:A" })).toBe(true);
    expect(isSaved(entries[1]!, { a: "automerge:A" })).toBe(false);
  });
  it("labels progress the way the issue asks", () => {
    expect(progressLabel({ saved: 12, total: 40 })).toBe("12 of 40 saved for offline");
    expect(progressLabel({ saved: 40, total: 40 })).toBe("All 40 articles saved for offline");
    expect(progressLabel({ saved: 1, total: 1 })).toBe("The article is saved for offline");
    expect(progressLabel({ saved: 0, total: 0 })).toBe("Nothing to save yet");
  });
  it("prunes marks of articles no longer listed", () => {
    expect(prune({ a: "automerge:A", gone: "automerge:G" }, entries)).toEqual({ a: "automerge:A" });
  });
  it("round-trips through storage and survives garbage", () => {
    const s = new MemStorage();
    storeSaved({ a: "automerge:A" }, s);
    expect(loadSaved(s)).toEqual({ a: "automerge:A" });
    s.setItem("glosa.saved", "{not json");
    expect(loadSaved(s)).toEqual({});
    s.setItem("glosa.saved", JSON.stringify({ a: 5, b: "automerge:B" }));
    expect(loadSaved(s)).toEqual({ b: "automerge:B" });
    expect(loadSaved(null)).toEqual({});
  });
});
