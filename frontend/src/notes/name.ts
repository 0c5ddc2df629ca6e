/**
 * The author's display name, asked once and kept on this device (until the
 * community and roles issue binds notes to a real identity). Part of the
 * entry chunk (the settings field uses it), so no automerge here.
 */
import { safeStorage } from "../progress";

const KEY = "glosa.name";
/** Long enough for real names, short enough to lay out in a byline. */
export const MAX_NAME = 60;

type Listener = (name: string) => void;
const listeners = new Set<Listener>();

export function cleanName(raw: string): string {
  return raw.replace(/\s+/g, " ").trim().slice(0, MAX_NAME);
}

export function loadName(storage = safeStorage()): string {
  try {
    return cleanName(storage?.getItem(KEY) ?? "");
  } catch {
    return "";
  }
}

export function saveName(raw: string, storage = safeStorage()): string {
  const name = cleanName(raw);
  try {
    if (name) storage?.setItem(KEY, name);
    else storage?.removeItem(KEY);
  } catch {
    /* kept for this page only */
  }
  for (const l of listeners) l(name);
  return name;
}

/** Called when the name is changed from elsewhere on the page (settings ↔ note editor). */
export function onNameChange(l: Listener): () => void {
  listeners.add(l);
  return () => listeners.delete(l);
}
