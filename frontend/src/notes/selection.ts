/**
 * DOM glue: the reader's selection inside the article body, as a body range.
 * A boundary point's index in the visible text is the length of the text
 * from the start of the body to it (Range.toString concatenates exactly the
 * text nodes the renderer made, which is what passage.flatten models).
 */
import { toBody, type Flat } from "./passage";

function indexOf(root: Element, node: Node, offset: number): number {
  const r = document.createRange();
  r.setStart(root, 0);
  r.setEnd(node, offset);
  return r.toString().length;
}

export interface Picked {
  start: number;
  end: number;
  /** Where to put the "Add note" button (viewport coordinates). */
  rect: DOMRect;
}

/** The current selection clamped to `root`, as a body range; null if none. */
export function pickSelection(root: Element, flat: Flat): Picked | null {
  const sel = document.getSelection();
  if (!sel || sel.rangeCount === 0 || sel.isCollapsed) return null;
  const range = sel.getRangeAt(0);
  if (!range.intersectsNode(root)) return null;
  const r = range.cloneRange();
  // A selection that starts in the header or runs past the body is clamped to it.
  if (!root.contains(r.startContainer)) r.setStart(root, 0);
  if (!root.contains(r.endContainer)) r.setEnd(root, root.childNodes.length);
  const whole = indexOf(root, root, root.childNodes.length);
  // The page is not what we modelled (e.g. it changed under us): don't guess.
  if (whole !== flat.text.length) return null;
  const from = indexOf(root, r.startContainer, r.startOffset);
  const to = indexOf(root, r.endContainer, r.endOffset);
  const body = toBody(flat, from, to);
  if (!body) return null;
  const rects = r.getClientRects();
  const rect = rects.length ? (rects[rects.length - 1] as DOMRect) : r.getBoundingClientRect();
  return { ...body, rect };
}
