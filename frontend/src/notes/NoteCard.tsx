/** One note in the list: its passage, author, time, text, replies and actions. */
import { useState } from "preact/hooks";
import { LimitedText, NameAsk } from "./fields";
import { NoteText, When } from "./NoteText";
import { lengthStatus, type Note, type Reply } from "./model";

export interface NoteActions {
  /** The reader's display name ("" until asked). */
  name: string;
  setName: (n: string) => string;
  reply: (noteId: string, text: string) => void;
  edit: (path: string[], text: string) => void;
  remove: (path: string[]) => void;
}

interface Props {
  note: Note;
  removed: boolean;
  unsynced: ReadonlySet<string>;
  /** Ids created in this page whose save to IndexedDB has completed. */
  stored: ReadonlySet<string>;
  now: number;
  act: NoteActions;
  current: boolean;
}

/** Own = signed with the reader's name (the same person on two phones); real identity comes later. */
const isOwn = (r: Reply, name: string) => name !== "" && r.author === name;

function Byline({ r, now, pending }: { r: Reply; now: number; pending: boolean }) {
  return (
    <p class="byline">
      <bdi class="author">{r.author || "Anonymous"}</bdi>
      {" · "}
      <When t={r.created} now={now} />
      {r.edited ? " · edited" : ""}
      {pending && <span class="pending"> · Not yet synced</span>}
    </p>
  );
}

function EditForm({ id, initial, onSave, onCancel }: { id: string; initial: string; onSave: (t: string) => void; onCancel: () => void }) {
  const [text, setText] = useState(initial);
  const st = lengthStatus(text);
  return (
    <form
      class="inline-form"
      onSubmit={(e) => {
        e.preventDefault();
        if (!st.empty && !st.over) onSave(text);
      }}
      onKeyDown={(e) => {
        if (e.key === "Escape") {
          // Closes this form only, not the sheet around it.
          e.preventDefault();
          e.stopPropagation();
          onCancel();
        }
      }}
    >
      <LimitedText id={id} label="Edit note" value={text} onInput={setText} autoFocus />
      <div class="buttons">
        <button type="submit" class="primary" disabled={st.empty}>
          Save changes
        </button>
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

export function NoteCard({ note, removed, unsynced, stored, now, act, current }: Props) {
  const [mode, setMode] = useState<null | { kind: "reply" } | { kind: "edit"; path: string[]; text: string }>(null);
  const [reply, setReply] = useState("");
  const [name, setName] = useState(act.name);
  const [missing, setMissing] = useState(false);
  const own = isOwn(note, act.name);
  const replies = note.replies.filter((r) => !r.deleted);
  const base = `note-${note.id}`;
  const saveReply = () => {
    const st = lengthStatus(reply);
    if (st.empty || st.over) return;
    let signed = act.name;
    if (!signed) {
      signed = act.setName(name);
      if (!signed) {
        setMissing(true);
        return;
      }
    }
    act.reply(note.id, reply);
    setReply("");
    setMode(null);
  };
  return (
    <article
      id={base}
      class={current ? "note current" : "note"}
      tabIndex={-1}
      aria-labelledby={`${base}-by`}
      data-note-id={note.id}
      data-synced={unsynced.has(note.id) ? "false" : "true"}
      data-stored={stored.has(note.id) ? "true" : undefined}
      data-removed={removed ? "true" : "false"}
    >
      <h3 id={`${base}-by`} class="visually-hidden">
        Note by {note.author || "Anonymous"}
      </h3>
      <blockquote class="quote" dir="auto">
        {note.anchor.quote || "(no quoted passage)"}
      </blockquote>
      {removed && <p class="removed">Passage removed by the publisher</p>}
      <Byline r={note} now={now} pending={unsynced.has(note.id)} />
      {mode?.kind === "edit" && mode.path.length === 1 ? (
        <EditForm
          id={`${base}-edit`}
          initial={note.text}
          onSave={(t) => {
            act.edit([note.id], t);
            setMode(null);
          }}
          onCancel={() => setMode(null)}
        />
      ) : (
        <NoteText text={note.text} />
      )}
      <div class="actions">
        <button type="button" aria-expanded={mode?.kind === "reply"} onClick={() => setMode(mode?.kind === "reply" ? null : { kind: "reply" })}>
          Reply
        </button>
        {own && (
          <>
            <button type="button" onClick={() => setMode({ kind: "edit", path: [note.id], text: note.text })}>
              Edit
            </button>
            <button type="button" onClick={() => act.remove([note.id])}>
              Delete
            </button>
          </>
        )}
      </div>
      {replies.length > 0 && (
        <ul class="replies" aria-label={`Replies to ${note.author || "Anonymous"}`}>
          {replies.map((r) => {
            const key = `${note.id}/${r.id}`;
            const editing = mode?.kind === "edit" && mode.path[1] === r.id;
            return (
              <li
                key={r.id}
                class="reply"
                data-reply-id={r.id}
                data-synced={unsynced.has(key) ? "false" : "true"}
                data-stored={stored.has(key) ? "true" : undefined}
              >
                <Byline r={r} now={now} pending={unsynced.has(key)} />
                {editing ? (
                  <EditForm
                    id={`${base}-${r.id}-edit`}
                    initial={r.text}
                    onSave={(t) => {
                      act.edit([note.id, r.id], t);
                      setMode(null);
                    }}
                    onCancel={() => setMode(null)}
                  />
                ) : (
                  <NoteText text={r.text} />
                )}
                {isOwn(r, act.name) && !editing && (
                  <div class="actions">
                    <button type="button" onClick={() => setMode({ kind: "edit", path: [note.id, r.id], text: r.text })}>
                      Edit<span class="visually-hidden"> reply</span>
                    </button>
                    <button type="button" onClick={() => act.remove([note.id, r.id])}>
                      Delete<span class="visually-hidden"> reply</span>
                    </button>
                  </div>
                )}
              </li>
            );
          })}
        </ul>
      )}
      {mode?.kind === "reply" && (
        <form
          class="inline-form"
          onSubmit={(e) => {
            e.preventDefault();
            saveReply();
          }}
          onKeyDown={(e) => {
            if (e.key === "Escape") {
              e.preventDefault();
              e.stopPropagation();
              setMode(null);
            }
          }}
        >
          {!act.name && (
            <NameAsk id={`${base}-name`} value={name} onInput={setName} missing={missing} autoFocus />
          )}
          <LimitedText id={`${base}-reply`} label="Reply" value={reply} onInput={setReply} autoFocus={!!act.name} />
          <div class="buttons">
            <button type="submit" class="primary" disabled={lengthStatus(reply).empty}>
              Save reply
            </button>
            <button type="button" onClick={() => setMode(null)}>
              Cancel
            </button>
          </div>
        </form>
      )}
    </article>
  );
}
