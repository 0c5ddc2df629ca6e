import type { Plugin } from "vite";
import { defineConfig } from "vitest/config";
import { VitePWA } from "vite-plugin-pwa";

// The entry the server looks up in dist/.vite/manifest.json (team contract).
const ENTRY = "src/main.ts";

/** Same as the snippet in src/web/page.html: applies reader settings before first paint. */
const SETTINGS_SNIPPET = `<script>try{var d=document.documentElement,t=localStorage.getItem("glosa.theme"),n=localStorage.getItem("glosa.size"),z=[.875,1,1.125,1.25,1.375,1.5,1.75,2][n===null?-1:+n];if(t==="light"||t==="dark"||t==="sepia")d.dataset.theme=t;if(z)d.style.setProperty("--text-scale",z)}catch(e){}</script>`;

/**
 * Emits `shell.html`: the page the service worker answers with for a
 * navigation it has never seen while offline. It links the same hashed entry
 * JS/CSS as the server's pages, so the app boots and renders from IndexedDB.
 * Generated here (not hand-written) so its asset names always match the build.
 */
function appShell(): Plugin {
  return {
    name: "glosa-app-shell",
    apply: "build",
    generateBundle(_options, bundle) {
      const entry = Object.values(bundle).find(
        (c) => c.type === "chunk" && c.isEntry && c.facadeModuleId?.endsWith(ENTRY),
      );
      if (!entry || entry.type !== "chunk") throw new Error(`no entry chunk for ${ENTRY}`);
      const css = [...(entry.viteMetadata?.importedCss ?? [])];
      const links = css.map((f) => `<link rel="stylesheet" href="/${f}">`).join("\n");
      const html = `<!doctype html>
<html lang="en" dir="ltr">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta name="theme-color" content="#f7f4ee">
<link rel="manifest" href="/manifest.webmanifest">
<link rel="icon" href="/icon.svg" type="image/svg+xml">
<title>Glosa</title>
${SETTINGS_SNIPPET}
${links}
<script type="module" src="/${entry.fileName}"></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="bar"><a href="/" class="brand">Glosa</a></header>
<main id="main"><p class="loading">Opening from this device…</p></main>
<script type="application/json" id="glosa-data">{"page":"shell"}</script>
</body>
</html>
`;
      this.emitFile({ type: "asset", fileName: "shell.html", source: html });
    },
  };
}

export default defineConfig({
  base: "/",
  // JSX without preact/compat or the preset: the automatic runtime from preact.
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: {
    manifest: true,
    sourcemap: false,
    target: "es2022",
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    rollupOptions: {
      input: ENTRY,
      output: {
        entryFileNames: "assets/[name]-[hash].js",
        chunkFileNames: "assets/[name]-[hash].js",
        assetFileNames: "assets/[name]-[hash][extname]",
      },
    },
  },
  plugins: [
    appShell(),
    VitePWA({
      strategies: "injectManifest",
      srcDir: "src",
      filename: "sw.ts",
      injectRegister: false,
      manifest: false,
      injectManifest: {
        globPatterns: ["**/*.{js,css,wasm,html,svg,png,webmanifest}"],
        globIgnores: ["sw.js", "**/*.br", "**/*.gz"],
        // The automerge wasm is ~3.6 MB raw: the default 2 MiB would drop it silently.
        maximumFileSizeToCacheInBytes: 8 * 1024 * 1024,
        minify: true,
        rollupFormat: "iife",
        sourcemap: false,
      },
    }),
  ],
  test: {
    include: ["test/**/*.test.{ts,tsx}"],
    environment: "node",
    // Generous: the CI machine is a noisy 2-core box.
    testTimeout: 30_000,
  },
});
