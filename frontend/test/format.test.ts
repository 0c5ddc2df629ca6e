import { describe, expect, it } from "vitest";
import { formatBytes, formatSince, readingMinutes, readingTime, textDirection } from "../src/format";
import { parseSettings, step, SIZES } from "../src/settings";

describe("reading time", () => {
  it("matches the server: 200 words a minute, rounded up, at least one", () => {
    expect(readingMinutes(0)).toBe(1);
    expect(readingMinutes(200)).toBe(1);
    expect(readingMinutes(201)).toBe(2);
    expect(readingMinutes(1358)).toBe(7);
    expect(readingMinutes(Number.NaN)).toBe(1);
    expect(readingTime(1000)).toBe("5 min read");
  });
});

describe("formatting", () => {
  it("formats bytes", () => {
    expect(formatBytes(512)).toBe("512 B");
    expect(formatBytes(812_000)).toBe("812 KB");
    expect(formatBytes(3_400_000)).toBe("3.4 MB");
  });
  it("formats time since", () => {
    expect(formatSince(0, 10_000)).toBe("just now");
    expect(formatSince(0, 5 * 60_000)).toBe("5 min ago");
    expect(formatSince(0, 3 * 3_600_000)).toBe("3 h ago");
    expect(formatSince(0, 3 * 86_400_000)).toBe("1970-01-01");
  });
  it("derives direction from the language like the server", () => {
    expect(textDirection("ar")).toBe("rtl");
    expect(textDirection("he-IL")).toBe("rtl");
    expect(textDirection("ckb")).toBe("rtl");
    expect(textDirection("en")).toBe("ltr");
    expect(textDirection("")).toBe("ltr");
  });
});

describe("settings", () => {
  it("parses stored values defensively", () => {
    expect(parseSettings("sepia", "3")).toEqual({ theme: "sepia", size: 3 });
    expect(parseSettings("neon", "99")).toEqual({ theme: "system", size: 1 });
    expect(parseSettings(null, null)).toEqual({ theme: "system", size: 1 });
  });
  it("steps text size within bounds", () => {
    expect(step(0, -1)).toBe(0);
    expect(step(SIZES.length - 1, 1)).toBe(SIZES.length - 1);
    expect(step(2, 1)).toBe(3);
  });
});
