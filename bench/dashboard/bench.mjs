// Dashboard benchmark (issue 5), in Debian's chromium via playwright-core:
//  1. load: time from navigation to every chart drawn, for a run of
//     20 metrics x 100,000 points (bar: <= 1 s);
//  2. live: frame times while the 20 charts update live at 10 points/s each
//     (one log batch every 100 ms with one point per metric).
// Starts its own `vigil serve` (VIGIL_BIN, default build/release/vigil).
// Prints a summary and writes bench/out/dashboard.json.
//
//   node bench/dashboard/bench.mjs [--metrics 20] [--points 100000] [--live-seconds 10] [--loads 5]
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Server, launchBrowser, REPO } from "../../tests/e2e/lib/harness.mjs";

const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
};
const METRICS = arg("metrics", 20);
const POINTS = arg("points", 100_000);
const LIVE_SECONDS = arg("live-seconds", 10);
const LOADS = arg("loads", 5);

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] : NaN;
};
const r1 = (x) => Math.round(x * 10) / 10;

const server = await new Server().start();
const browser = await launchBrowser();
const result = { metrics: METRICS, points_per_metric: POINTS };
try {
  const run = await server.createRun({ project: "bench", name: "dashboard-bench" });
  const names = Array.from({ length: METRICS }, (_, m) => `${["train", "val", "sys/gpu", "time"][m % 4]}/metric_${m}`);
  const t0 = Date.now();
  const chunk = 10_000;
  const start = Date.now() - POINTS * 100;
  for (let i = 0; i < POINTS; i += chunk) {
    const steps = Array.from({ length: Math.min(chunk, POINTS - i) }, (_, k) => i + k);
    await server.log(
      run.id,
      names.map((metric, m) => ({
        metric,
        steps,
        times: steps.map((s) => start + s * 100),
        values: steps.map((s) => Math.exp(-s / 30000) * (1 + m / 10) + 0.05 * Math.sin(s * 0.37 + m) + (s % 9973 === 0 ? 3 : 0)),
      })),
    );
  }
  result.ingest_seconds = (Date.now() - t0) / 1000;
  await server.request("POST", "/api/v1/admin/flush");

  // 1. Navigation -> all charts drawn.
  const loads = [];
  for (let i = 0; i < LOADS; i++) {
    const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
    await page.goto(`${server.url}/#/runs/${run.id}`);
    await page.waitForSelector('body[data-charts-ready="1"]', { timeout: 30_000 });
    const ms = await page.evaluate(() => performance.getEntriesByName("vigil-charts-drawn")[0].startTime);
    const charts = await page.locator('section.chart[data-drawn="1"]').count();
    if (charts !== METRICS) throw new Error(`${charts} charts drawn, expected ${METRICS}`);
    loads.push(ms);
    await page.close();
  }
  result.load_ms = { first: r1(loads[0]), median: r1(pct(loads, 50)), max: r1(Math.max(...loads)), all: loads.map(r1) };

  // 2. Live updates: 10 points/s on each of the 20 charts.
  const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
  await page.goto(`${server.url}/#/runs/${run.id}`);
  await page.waitForSelector('body[data-charts-ready="1"]', { timeout: 30_000 });
  await page.waitForSelector('[data-testid="live"].on');
  await page.evaluate(() => {
    const w = window;
    w.__frames = [];
    let last = performance.now();
    const tick = (t) => {
      w.__frames.push(t - last);
      last = t;
      if (!w.__stopFrames) requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
    const r = w.__vigilRedraw;
    r.frames = 0; r.charts = 0; r.totalMs = 0; r.maxMs = 0; r.recent.length = 0;
  });
  let step = POINTS;
  let sent = 0;
  const liveEnd = Date.now() + LIVE_SECONDS * 1000;
  while (Date.now() < liveEnd) {
    const tick = Date.now();
    await server.log(run.id, names.map((metric) => ({ metric, steps: [step], times: [tick], values: [Math.random()] })));
    step++;
    sent++;
    const wait = 100 - (Date.now() - tick);
    if (wait > 0) await new Promise((ok) => setTimeout(ok, wait));
  }
  await new Promise((ok) => setTimeout(ok, 500));
  const live = await page.evaluate(() => {
    window.__stopFrames = true;
    const r = window.__vigilRedraw;
    return { frames: window.__frames.slice(5), redraw: { frames: r.frames, charts: r.charts, totalMs: r.totalMs, maxMs: r.maxMs, recent: r.recent } };
  });
  const lastLegend = await page.locator(`section.chart[data-metric="${names[0]}"] [data-testid="legend-value"]`).innerText();
  result.live = {
    seconds: LIVE_SECONDS,
    batches_sent: sent,
    points_per_second_per_chart: r1(sent / LIVE_SECONDS),
    frame_interval_ms: { p50: r1(pct(live.frames, 50)), p95: r1(pct(live.frames, 95)), p99: r1(pct(live.frames, 99)), max: r1(Math.max(...live.frames)) },
    frames_over_33ms: live.frames.filter((f) => f > 33.4).length,
    frames: live.frames.length,
    redraw_ms_per_update_frame: { mean: r1(live.redraw.totalMs / Math.max(1, live.redraw.frames)), p95: r1(pct(live.redraw.recent, 95)), max: r1(live.redraw.maxMs) },
    update_frames: live.redraw.frames,
    charts_per_update_frame: r1(live.redraw.charts / Math.max(1, live.redraw.frames)),
    last_legend_matches: lastLegend !== "–",
  };
  await page.close();
} finally {
  await browser.close();
  await server.stop();
}

console.log(`dashboard bench: ${METRICS} metrics x ${POINTS} points (ingest ${result.ingest_seconds}s)`);
console.log(`  navigation -> all charts drawn: first ${result.load_ms.first} ms, median ${result.load_ms.median} ms, max ${result.load_ms.max} ms (bar 1000 ms) ${result.load_ms.max <= 1000 ? "OK" : "OVER"}`);
const l = result.live;
console.log(`  live ${l.points_per_second_per_chart} pts/s on each of ${METRICS} charts for ${l.seconds}s: frame interval p50 ${l.frame_interval_ms.p50} ms, p95 ${l.frame_interval_ms.p95} ms, p99 ${l.frame_interval_ms.p99} ms, max ${l.frame_interval_ms.max} ms; ${l.frames_over_33ms}/${l.frames} frames over 33 ms`);
console.log(`  redraw work per update frame: mean ${l.redraw_ms_per_update_frame.mean} ms, p95 ${l.redraw_ms_per_update_frame.p95} ms, max ${l.redraw_ms_per_update_frame.max} ms (${l.charts_per_update_frame} charts per frame)`);
mkdirSync(join(REPO, "bench", "out"), { recursive: true });
writeFileSync(join(REPO, "bench", "out", "dashboard.json"), JSON.stringify(result, null, 2));
