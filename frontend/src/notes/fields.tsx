/** Form fields shared by the note editor, the reply form and the edit form. */
import { useEffect, useRef } from "preact/hooks";
import { LIMIT_MESSAGE, lengthStatus, MAX_CHARS } from "./model";
import { MAX_NAME } from "./name";

/** A textbox limited to MAX_CHARS, with a visible counter and a message at the limit. */
export function LimitedText(props: {
  id: string;
  label: string;
  value: string;
  onInput: (v: string) => void;
  autoFocus?: boolean;
}) {
  const ref = useRef<HTMLTextAreaElement>(null);
  useEffect(() => {
    if (props.autoFocus) ref.current?.focus();
  }, []);
  const st = lengthStatus(props.value);
  return (
    <div class="field">
      <label for={props.id}>{props.label}</label>
      <textarea
        ref={ref}
        id={props.id}
        dir="auto"
        rows={4}
        value={props.value}
        maxLength={MAX_CHARS}
        aria-describedby={`${props.id}-count${st.atLimit ? ` ${props.id}-limit` : ""}`}
        onInput={(e) => {
          const el = e.currentTarget;
          // maxLength stops typing; a paste or a script may still overshoot.
          if (el.value.length > MAX_CHARS) el.value = el.value.slice(0, MAX_CHARS);
          props.onInput(el.value);
        }}
      />
      <p id={`${props.id}-count`} class={st.atLimit ? "counter at-limit" : "counter"} data-count={st.count}>
        {st.label} characters
      </p>
      {st.atLimit && (
        <p id={`${props.id}-limit`} class="limit" role="alert">
          {LIMIT_MESSAGE}
        </p>
      )}
    </div>
  );
}

/** Asked once, the first time the reader writes: the name shown with their notes. */
export function NameAsk(props: { id: string; value: string; onInput: (v: string) => void; missing: boolean; autoFocus?: boolean }) {
  const ref = useRef<HTMLInputElement>(null);
  useEffect(() => {
    if (props.autoFocus) ref.current?.focus();
  }, []);
  return (
    <div class="field">
      <label for={props.id}>Your name</label>
      <input
        ref={ref}
        id={props.id}
        type="text"
        autocomplete="nickname"
        maxLength={MAX_NAME}
        value={props.value}
        aria-describedby={`${props.id}-help`}
        aria-invalid={props.missing ? "true" : undefined}
        onInput={(e) => props.onInput(e.currentTarget.value)}
      />
      <p id={`${props.id}-help`} class={props.missing ? "help problem" : "help"}>
        {props.missing ? "Please enter a name to sign your notes. " : ""}
        Shown with your notes; kept on this device. You can change it under Display.
      </p>
    </div>
  );
}
