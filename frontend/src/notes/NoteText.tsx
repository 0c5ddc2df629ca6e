/**
 * A note's text: plain text, line breaks kept. Never markup: each line is a
 * text child, so `<img onerror=…>` or `<script>` in a note is just shown.
 */
import { formatSince } from "../format";

export function NoteText({ text }: { text: string }) {
  const lines = text.split("\n");
  return (
    <p class="note-text" dir="auto">
      {lines.map((line, i) => (i === 0 ? line : [<br key={i} />, line]))}
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
