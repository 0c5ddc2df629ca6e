/**
 * A first install takes the whole library in one download: the server's
 * bundle (`src/bundle.rs`, `GET /api/bundle`) holds every listed document,
 * compressed together with brotli, and a feed token. The documents are
 * written straight into IndexedDB before the repo looks for any of them,
 * and the plan records them as clean at that token, so the socket then
 * syncs only what changed after the bundle was built. Any failure (an old
 * server, a dropped connection, a damaged bundle) just means the usual
 * document-by-document sync.
 */
import { Automerge, encodeHeads, isValidDocumentId, type DocumentId, type Repo } from "@automerge/automerge-repo/slim";
import type { SyncPlan } from "./plan";
import { storeServerHeads } from "../store";

export interface Bundle {
  token: string;
  docs: { id: DocumentId; bytes: Uint8Array }[];
}

const MAGIC = "GLB1";

/** Reads the bundle format; throws on anything malformed. */
export function parseBundle(buf: ArrayBuffer): Bundle {
  const view = new DataView(buf);
  if (buf.byteLength < 8 || new TextDecoder().decode(new Uint8Array(buf, 0, 4)) !== MAGIC) {
    throw new Error("not a Glosa bundle");
  }
  const len = view.getUint32(4);
  if (8 + len > buf.byteLength) throw new Error("truncated bundle header");
  const header: unknown = JSON.parse(new TextDecoder().decode(new Uint8Array(buf, 8, len)));
  const { token, documents } = (header ?? {}) as { token?: unknown; documents?: unknown };
  if (typeof token !== "string" || !Array.isArray(documents)) throw new Error("bad bundle header");
  let at = 8 + len;
  const docs: Bundle["docs"] = [];
  for (const d of documents) {
    const [id, size] = Array.isArray(d) ? (d as unknown[]) : [];
    if (typeof id !== "string" || !isValidDocumentId(id) || typeof size !== "number" || !Number.isInteger(size) || size < 0) {
      throw new Error("bad bundle entry");
    }
    if (at + size > buf.byteLength) throw new Error("truncated bundle");
    docs.push({ id, bytes: new Uint8Array(buf, at, size) });
    at += size;
  }
  return { token, docs };
}

/** Starts the download; resolves to null when there is no usable bundle. */
export async function fetchBundle(): Promise<ArrayBuffer | null> {
  try {
    const res = await fetch("/api/bundle", { cache: "no-store" });
    return res.ok ? await res.arrayBuffer() : null;
  } catch {
    return null;
  }
}

/**
 * Writes the bundle's documents to the repo's storage (skipping any this
 * device already holds), marks them clean in the plan and records their
 * heads as the server's. Returns how many
 * were written. Call before the repo opens any document.
 */
export async function installBundle(repo: Repo, plan: SyncPlan, buf: ArrayBuffer): Promise<number> {
  const storage = repo.storageSubsystem;
  if (!storage) return 0;
  const bundle = parseBundle(buf);
  const clean: [string, string[]][] = [];
  for (const { id, bytes } of bundle.docs) {
    if (await storage.loadDocData(id)) continue;
    const doc = Automerge.load(bytes);
    await storage.saveDoc(id, doc);
    const heads = encodeHeads(Automerge.getHeads(doc));
    clean.push([id, heads]);
    // The server's copy, as the "not yet synced" marks and the header
    // compare against it: a bundled document may not sync for a long time.
    storeServerHeads(id, heads);
  }
  plan.imported(bundle.token, clean);
  return clean.length;
}
