/**
 * The service worker. Precaches the app shell, the JS/CSS, the automerge
 * wasm and the icons (Workbox, list injected at build time). Navigations go
 * to the network first (server-rendered pages are freshest), fall back to a
 * cached copy of that page, and finally to the precached app shell, which
 * renders the library or any saved article from IndexedDB.
 */
/// <reference lib="webworker" />
import { clientsClaim } from "workbox-core";
import { ExpirationPlugin } from "workbox-expiration";
import { cleanupOutdatedCaches, matchPrecache, precacheAndRoute } from "workbox-precaching";
import { registerRoute } from "workbox-routing";
import { NetworkFirst } from "workbox-strategies";

declare const self: ServiceWorkerGlobalScope & { __WB_MANIFEST: (string | { url: string; revision: string | null })[] };

const PAGES = "glosa-pages";

precacheAndRoute(self.__WB_MANIFEST);
cleanupOutdatedCaches();
self.skipWaiting();
clientsClaim();

// A new service worker means a new build: pages cached by the old one
// reference hashed assets that are no longer precached, so drop them (the
// app shell covers every page offline until they are visited again).
self.addEventListener("activate", (event) => {
  event.waitUntil(caches.delete(PAGES));
});

const pages = new NetworkFirst({
  cacheName: PAGES,
  // On a bad link, give up on the network after a few seconds and use the cache.
  networkTimeoutSeconds: 4,
  plugins: [
    new ExpirationPlugin({ maxEntries: 500 }),
    // Only complete, successful pages are worth keeping.
    { cacheWillUpdate: async ({ response }) => (response.status === 200 ? response : null) },
  ],
});

/** Never handled as pages: the sync socket, the JSON API, health checks. */
const NOT_PAGES = /^\/(?:sync|api|healthz)(?:\/|$)/;

registerRoute(
  ({ request, url }) => request.mode === "navigate" && url.origin === self.location.origin && !NOT_PAGES.test(url.pathname),
  async (options) => {
    try {
      const response = await pages.handle(options);
      if (response) return response;
    } catch {
      // Offline and not cached: fall through to the app shell.
    }
    const shell = await matchPrecache("/shell.html");
    return shell ?? Response.error();
  },
);
