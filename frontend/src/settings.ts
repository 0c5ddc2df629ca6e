/**
 * Reader settings: theme and text size, kept on the device. The theme
 * follows the system unless the reader picks one.
 */
import { safeStorage } from "./progress";

export type Theme = "system" | "light" | "dark" | "sepia";
export const THEMES: readonly Theme[] = ["system", "light", "dark", "sepia"];

/** Text-size steps, as a scale of the base size. */
export const SIZES: readonly number[] = [0.875, 1, 1.125, 1.25, 1.375, 1.5, 1.75, 2];
export const DEFAULT_SIZE = 1;

export interface Settings {
  theme: Theme;
  size: number; // index into SIZES
}

export function parseSettings(theme: string | null, size: string | null): Settings {
  const t = THEMES.includes(theme as Theme) ? (theme as Theme) : "system";
  const n = size === null || size === "" ? Number.NaN : Number(size);
  const s = Number.isInteger(n) && n >= 0 && n < SIZES.length ? n : DEFAULT_SIZE;
  return { theme: t, size: s };
}

export function step(size: number, by: number): number {
  return Math.min(SIZES.length - 1, Math.max(0, size + by));
}

export function loadSettings(storage = safeStorage()): Settings {
  try {
    return parseSettings(storage?.getItem("glosa.theme") ?? null, storage?.getItem("glosa.size") ?? null);
  } catch {
    return parseSettings(null, null);
  }
}

export function saveSettings(s: Settings, storage = safeStorage()): void {
  try {
    storage?.setItem("glosa.theme", s.theme);
    storage?.setItem("glosa.size", String(s.size));
  } catch {
    /* not persisted: still applied for this page */
  }
}

export function applySettings(s: Settings, root: HTMLElement = document.documentElement): void {
  if (s.theme === "system") delete root.dataset.theme;
  else root.dataset.theme = s.theme;
  root.style.setProperty("--text-scale", String(SIZES[s.size] ?? 1));
}
