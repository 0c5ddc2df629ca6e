// Draws Glosa's icons (a page with lines of text, one highlighted, and a
// note in the margin) as SVG and as PNGs, without any image library: a tiny
// rasteriser with 4×4 supersampling and a minimal PNG encoder. Run once;
// the outputs in public/ are committed.
import { writeFileSync } from "node:fs";
import { deflateSync } from "node:zlib";

const BG = [0x1d, 0x4f, 0x5e];
const PAGE = [0xf7, 0xf4, 0xee];
const INK = [0x59, 0x53, 0x49];
const MARK = [0xf2, 0xc2, 0x4b];

// Shapes in a 0..1 square: rounded rectangles [x, y, w, h, r, colour].
function shapes(maskable) {
  const s = maskable ? 0.72 : 1; // maskable icons keep content in the safe zone
  const o = (1 - s) / 2;
  const t = (x, y, w, h, r, c) => [o + x * s, o + y * s, w * s, h * s, r * s, c];
  return [
    ...(maskable ? [] : []),
    t(0.22, 0.16, 0.46, 0.68, 0.04, PAGE), // the page
    t(0.29, 0.28, 0.32, 0.045, 0.02, INK),
    t(0.29, 0.39, 0.32, 0.07, 0.02, MARK), // the highlighted passage
    t(0.31, 0.4, 0.26, 0.045, 0.02, INK),
    t(0.29, 0.51, 0.32, 0.045, 0.02, INK),
    t(0.29, 0.62, 0.22, 0.045, 0.02, INK),
    t(0.72, 0.36, 0.14, 0.13, 0.05, MARK), // the note in the margin
  ];
}

function inRounded(px, py, [x, y, w, h, r]) {
  if (px < x || py < y || px > x + w || py > y + h) return false;
  const cx = Math.min(Math.max(px, x + r), x + w - r);
  const cy = Math.min(Math.max(py, y + r), y + h - r);
  return (px - cx) ** 2 + (py - cy) ** 2 <= r * r;
}

function raster(size, maskable) {
  const list = shapes(maskable);
  const bgShape = maskable ? [0, 0, 1, 1, 0] : [0, 0, 1, 1, 0.18];
  const px = Buffer.alloc(size * size * 4);
  const N = 4;
  for (let j = 0; j < size; j++) {
    for (let i = 0; i < size; i++) {
      let r = 0, g = 0, b = 0, a = 0;
      for (let sj = 0; sj < N; sj++) {
        for (let si = 0; si < N; si++) {
          const x = (i + (si + 0.5) / N) / size;
          const y = (j + (sj + 0.5) / N) / size;
          if (!inRounded(x, y, bgShape)) continue;
          let c = BG;
          for (const s of list) if (inRounded(x, y, s)) c = s[5];
          r += c[0]; g += c[1]; b += c[2]; a += 255;
        }
      }
      const k = (j * size + i) * 4;
      const n = N * N;
      const cover = a / 255;
      px[k] = cover ? Math.round(r / cover) : 0;
      px[k + 1] = cover ? Math.round(g / cover) : 0;
      px[k + 2] = cover ? Math.round(b / cover) : 0;
      px[k + 3] = Math.round(a / n);
    }
  }
  return px;
}

const CRC = new Uint32Array(256).map((_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, "ascii"), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}
function png(size, rgba) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 6; // RGBA
  const raw = Buffer.alloc(size * (size * 4 + 1));
  for (let j = 0; j < size; j++) {
    raw[j * (size * 4 + 1)] = 0; // filter: none
    rgba.copy(raw, j * (size * 4 + 1) + 1, j * size * 4, (j + 1) * size * 4);
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", deflateSync(raw, { level: 9 })),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

const hex = (c) => "#" + c.map((v) => v.toString(16).padStart(2, "0")).join("");
function svg() {
  const rects = shapes(false)
    .map(([x, y, w, h, r, c]) => `<rect x="${(x * 512).toFixed(1)}" y="${(y * 512).toFixed(1)}" width="${(w * 512).toFixed(1)}" height="${(h * 512).toFixed(1)}" rx="${(r * 512).toFixed(1)}" fill="${hex(c)}"/>`)
    .join("");
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 512 512"><rect width="512" height="512" rx="92" fill="${hex(BG)}"/>${rects}</svg>\n`;
}

const out = new URL("../public/", import.meta.url);
writeFileSync(new URL("icon.svg", out), svg());
writeFileSync(new URL("icon-192.png", out), png(192, raster(192, false)));
writeFileSync(new URL("icon-512.png", out), png(512, raster(512, false)));
writeFileSync(new URL("icon-maskable-512.png", out), png(512, raster(512, true)));
writeFileSync(new URL("apple-touch-icon.png", out), png(180, raster(180, true)));
console.log("icons written to public/");
