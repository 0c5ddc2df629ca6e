// Builds the frontend into an output directory (default dist/) and writes
// precompressed .br/.gz siblings for every file, which the server embeds and
// serves. Deterministic: same sources + same node_modules give the same bytes,
// which scripts/check-frontend relies on.
import { build } from "vite";
import { readdir, readFile, writeFile, rm } from "node:fs/promises";
import { join, resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { brotliCompressSync, gzipSync, constants } from "node:zlib";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const outDir = resolve(process.argv[2] ?? join(root, "dist"));

await rm(outDir, { recursive: true, force: true });
await build({ root, configFile: join(root, "vite.config.ts"), logLevel: "warn", build: { outDir, emptyOutDir: true } });

async function* files(dir) {
  for (const e of (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* files(p);
    else if (!p.endsWith(".br") && !p.endsWith(".gz")) yield p;
  }
}

let count = 0;
for await (const file of files(outDir)) {
  const data = await readFile(file);
  const br = brotliCompressSync(data, {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY,
      [constants.BROTLI_PARAM_SIZE_HINT]: data.length,
    },
  });
  // Node's gzip header carries mtime 0, so the output depends only on the input.
  const gz = gzipSync(data, { level: 9 });
  await writeFile(`${file}.br`, br);
  await writeFile(`${file}.gz`, gz);
  count++;
}
console.log(`built ${outDir} (${count} files, each with .br and .gz)`);
