/**
 * The entry module, kept small: it runs after the server-rendered page has
 * painted. It applies the reader's settings, mounts the header controls,
 * tracks the reading position, and then, when the browser is idle, loads the
 * app chunk (views + automerge) and registers the service worker.
 */
import "./styles.css";
import { render, h } from "preact";
import { Chrome } from "./chrome";
import { ReadingPosition } from "./reading";
import { applySettings, loadSettings } from "./settings";
import { loadLastSynced, Store } from "./store";
import { readPageData, route } from "./types";

const data = readPageData();
const settings = loadSettings();
applySettings(settings);

const store = new Store({ sync: "starting", lastSynced: loadLastSynced(), progress: null, storage: null, problem: null });

const header = document.querySelector("header.bar");
if (header) {
  const slot = document.createElement("div");
  slot.id = "glosa-chrome";
  // The controls are in English even on an Arabic article's page.
  slot.lang = "en";
  header.append(slot);
  render(h(Chrome, { store, initial: settings }), slot);
}

const r = route(location.pathname);
const reading = r.kind === "article" ? new ReadingPosition(r.slug) : null;
reading?.restore();

/**
 * The service worker precaches the JS and the 3.6 MB wasm. Registered only
 * once the app has loaded automerge, so on a first visit over a slow link
 * its precache is served from the HTTP cache (immutable assets) instead of
 * downloading the wasm a second time alongside the page.
 */
let registered = false;
function registerServiceWorker() {
  if (registered || !("serviceWorker" in navigator)) return;
  registered = true;
  navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch((err: unknown) => {
    console.warn("service worker registration failed", err);
  });
}

function start() {
  import("./app")
    .then((m) => m.start({ data, store, reading, onAutomerge: registerServiceWorker }))
    .catch((err: unknown) => {
      console.error("the app failed to start", err);
      store.set({ problem: "Offline reading could not start in this browser." });
    })
    .finally(registerServiceWorker);
}

if ("requestIdleCallback" in window) requestIdleCallback(start, { timeout: 1500 });
else setTimeout(start, 200);
