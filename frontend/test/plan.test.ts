import { describe, expect, it, vi } from "vitest";
import { SyncPlan, headsKey, type PlanStorage } from "../src/sync/plan";
import { parseBundle } from "../src/sync/bundle";

function memory(): PlanStorage & { data: Map<string, string> } {
  const data = new Map<string, string>();
  return { data, getItem: (k) => data.get(k) ?? null, setItem: (k, v) => void data.set(k, v) };
}

const H1 = ["AAAAAAAAAAAAAAAA111"];
const H2 = ["BBBBBBBBBBBBBBBB222"];

/** A plan where `doc` was synced at `heads` under token "e.1". */
function cleanPlan(storage = memory(), doc = "d1", heads = H1) {
  const plan = new SyncPlan(storage);
  plan.changes({ token: "e.1", all: true, documentIds: [] });
  plan.connected();
  plan.synced(doc, heads, heads);
  return { plan, storage };
}

describe("SyncPlan", () => {
  it("syncs everything it has never seen in sync with the server", () => {
    const plan = new SyncPlan(memory());
    expect(plan.token()).toBeNull();
    expect(plan.shouldSync("d1", H1)).toBe(true);
    expect(plan.shouldSync("d2", null)).toBe(true);
  });

  it("skips a document the server reported at exactly our heads, across reloads", () => {
    vi.useFakeTimers();
    const { plan, storage } = cleanPlan();
    plan.connected();
    expect(plan.shouldSync("d1", H1)).toBe(false);
    vi.runAllTimers();
    const reloaded = new SyncPlan(storage);
    reloaded.connected();
    expect(reloaded.token()).toBe("e.1");
    expect(reloaded.shouldSync("d1", H1)).toBe(false);
    vi.useRealTimers();
  });

  it("syncs a document edited here, even if the page was killed before saving", () => {
    vi.useFakeTimers();
    const { storage } = cleanPlan();
    vi.runAllTimers();
    const reloaded = new SyncPlan(storage);
    reloaded.connected();
    // The note written offline is in IndexedDB: the heads differ.
    expect(reloaded.shouldSync("d1", H2)).toBe(true);
    vi.useRealTimers();
  });

  it("asks the repo to start syncing when a document not syncing is edited", () => {
    const { plan } = cleanPlan();
    plan.connected();
    const dirty = vi.fn();
    plan.onDirty = dirty;
    expect(plan.shouldSync("d1", H1)).toBe(false);
    plan.changed("d1");
    expect(dirty).toHaveBeenCalledTimes(1);
    expect(plan.shouldSync("d1", H2)).toBe(true);
    // Once syncing, it stays so for the connection (live updates).
    plan.changed("d1");
    expect(dirty).toHaveBeenCalledTimes(1);
    expect(plan.shouldSync("d1", H1)).toBe(true);
  });

  it("syncs what the server says changed, and trusts only news after that", () => {
    const { plan } = cleanPlan();
    plan.connected();
    plan.changes({ token: "e.5", all: false, documentIds: ["d1"] });
    expect(plan.token()).toBe("e.5");
    expect(plan.shouldSync("d1", H1)).toBe(true);
    // A stale sync state (from a message before the news) does not count.
    plan.synced("d1", H1, H1);
    plan.connected();
    expect(plan.shouldSync("d1", H1)).toBe(true);
    // A message after the news does.
    plan.heard("d1");
    plan.synced("d1", H2, H2);
    plan.connected();
    expect(plan.shouldSync("d1", H2)).toBe(false);
  });

  it("is not clean while the server's heads differ from ours", () => {
    const plan = new SyncPlan(memory());
    plan.synced("d1", H1, H2);
    plan.synced("d1", H1, undefined);
    plan.connected();
    expect(plan.shouldSync("d1", H1)).toBe(true);
  });

  it("syncs everything when the server cannot tell (new epoch)", () => {
    const { plan } = cleanPlan();
    plan.changes({ token: "f.0", all: true, documentIds: [] });
    plan.connected();
    expect(plan.shouldSync("d1", H1)).toBe(true);
  });

  it("confirms clean documents only once the server answered on this connection", () => {
    const { plan } = cleanPlan();
    plan.connected();
    expect(plan.confirmed("d1", H1)).toBe(false);
    plan.changes({ token: "e.1", all: false, documentIds: [] });
    expect(plan.confirmed("d1", H1)).toBe(true);
    expect(plan.confirmed("d1", H2)).toBe(false);
  });

  it("takes a bundle's documents as clean at their heads", () => {
    const storage = memory();
    new SyncPlan(storage).imported("e.9", [["d1", H1], ["d2", H2]]);
    const plan = new SyncPlan(storage);
    expect(plan.token()).toBe("e.9");
    expect(plan.shouldSync("d1", H1)).toBe(false);
    expect(plan.shouldSync("d2", H1)).toBe(true);
  });

  it("ignores a damaged saved plan", () => {
    const storage = memory();
    for (const bad of ["{", "null", '{"token":1,"clean":{}}', '{"token":"e.1","clean":["d1"]}', '{"token":"e.1","clean":{"d1":2}}']) {
      storage.data.set("glosa.syncPlan", bad);
      const plan = new SyncPlan(storage);
      expect(plan.token()).toBeNull();
      expect(plan.shouldSync("d1", H1)).toBe(true);
    }
  });

  it("keys heads by a sorted prefix of each", () => {
    expect(headsKey(["zzzzzzzzzzzzzzzzzz", "aaaaaaaaaaaaaaaaaa"])).toBe("aaaaaaaaaaaaaaaa,zzzzzzzzzzzzzzzz");
    expect(headsKey([])).toBe("");
  });
});

describe("parseBundle", () => {
  function bundle(header: unknown, body: number[] = [], magic = "GLB1"): ArrayBuffer {
    const json = new TextEncoder().encode(JSON.stringify(header));
    const out = new Uint8Array(8 + json.length + body.length);
    out.set(new TextEncoder().encode(magic), 0);
    new DataView(out.buffer).setUint32(4, json.length);
    out.set(json, 8);
    out.set(body, 8 + json.length);
    return out.buffer;
  }
  const ID = "2xH64HFvCcepvLZUrsbWhWTQTZRL";

  it("reads the token and each document's bytes", () => {
    const b = parseBundle(bundle({ token: "e.4", documents: [[ID, 2], [ID, 1]] }, [1, 2, 3]));
    expect(b.token).toBe("e.4");
    expect(b.docs.map((d) => [d.id, [...d.bytes]])).toEqual([[ID, [1, 2]], [ID, [3]]]);
  });

  it("refuses anything malformed", () => {
    const bad = [
      bundle({ token: "e.4", documents: [] }, [], "GLB2"),
      bundle({ token: 4, documents: [] }),
      bundle({ token: "e.4", documents: [[ID, 5]] }, [1]),
      bundle({ token: "e.4", documents: [["not an id", 0]] }),
      bundle({ token: "e.4", documents: [[ID, -1]] }),
      new Uint8Array([71, 76, 66, 49, 0, 0, 1, 0]).buffer,
    ];
    for (const b of bad) expect(() => parseBundle(b)).toThrow();
  });
});
