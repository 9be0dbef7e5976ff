// Shared by the end-to-end tests and the dashboard benchmark: a real
// `vigil serve` on 127.0.0.1:0 with a fresh data directory, a tiny client
// for the HTTP API, and Debian's chromium driven by playwright-core.
//
// Env: VIGIL_BIN (default <repo>/build/release/vigil), CHROMIUM
// (default /usr/bin/chromium), E2E_ARTIFACTS (screenshots; default
// tests/e2e/artifacts).
import { spawn } from "node:child_process";
import { mkdtempSync, mkdirSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
export const ARTIFACTS = process.env.E2E_ARTIFACTS ?? join(REPO, "tests", "e2e", "artifacts");

export function vigilBinary() {
  const p = process.env.VIGIL_BIN ?? join(REPO, "build", "release", "vigil");
  if (!existsSync(p)) throw new Error(`vigil binary not found at ${p}: build it (make build) or set VIGIL_BIN`);
  return p;
}

export class Server {
  constructor() {
    this.dir = mkdtempSync(join(tmpdir(), "vigil-e2e-"));
    this.proc = null;
    this.url = null;
    this.stderr = "";
  }

  async start() {
    this.proc = spawn(vigilBinary(), ["serve", "--data", join(this.dir, "data"), "--listen", "127.0.0.1:0"], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    this.url = await new Promise((ok, fail) => {
      const timer = setTimeout(() => fail(new Error(`vigil serve did not start:\n${this.stderr}`)), 20_000);
      this.proc.stderr.on("data", (b) => {
        this.stderr += b.toString();
        const m = this.stderr.match(/serving on (http:\/\/127\.0\.0\.1:\d+)/);
        if (m) {
          clearTimeout(timer);
          ok(m[1]);
        }
      });
      this.proc.on("exit", (code) => fail(new Error(`vigil serve exited (${code}):\n${this.stderr}`)));
    });
    return this;
  }

  async stop() {
    if (this.proc && this.proc.exitCode === null) {
      const done = new Promise((ok) => this.proc.once("exit", ok));
      this.proc.kill("SIGTERM");
      await done;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  async request(method, path, body) {
    const res = await fetch(this.url + path, {
      method,
      headers: body === undefined ? {} : { "content-type": "application/json" },
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return res.headers.get("content-type")?.includes("json") ? JSON.parse(text) : text;
  }

  createRun(run) {
    return this.request("POST", "/api/v1/runs", run);
  }

  finishRun(id, state = "finished", summary = {}) {
    return this.request("PATCH", `/api/v1/runs/${id}`, { state, summary });
  }

  // series: [{metric, labels?, steps, values, times?}]
  log(id, series) {
    const now = Date.now();
    return this.request("POST", `/api/v1/runs/${id}/log`, {
      series: series.map((s) => ({
        metric: s.metric,
        labels: s.labels ?? {},
        steps: s.steps,
        times: s.times ?? s.steps.map((_, i) => now - (s.steps.length - i) * 10),
        values: s.values,
      })),
    });
  }
}

export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
  });
}

export async function screenshot(page, name) {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

export function range(n, f = (i) => i) {
  return Array.from({ length: n }, (_, i) => f(i));
}
