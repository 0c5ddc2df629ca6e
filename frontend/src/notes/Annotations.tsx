/**
 * The notes layer of an article (issue 4). Wraps the Article view: gives it
 * the highlights (`marks`) and what a tap on one does (`onMark`), and renders
 * inside it the "Add note" button, the note editor, and the notes list (in
 * the margin on wide screens, in a bottom sheet on phones).
 *
 * State lives in the article's notes document (automerge-repo, IndexedDB +
 * sync); every save is flushed to IndexedDB at once, so a note written
 * offline survives the browser being killed.
 */
import type { ComponentChildren, VNode } from "preact";
import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState } from "preact/hooks";
import type { DocHandle } from "@automerge/automerge-repo/slim";
import type { Session } from "../sync/session";
import type { ArticleDoc } from "../types";
import type { Mark } from "../render";
import { makeAnchor, place, type Placement } from "./anchor";
import { addNote, addReply, editText, setDeleted } from "./edits";
import { LimitedText, NameAsk } from "./fields";
import { lengthStatus, readNotes, str, type Note, type RawNotesDoc } from "./model";
import { loadName, onNameChange, saveName } from "./name";
import { NoteCard, type NoteActions } from "./NoteCard";
import { flatten } from "./passage";
import { pickSelection, type Picked } from "./selection";
import { ServerCopy } from "./synced";
import "./notes.css";

/** What the Article view gets from the notes layer. */
export interface Layer {
  marks: readonly Mark[];
  onMark: (ids: string[]) => void;
  children: ComponentChildren;
}

export interface AnnotationsProps {
  session: Session;
  article: DocHandle<ArticleDoc>;
  /** `automerge:…` of the article's notes document, if known. */
  notesUrl: string | undefined;
  children: (layer: Layer) => VNode;
}

/** Wide enough for a margin beside the 40rem text column. */
const WIDE = "(min-width: 72rem)";
const BODY = "#main article.article .body";

interface Draft {
  anchor: { start: string; end: string; quote: string };
  text: string;
  name: string;
  missing: boolean;
}

type Selected = Picked & { quote: string };

function useWide(): boolean {
  const [wide, setWide] = useState(() => typeof matchMedia === "function" && matchMedia(WIDE).matches);
  useEffect(() => {
    if (typeof matchMedia !== "function") return;
    const mq = matchMedia(WIDE);
    const on = () => setWide(mq.matches);
    mq.addEventListener("change", on);
    return () => mq.removeEventListener("change", on);
  }, []);
  return wide;
}

/**
 * Shows a native <dialog> modally while `open` (focus trap, Escape, inert
 * page for free). A layout effect: the dialog opens and closes in the same
 * commit, so the focus we move afterwards is not undone by the dialog's own
 * focus restoration.
 */
function useModal(open: boolean) {
  const ref = useRef<HTMLDialogElement>(null);
  useLayoutEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (open && !d.open) d.showModal();
    if (!open && d.open) d.close();
  }, [open]);
  return ref;
}

const focusLater = (el: () => HTMLElement | null | undefined) =>
  requestAnimationFrame(() => {
    const x = el();
    if (x && x.isConnected) {
      x.focus();
      x.scrollIntoView?.({ block: "nearest" });
    }
  });

