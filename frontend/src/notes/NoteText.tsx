import { formatSince } from "../format";

/**
 * A note's text: plain text, one text node; its line breaks are shown by
 * `white-space: pre-wrap` (notes.css) and survive copy and textContent.
 * Never markup: `<img onerror=…>` or `<script>` in a note is just shown.
 */
export function NoteText({ text }: { text: string }) {
  return (
    <p class="note-text" dir="auto">
      {text}
    </p>
  );
}

export function exactTime(t: number): string {
  try {
    return new Date(t).toLocaleString("en", { dateStyle: "medium", timeStyle: "short" });
  } catch {
    return new Date(t).toISOString();
  }
}

/** Relative time; the exact time shows on focus or hover (and is read out with it). */
export function When({ t, now }: { t: number; now: number }) {
  if (!t) return null;
  const exact = exactTime(t);
  return (
    <time class="when" dateTime={new Date(t).toISOString()} title={exact} tabIndex={0}>
      {formatSince(t, now)}
      <span class="exact"> ({exact})</span>
    </time>
  );
}
