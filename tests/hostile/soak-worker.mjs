// One soak worker: `count` stock automerge-repo clients, each a phone with
// one article and its notes open. Every client now and then adds a note and
// reads its notes. Reports to the parent (scripts/soak via soak.mjs) over IPC.
//
// argv: wsUrl articlesJson count firstIndex noteEveryMs

import { Repo } from "@automerge/automerge-repo";
import { WebSocketClientAdapter } from "@automerge/automerge-repo-network-websocket";
import * as Automerge from "@automerge/automerge";

const [wsUrl, articlesJson, countArg, firstArg, noteEveryArg] = process.argv.slice(2);
const articles = JSON.parse(articlesJson);
const count = Number(countArg);
const first = Number(firstArg);
const noteEveryMs = Number(noteEveryArg);

const send = (m) => process.send?.(m);
const clients = [];
let stopping = false;
let errors = 0;
let notesAdded = 0;
let reads = 0;

function sameHeads(a, b) {
  if (!a || !b || a.length !== b.length) return false;
  const sa = [...a].sort();
  const sb = [...b].sort();
  return sa.every((h, i) => h === sb[i]);
}

async function waitFor(cond, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return cond();
}

async function startClient(i) {
  const entry = articles[i % articles.length];
  const adapter = new WebSocketClientAdapter(wsUrl, 5_000);
  const c = { i, entry, adapter, disconnects: 0, notes: [], timer: null };
  adapter.on("peer-disconnected", () => {
    if (!stopping) c.disconnects += 1;
  });
  c.repo = new Repo({ network: [adapter] });
  if (!(await waitFor(() => adapter.remotePeerId, 120_000))) throw new Error(`client ${i} never joined`);
  c.article = await c.repo.find(entry.url, { signal: AbortSignal.timeout(120_000) });
  c.notesHandle = await c.repo.find(entry.notes, { signal: AbortSignal.timeout(120_000) });
  return c;
}

function addNote(c) {
  const id = `soak-${first + c.i}-${c.notes.length}-${Math.random().toString(36).slice(2, 8)}`;
  const doc = c.article.doc();
  const body = String(doc.body);
  const start = Math.floor(Math.random() * Math.max(1, body.length - 20));
  c.notesHandle.change((d) => {
    if (!d.notes) d.notes = {};
    d.notes[id] = {
      id,
      author: `phone-${first + c.i}`,
      created: Date.now(),
      edited: null,
      text: `soak note ${c.notes.length} from phone ${first + c.i}`,
      anchor: {
        start: Automerge.getCursor(doc, ["body"], start),
        end: Automerge.getCursor(doc, ["body"], start + 10),
        quote: body.slice(start, start + 10),
      },
      replies: {},
      deleted: false,
    };
  });
  c.notes.push(id);
  notesAdded += 1;
}

function schedule(c) {
  // Spread out: each phone acts at a random moment in every period.
  const delay = noteEveryMs / 2 + Math.random() * noteEveryMs;
  c.timer = setTimeout(() => {
    if (stopping) return;
    try {
      addNote(c);
      // A read: what a phone does when it shows the notes.
      reads += Object.keys(c.notesHandle.doc().notes ?? {}).length > 0 ? 1 : 0;
    } catch (e) {
      errors += 1;
      send({ type: "error", message: `client ${first + c.i}: ${e.message}` });
    }
    schedule(c);
  }, delay);
}

function stats() {
  return {
    type: "stats",
    clients: clients.length,
    connected: clients.filter((c) => c.adapter.remotePeerId && c.adapter.socket?.readyState === 1).length,
    disconnects: clients.reduce((n, c) => n + c.disconnects, 0),
    notesAdded,
    reads,
    errors,
  };
}

process.on("message", async (m) => {
  if (m.type === "stats") send(stats());
  if (m.type === "stop") {
    stopping = true;
    for (const c of clients) clearTimeout(c.timer);
    // Everything written reached the server: it reports our heads back.
    let unsynced = 0;
    for (const c of clients) {
      const sid = c.repo.getStorageIdOfPeer(c.adapter.remotePeerId);
      const ok = await waitFor(() => sid && sameHeads(c.notesHandle.getSyncInfo(sid)?.lastHeads, c.notesHandle.heads()), 120_000);
      if (!ok) unsynced += 1;
    }
    const final = stats();
    send({
      ...final,
      type: "done",
      unsynced,
      noteIds: clients.map((c) => ({ notes: c.entry.notes, ids: c.notes })),
    });
    await Promise.all(clients.map((c) => c.repo.shutdown().catch(() => {})));
    process.exit(0);
  }
});

// Connect gradually, a few at a time, as phones coming online would.
for (let i = 0; i < count; i += 10) {
  const batch = await Promise.all(
    Array.from({ length: Math.min(10, count - i) }, (_, k) =>
      startClient(i + k).catch((e) => {
        errors += 1;
        send({ type: "error", message: `client ${first + i + k} failed to start: ${e.message}` });
        return null;
      }),
    ),
  );
  for (const c of batch) if (c) clients.push(c);
}
for (const c of clients) schedule(c);
send({ type: "ready", clients: clients.length });