export function Annotations({ session, article, notesUrl, children: renderArticle }: AnnotationsProps): VNode {
  const [handle, setHandle] = useState<DocHandle<RawNotesDoc> | null>(null);
  const [, setTick] = useState(0);
  const bump = useCallback(() => setTick((t) => t + 1), []);
  const server = useRef<ServerCopy | null>(null);
  const [name, setNameState] = useState(loadName);
  const [now, setNow] = useState(Date.now);
  const [stored, setStored] = useState<ReadonlySet<string>>(new Set());
  const [pick, setPick] = useState<Selected | null>(null);
  const [draft, setDraft] = useState<Draft | null>(null);
  const [sheet, setSheet] = useState(false);
  const [current, setCurrent] = useState<string | null>(null);
  const [undo, setUndo] = useState<{ path: string[]; what: string } | null>(null);
  const returnTo = useRef<HTMLElement | null>(null);
  const wide = useWide();

  // The notes document: from IndexedDB, else the server. Offline and never
  // stored: retried on the next connection; the article reads meanwhile.
  useEffect(() => {
    if (!notesUrl) return;
    let live = true;
    let off = () => {};
    let unsub = () => {};
    const open = () =>
      session
        .find<RawNotesDoc>(notesUrl)
        .then((h) => {
          if (!live) return;
          unsub();
          server.current = new ServerCopy(h, session.repo, bump);
          h.on("change", bump);
          off = () => h.off("change", bump);
          setHandle(h);
        })
        .catch(() => {
          if (live) unsub = session.onConnect(() => void open());
        });
    void open();
    return () => {
      live = false;
      off();
      unsub();
    };
  }, [notesUrl, session, bump]);

  useEffect(() => onNameChange(setNameState), []);
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 30_000);
    return () => clearInterval(t);
  }, []);

  const articleDoc = article.doc();
  const body = str(articleDoc.body);
  const flat = useMemo(() => flatten(body), [body]);
  const flatRef = useRef(flat);
  flatRef.current = flat;

  const all: Note[] = handle ? readNotes(handle.doc()) : [];
  const visible = all.filter((n) => !n.deleted);
  const placements = new Map<string, Placement>();
  for (const n of visible) placements.set(n.id, place(articleDoc, flat, n));
  const unsynced = server.current ? server.current.unsynced(all) : new Set<string>();

  const marksKey = visible
    .map((n) => {
      const p = placements.get(n.id);
      return p?.kind === "placed" ? `${n.id}:${p.start}:${p.end}` : "";
    })
    .join(",");
  const marks = useMemo<Mark[]>(() => {
    const out: Mark[] = [];
    for (const n of visible) {
      const p = placements.get(n.id);
      if (p?.kind === "placed") out.push({ id: n.id, start: p.start, end: p.end });
    }
    return out;
    // Stable while the highlighted ranges are: the article is not re-parsed on every keystroke.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [marksKey]);

  // The selection, for the "Add note" button.
  const editing = draft !== null;
  useEffect(() => {
    if (editing) {
      setPick(null);
      return;
    }
    let raf = 0;
    const update = () => {
      raf = 0;
      const root = document.querySelector(BODY);
      const p = root ? pickSelection(root, flatRef.current) : null;
      if (!p) return setPick(null);
      // The selection's own text keeps the line breaks between paragraphs;
      // if it reaches outside the body, the body's part of it is quoted.
      const sel = document.getSelection();
      const inside = !!root && root.contains(sel?.anchorNode ?? null) && root.contains(sel?.focusNode ?? null);
      const quote = (inside ? (sel?.toString() ?? "") : body.slice(p.start, p.end)).trim();
      setPick({ ...p, quote });
    };
    const on = () => {
      if (!raf) raf = requestAnimationFrame(update);
    };
    document.addEventListener("selectionchange", on);
    addEventListener("scroll", on, { passive: true });
    addEventListener("resize", on);
    on();
    return () => {
      if (raf) cancelAnimationFrame(raf);
      document.removeEventListener("selectionchange", on);
      removeEventListener("scroll", on);
      removeEventListener("resize", on);
    };
  }, [editing, body]);

  const flush = useCallback(
    (h: DocHandle<RawNotesDoc>, key: string) => {
      // automerge-repo saves on a debounce; a note must be on disk before
      // the phone can lose power or the tab be killed.
      session
        .flush([h.documentId])
        .then(() => setStored((s) => new Set(s).add(key)))
        .catch((err: unknown) => console.error("saving the note to this device failed", err));
    },
    [session],
  );

  const setName = (n: string) => {
    const saved = saveName(n);
    setNameState(saved);
    return saved;
  };

  const startNote = () => {
    if (!pick || !handle) return;
    returnTo.current = document.activeElement as HTMLElement | null;
    const anchor = makeAnchor(articleDoc, pick.start, pick.end);
    setDraft({ anchor: { ...anchor, quote: pick.quote || anchor.quote }, text: "", name, missing: false });
  };

  const saveDraft = () => {
    if (!draft || !handle) return;
    const st = lengthStatus(draft.text);
    if (st.empty || st.over) return;
    let author = name;
    if (!author) {
      author = setName(draft.name);
      if (!author) {
        setDraft({ ...draft, missing: true });
        return;
      }
    }
    const id = addNote(handle, { author, text: draft.text, anchor: draft.anchor });
    flush(handle, id);
    setDraft(null);
    document.getSelection()?.removeAllRanges();
    setCurrent(id);
    // Back to the text, on the new highlight.
    focusLater(() => document.querySelector<HTMLElement>(`${BODY} mark[data-notes~="${CSS.escape(id)}"]`) ?? document.getElementById(`note-${id}`));
  };

  /** Where focus goes back to: the control that opened a dialog, else the notes heading or toggle. */
  const goBack = () => {
    const back = returnTo.current;
    returnTo.current = null;
    focusLater(() =>
      back?.isConnected && back !== document.body
        ? back
        : (document.querySelector<HTMLElement>(".notes-toggle") ?? document.getElementById("notes-title")),
    );
  };

  const cancelDraft = () => {
    setDraft(null);
    goBack();
  };

  const act: NoteActions = {
    name,
    setName,
    reply: (noteId, text) => {
      if (!handle) return;
      const rid = addReply(handle, noteId, { author: name || loadName(), text });
      flush(handle, `${noteId}/${rid}`);
      setUndo(null);
    },
    edit: (path, text) => {
      if (!handle) return;
      editText(handle, path, text);
      flush(handle, path.join("/"));
    },
    remove: (path) => {
      if (!handle) return;
      setDeleted(handle, path, true);
      flush(handle, path.join("/"));
      setUndo({ path, what: path.length === 1 ? "Note" : "Reply" });
      focusLater(() => document.getElementById("notes-undo"));
    },
  };

  const restore = (path: string[]) => {
    if (!handle) return;
    setDeleted(handle, path, false);
    flush(handle, path.join("/"));
    setUndo(null);
    focusLater(() => document.getElementById(`note-${path[0] ?? ""}`));
  };

  const onMark = useCallback(
    (ids: string[]) => {
      const id = ids[0];
      if (!id) return;
      returnTo.current = document.activeElement as HTMLElement | null;
      setCurrent(id);
      if (!wide) setSheet(true);
      focusLater(() => document.getElementById(`note-${id}`));
    },
    [wide],
  );

  const openSheet = () => {
    returnTo.current = document.activeElement as HTMLElement | null;
    setSheet(true);
    focusLater(() => (current ? document.getElementById(`note-${current}`) : null) ?? document.getElementById("notes-title"));
  };
  const closeSheet = () => {
    setSheet(false);
    goBack();
  };

  const editorRef = useModal(draft !== null);
  const sheetRef = useModal(!wide && sheet);

  const mineDeleted: { path: string[]; label: string; quote: string }[] = [];
  for (const n of all) {
    if (!name || n.author !== name) {
      for (const r of n.deleted ? [] : n.replies) if (name && r.author === name && r.deleted) mineDeleted.push({ path: [n.id, r.id], label: "Reply", quote: r.text });
      continue;
    }
    if (n.deleted) mineDeleted.push({ path: [n.id], label: "Note", quote: n.text });
    else for (const r of n.replies) if (r.author === name && r.deleted) mineDeleted.push({ path: [n.id, r.id], label: "Reply", quote: r.text });
  }

  const list = (
    <div
      class="notes-list"
      data-notes-ready={handle ? "true" : "false"}
      data-count={visible.length}
      data-heads={handle ? handle.heads().join(",") : undefined}
      data-server-heads={server.current?.heads().join(",")}
    >
      {undo && (
        <p class="undo" role="status">
          {undo.what} deleted.{" "}
          <button type="button" id="notes-undo" onClick={() => restore(undo.path)}>
            Undo
          </button>
        </p>
      )}
      {!handle ? (
        <p class="empty">{notesUrl ? "Loading notes…" : "Notes are not available for this article on this device yet."}</p>
      ) : visible.length === 0 ? (
        <p class="empty">No notes yet. Select a passage of the text to add one.</p>
      ) : (
        visible.map((n) => (
          <NoteCard
            key={n.id}
            note={n}
            removed={placements.get(n.id)?.kind === "removed"}
            unsynced={unsynced}
            stored={stored}
            now={now}
            act={act}
            current={current === n.id}
          />
        ))
      )}
      {mineDeleted.length > 0 && (
        <details class="deleted">
          <summary>Your deleted notes ({mineDeleted.length})</summary>
          <ul>
            {mineDeleted.map((d) => (
              <li key={d.path.join("/")} data-deleted-id={d.path.join("/")}>
                <span dir="auto">
                  {d.label}: {d.quote.length > 80 ? `${d.quote.slice(0, 80)}…` : d.quote}
                </span>{" "}
                <button type="button" onClick={() => restore(d.path)}>
                  Restore<span class="visually-hidden"> {d.label.toLowerCase()}</span>
                </button>
              </li>
            ))}
          </ul>
        </details>
      )}
    </div>
  );

  const count = visible.length;
  const heading = (
    <h2 id="notes-title" tabIndex={-1}>
      Notes <span class="count">({count})</span>
    </h2>
  );

  const layer = (
    <div class="notes" lang="en" dir="ltr" data-wide={wide ? "true" : "false"}>
      {wide ? (
        <section class="notes-margin" aria-labelledby="notes-title">
          {heading}
          {list}
        </section>
      ) : (
        <>
          <button type="button" class="notes-toggle" aria-haspopup="dialog" aria-expanded={sheet} onClick={openSheet}>
            Notes ({count})
          </button>
          <dialog ref={sheetRef} class="sheet" aria-labelledby="notes-title" onClose={() => sheet && closeSheet()}>
            <div class="sheet-head">
              {heading}
              <button type="button" class="close" onClick={closeSheet}>
                Close<span class="visually-hidden"> notes</span>
              </button>
            </div>
            {list}
          </dialog>
        </>
      )}
      {pick && handle && !draft && (
        <button
          type="button"
          class="add-note"
          style={{
            top: `${Math.min(Math.max(8, pick.rect.bottom + 12), innerHeight - 60)}px`,
            left: `${Math.min(Math.max(8, pick.rect.right - 48), innerWidth - 120)}px`,
          }}
          // Keep the selection: the button must not take it away on press.
          onPointerDown={(e) => e.preventDefault()}
          onMouseDown={(e) => e.preventDefault()}
          onClick={startNote}
        >
          Add note
        </button>
      )}
      <dialog ref={editorRef} class="editor" aria-labelledby="note-editor-title" onClose={() => draft && cancelDraft()}>
        {draft && (
          <form
            onSubmit={(e) => {
              e.preventDefault();
              saveDraft();
            }}
          >
            <h2 id="note-editor-title">New note</h2>
            <blockquote class="quote" dir="auto">
              {draft.anchor.quote}
            </blockquote>
            {!name && (
              <NameAsk
                id="note-editor-name"
                value={draft.name}
                onInput={(v) => setDraft({ ...draft, name: v, missing: false })}
                missing={draft.missing}
                autoFocus
              />
            )}
            <LimitedText
              id="note-editor-text"
              label="Note"
              value={draft.text}
              onInput={(v) => setDraft({ ...draft, text: v })}
              autoFocus={!!name}
            />
            <div class="buttons">
              <button type="submit" class="primary" disabled={lengthStatus(draft.text).empty}>
                Save note
              </button>
              <button type="button" onClick={cancelDraft}>
                Cancel
              </button>
            </div>
          </form>
        )}
      </dialog>
    </div>
  );

  return renderArticle({ marks, onMark, children: layer });
}
