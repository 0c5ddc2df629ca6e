/**
 * DOM glue for the reading position: captures the top block of the article
 * body while the reader scrolls, restores it on the next visit (and after
 * the app re-renders the article, unless the reader scrolled meanwhile).
 */
import { capture, loadPosition, savePosition, target, type Box } from "./position";

const BLOCKS = "#main article .body > *";

function boxes(): Box[] {
  return Array.from(document.querySelectorAll(BLOCKS)).map((el) => {
    const r = el.getBoundingClientRect();
    return { top: r.top + scrollY, height: r.height };
  });
}

/** Height of the sticky header, so "top of the viewport" means the first visible line. */
function offset(): number {
  const h = document.querySelector("header.bar");
  return h ? h.getBoundingClientRect().height : 0;
}

export class ReadingPosition {
  #slug: string;
  #userScrolled = false;
  #restoring = false;
  #timer: ReturnType<typeof setTimeout> | null = null;

  constructor(slug: string) {
    this.#slug = slug;
    if ("scrollRestoration" in history) history.scrollRestoration = "manual";
    addEventListener("scroll", this.#onScroll, { passive: true });
    addEventListener("pagehide", () => this.save());
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "hidden") this.save();
    });
  }

  /** Scrolls back to the saved position, unless the reader already moved. */
  restore(): void {
    if (this.#userScrolled) return;
    const pos = loadPosition(this.#slug);
    if (!pos) return;
    const y = target(pos, boxes());
    if (y === null) return;
    this.#restoring = true;
    scrollTo({ top: Math.max(0, y - offset()), behavior: "instant" });
    // The scroll event of our own scrollTo arrives asynchronously.
    requestAnimationFrame(() => requestAnimationFrame(() => (this.#restoring = false)));
  }

  save(): void {
    const pos = capture(boxes(), scrollY + offset(), Date.now());
    if (pos) savePosition(this.#slug, pos);
  }

  #onScroll = () => {
    if (!this.#restoring) this.#userScrolled = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.save(), 400);
  };
}
