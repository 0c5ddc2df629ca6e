import { describe, expect, it } from "vitest";
import { compareHeads, statusLabel, syncState, UNHEARD_GRACE_MS, type DocSync } from "../src/status";

const since = () => "5 min ago";
const base = { connected: true, connectedSince: 0, now: UNHEARD_GRACE_MS + 1 };
const doc = (relation: DocSync["relation"], heard = true): DocSync => ({ relation, heard });

describe("compareHeads", () => {
  const contains = (known: string[]) => (hs: readonly string[]) => hs.every((h) => known.includes(h));
  it("knows nothing without remote heads", () => {
    expect(compareHeads(["a"], undefined, contains(["a"]))).toBe("unknown");
  });
  it("is the same regardless of order", () => {
    expect(compareHeads(["a", "b"], ["b", "a"], contains(["a", "b"]))).toBe("same");
  });
  it("is ahead when the server's heads are in our history", () => {
    expect(compareHeads(["c"], ["b"], contains(["a", "b", "c"]))).toBe("ahead");
  });
  it("is behind when the server has heads we lack", () => {
    expect(compareHeads(["b"], ["z"], contains(["a", "b"]))).toBe("behind");
  });
});

describe("syncState", () => {
  it("is synced when connected and every doc matches", () => {
    expect(syncState({ ...base, docs: [doc("same"), doc("same")] })).toBe("synced");
  });
  it("is syncing while a doc is behind or ahead", () => {
    expect(syncState({ ...base, docs: [doc("same"), doc("behind")] })).toBe("syncing");
    expect(syncState({ ...base, docs: [doc("ahead")] })).toBe("syncing");
  });
  it("waits for the server to speak right after connecting", () => {
    const fresh = { connected: true, connectedSince: 1000, now: 2000 };
    expect(syncState({ ...fresh, docs: [doc("same", false)] })).toBe("syncing");
    expect(syncState({ ...fresh, docs: [doc("same", true)] })).toBe("synced");
    expect(syncState({ ...fresh, docs: [doc("unknown", true)] })).toBe("syncing");
    // After the grace period, silence is not "syncing" forever.
    expect(syncState({ ...fresh, now: 1000 + UNHEARD_GRACE_MS, docs: [doc("unknown", false)] })).toBe("synced");
  });
  it("is offline when disconnected, or pending with local changes", () => {
    const off = { connected: false, connectedSince: null, now: 0 };
    expect(syncState({ ...off, docs: [doc("same"), doc("behind")] })).toBe("offline");
    expect(syncState({ ...off, docs: [doc("same"), doc("ahead")] })).toBe("pending");
  });
  it("is synced with no documents at all", () => {
    expect(syncState({ ...base, docs: [] })).toBe("synced");
  });
});

describe("statusLabel", () => {
  it("says something for every state", () => {
    expect(statusLabel("synced", null, since)).toBe("Online, up to date");
    expect(statusLabel("syncing", null, since)).toBe("Syncing…");
    expect(statusLabel("pending", 1, since)).toBe("Offline, changes waiting to be sent");
    expect(statusLabel("offline", 1, since)).toBe("Offline, last synced 5 min ago");
    expect(statusLabel("offline", null, since)).toBe("Offline, not synced yet");
  });
});
