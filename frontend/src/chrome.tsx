/**
 * The always-visible header controls: the sync status and the display
 * settings (text size, theme). Part of the small entry chunk.
 */
import { useEffect, useState } from "preact/hooks";
import { formatSince } from "./format";
import { applySettings, saveSettings, SIZES, step, THEMES, type Settings, type Theme } from "./settings";
import { statusLabel } from "./status";
import { useStore, type Store } from "./store";
import { NameField } from "./notes/NameField";

const THEME_NAMES: Record<Theme, string> = { system: "System", light: "Light", dark: "Dark", sepia: "Sepia" };

export function Chrome({ store, initial }: { store: Store; initial: Settings }) {
  const s = useStore(store);
  const [settings, setSettings] = useState(initial);
  // While offline, "last synced 5 min ago" must keep counting.
  const [, tick] = useState(0);
  const offline = s.sync === "offline" || s.sync === "pending" || s.sync === "starting";
  useEffect(() => {
    if (!offline) return;
    const id = setInterval(() => tick((n) => n + 1), 30_000);
    return () => clearInterval(id);
  }, [offline]);
  const update = (next: Settings) => {
    setSettings(next);
    applySettings(next);
    saveSettings(next);
  };
  const online = typeof navigator === "undefined" || navigator.onLine;
  const label = s.problem
    ? s.problem
    : s.sync === "starting"
      ? online
        ? "Connecting…"
        : statusLabel("offline", s.lastSynced, (t) => formatSince(t))
      : statusLabel(s.sync, s.lastSynced, (t) => formatSince(t));
  return (
    <div class="chrome">
      <p
        id="sync-status"
        class="status"
        role="status"
        data-sync-state={s.sync}
        data-saved={s.progress ? String(s.progress.saved) : undefined}
        data-total={s.progress ? String(s.progress.total) : undefined}
      >
        <span class="dot" aria-hidden="true" />
        {label}
      </p>
      <details class="display">
        <summary>Display</summary>
        <div class="panel">
          <div class="size" role="group" aria-label="Text size">
            <button
              type="button"
              disabled={settings.size === 0}
              onClick={() => update({ ...settings, size: step(settings.size, -1) })}
            >
              Smaller
            </button>
            <output aria-live="polite">{Math.round((SIZES[settings.size] ?? 1) * 100)}%</output>
            <button
              type="button"
              disabled={settings.size === SIZES.length - 1}
              onClick={() => update({ ...settings, size: step(settings.size, 1) })}
            >
              Larger
            </button>
          </div>
          <fieldset class="themes">
            <legend>Theme</legend>
            {THEMES.map((t) => (
              <label key={t}>
                <input
                  type="radio"
                  name="theme"
                  value={t}
                  checked={settings.theme === t}
                  onChange={() => update({ ...settings, theme: t })}
                />
                {THEME_NAMES[t]}
              </label>
            ))}
          </fieldset>
          {/* Notes (issue 4): the display name, asked once when writing the first note. */}
          <NameField />
        </div>
      </details>
    </div>
  );
}
