// The real glosa binary for the Node test suites (interop, durability,
// hostile, browser): a free loopback port, a temporary copy of content/,
// a process that can be started, stopped, killed and restarted on the same
// data, and waits that poll a condition against a deadline, never the clock.
//
// Node built-ins only: each suite has its own node_modules, and this file
// resolves none of them.

import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

// Generous on purpose: CI is a noisy 2-core machine and a debug build.
export const WAIT_MS = 60_000;
const START_MS = 90_000;
// Everything a test may look for: a flood of warnings after a closed
// connection must not push out the line it wants.
const LOG_LIMIT = 64 * 1024 * 1024;

/** The server binary: $GLOSA_BIN (relative paths are from the repo root) or target/debug/glosa. */
export function glosaBin() {
  const bin = path.resolve(REPO_ROOT, process.env.GLOSA_BIN || "target/debug/glosa");
  if (!fs.existsSync(bin)) {
    throw new Error(`glosa binary not found at ${bin}; run \`cargo build\` or set GLOSA_BIN`);
  }
  return bin;
}

/**
 * Polls `cond` (sync or async) until it returns a truthy value, which is
 * returned. A thrown error counts as "not yet", unless it has `fatal: true`.
 */
export async function waitFor(cond, { timeout = WAIT_MS, interval = 25, what = "condition" } = {}) {
  const deadline = Date.now() + timeout;
  let lastError;
  for (;;) {
    try {
      const v = await cond();
      if (v) return v;
      lastError = undefined;
    } catch (e) {
      if (e?.fatal) throw e; // no point waiting longer (e.g. the server exited)
      lastError = e;
    }
    if (Date.now() > deadline) {
      const why = lastError ? ` (last error: ${lastError.message})` : "";
      throw new Error(`timed out after ${timeout} ms waiting for ${what}${why}`);
    }
    await new Promise((r) => setTimeout(r, interval));
  }
}

/** A port that was free a moment ago: bind to port 0 on loopback and release it. */
export async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

// Every glosa process still running, so that even a crashing test process
// leaves none behind.
const liveProcs = new Set();
process.on("exit", () => {
  for (const p of liveProcs) {
    try {
      p.kill("SIGKILL");
    } catch {
      // already gone
    }
  }
});

const ENV = { RUST_LOG: "info", ...process.env, RUST_BACKTRACE: "1", NO_COLOR: "1" };

/** Runs a glosa subcommand to completion: {code, signal, stdout, stderr}. */
export function runGlosa(args, { timeout = 120_000 } = {}) {
  const r = spawnSync(glosaBin(), args, { encoding: "utf8", timeout, env: ENV });
  if (r.error) throw new Error(`glosa ${args.join(" ")}: ${r.error.message}`);
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/** Runs a glosa subcommand without blocking the event loop (clients keep syncing meanwhile). */
export function runGlosaAsync(args) {
  return new Promise((resolve, reject) => {
    const p = spawn(glosaBin(), args, { stdio: ["ignore", "pipe", "pipe"], env: ENV });
    liveProcs.add(p);
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (c) => (stdout += c));
    p.stderr.on("data", (c) => (stderr += c));
    p.on("error", reject);
    p.on("exit", (code, signal) => {
      liveProcs.delete(p);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/**
 * A temporary root holding `content/` (a copy of the repo's, plus
 * `extraFiles`: {name: string | Buffer}) and an empty `data/`.
 */
export function makeRoot(prefix = "glosa-test-", extraFiles = {}) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const contentDir = path.join(root, "content");
  const dataDir = path.join(root, "data");
  fs.mkdirSync(dataDir);
  fs.cpSync(path.join(REPO_ROOT, "content"), contentDir, { recursive: true });
  for (const [name, body] of Object.entries(extraFiles)) {
    fs.writeFileSync(path.join(contentDir, name), body);
  }
  return { root, contentDir, dataDir };
}

/**
 * One glosa server, restartable on the same port, data and content dirs.
 * `GlosaServer.create()` makes one on a fresh root; `start()` runs it.
 */
export class GlosaServer {
  constructor({ port, dataDir, contentDir, root }) {
    this.port = port;
    this.dataDir = dataDir;
    this.contentDir = contentDir;
    this.root = root;
    this.proc = null;
    this.log = "";
    this.exit = null; // {code, signal} once the current process ended
    this.starts = 0;
  }

  /** A server on a fresh root (see `makeRoot`), not started. */
  static async create({ prefix = "glosa-test-", extraFiles = {} } = {}) {
    const { root, contentDir, dataDir } = makeRoot(prefix, extraFiles);
    return new this({ port: await freePort(), dataDir, contentDir, root });
  }

  get base() {
    return `http://127.0.0.1:${this.port}`;
  }

  get wsUrl() {
    return `ws://127.0.0.1:${this.port}/sync`;
  }

  get running() {
    return this.proc !== null && this.exit === null;
  }

  #append(prefix, chunk) {
    this.log += chunk
      .toString()
      .split("\n")
      .map((l, i, a) => (i === a.length - 1 && l === "" ? "" : `${prefix}${l}`))
      .join("\n");
    if (this.log.length > LOG_LIMIT) this.log = this.log.slice(-LOG_LIMIT);
  }

  /** The tail of the server's stdout+stderr, for failure messages. */
  logTail(chars = 6000) {
    return this.log.slice(-chars);
  }

  /** The log of the current (latest) run only. */
  currentLog() {
    const marker = `===== start #${this.starts} =====`;
    const i = this.log.lastIndexOf(marker);
    return i === -1 ? this.log : this.log.slice(i);
  }

  /**
   * Starts (or restarts) the server and waits until it prints `listening
   * on` and, unless `expectHealthy` is false, /healthz answers 200.
   */
  async start({ expectHealthy = true } = {}) {
    if (this.running) throw new Error("server already running");
    this.starts += 1;
    this.exit = null;
    this.#append("", `\n===== start #${this.starts} =====\n`);
    const proc = spawn(
      glosaBin(),
      ["serve", "--addr", `127.0.0.1:${this.port}`, "--data", this.dataDir, "--content", this.contentDir],
      { cwd: this.root, stdio: ["ignore", "pipe", "pipe"], env: ENV },
    );
    this.proc = proc;
    liveProcs.add(proc);
    let stdout = "";
    proc.stdout.on("data", (c) => {
      stdout += c.toString();
      this.#append("[out] ", c);
    });
    proc.stderr.on("data", (c) => this.#append("[err] ", c));
    this.exited = new Promise((resolve) => {
      proc.on("exit", (code, signal) => {
        liveProcs.delete(proc);
        this.exit = { code, signal };
        resolve(this.exit);
      });
    });
    proc.on("error", (e) => this.#append("[spawn] ", `${e.message}\n`));
    try {
      await waitFor(
        async () => {
          if (this.exit) throw Object.assign(new Error(`server exited early: ${JSON.stringify(this.exit)}`), { fatal: true });
          if (!stdout.includes("listening on")) return false;
          return !expectHealthy || (await this.healthy());
        },
        { timeout: START_MS, interval: 50, what: "the server to print `listening on` and answer /healthz 200" },
      );
    } catch (e) {
      await this.kill9();
      throw new Error(`${e.message}\n--- server log ---\n${this.logTail()}`);
    }
  }

  /** SIGKILL: the server gets no chance to flush anything. */
  async kill9() {
    if (!this.running) return;
    this.proc.kill("SIGKILL");
    await this.exited;
  }

  /** SIGTERM, and expect a clean exit 0 within the deadline. */
  async stop() {
    if (!this.running) return;
    this.proc.kill("SIGTERM");
    let timer;
    const timeout = new Promise((resolve) => {
      timer = setTimeout(() => resolve(null), WAIT_MS);
    });
    const r = await Promise.race([this.exited, timeout]);
    clearTimeout(timer);
    if (r === null) {
      await this.kill9();
      throw new Error(`server did not exit within ${WAIT_MS} ms of SIGTERM\n${this.logTail()}`);
    }
    if (r.code !== 0) throw new Error(`server exited with ${JSON.stringify(r)} after SIGTERM\n${this.logTail()}`);
  }

  async restart({ hard = false } = {}) {
    if (hard) await this.kill9();
    else await this.stop();
    await this.start();
  }

  /** Waits until the server's log contains `text` (a string or RegExp). */
  async logged(text, what = `the log to mention ${text}`) {
    try {
      await waitFor(() => (typeof text === "string" ? this.log.includes(text) : text.test(this.log)), { what });
    } catch (e) {
      throw new Error(`${e.message}\n--- server log ---\n${this.logTail(3000)}`);
    }
  }

  /** Resident memory of the server process, in MB, from /proc. */
  rssMB() {
    const status = fs.readFileSync(`/proc/${this.proc.pid}/status`, "utf8");
    const m = /^VmRSS:\s+(\d+) kB/m.exec(status);
    if (!m) throw new Error(`no VmRSS in /proc/${this.proc.pid}/status`);
    return Number(m[1]) / 1024;
  }

  /** GET `p`: {status, text, headers}. */
  async get(p) {
    const res = await fetch(this.base + p);
    return { status: res.status, text: await res.text(), headers: res.headers };
  }

  /** GET `p`, which must answer 200 with JSON. */
  async getJson(p) {
    const { status, text } = await this.get(p);
    if (status !== 200) throw new Error(`GET ${p} → ${status}: ${text.slice(0, 500)}`);
    return JSON.parse(text);
  }

  /** GET /healthz: {status, body}. */
  async health() {
    const { status, text } = await this.get("/healthz");
    let body;
    try {
      body = JSON.parse(text);
    } catch {
      body = { raw: text };
    }
    return { status, body };
  }

  /** Whether /healthz answers 200 now. */
  async healthy() {
    try {
      return (await this.get("/healthz")).status === 200;
    } catch {
      return false;
    }
  }

  /** Kills the server if it runs, and deletes its root. */
  cleanup() {
    if (this.running) this.proc.kill("SIGKILL");
    fs.rmSync(this.root, { recursive: true, force: true });
  }
}
