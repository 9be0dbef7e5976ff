// End-to-end tests of the dashboard: chromium (playwright-core) against a
// real `vigil serve` fed through the real HTTP API. Screenshots go to
// tests/e2e/artifacts/.
import { test, before, after, beforeEach, afterEach } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { Server, launchBrowser, screenshot, range } from "../lib/harness.mjs";

let server;
let browser;
let page;

before(async () => {
  server = await new Server().start();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

beforeEach(async () => {
  page = await browser.newPage({ viewport: { width: 1400, height: 900 }, acceptDownloads: true });
  page.on("pageerror", (e) => console.error("page error:", e));
});

afterEach(async () => {
  await page.close();
});

async function openRun(id) {
  await page.goto(`${server.url}/#/runs/${id}`);
  await page.waitForSelector('body[data-charts-ready="1"]', { timeout: 15_000 });
}

function chart(metric) {
  return page.locator(`section.chart[data-metric="${metric}"]`);
}

test("serves the dashboard with caching headers and gzip", async () => {
  const res = await fetch(server.url + "/", { headers: { "accept-encoding": "gzip" } });
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type"), /text\/html/);
  assert.equal(res.headers.get("cache-control"), "no-cache");
  const html = await res.text();
  const asset = html.match(/\/assets\/[^"]+\.js/)[0];
  const js = await fetch(server.url + asset);
  assert.equal(js.status, 200);
  assert.match(js.headers.get("content-type"), /javascript/);
  assert.match(js.headers.get("cache-control"), /immutable/);
  // No resource from outside this server.
  assert.doesNotMatch(html, /https?:\/\/(?!www\.w3\.org)/);
});

test("runs table lists and filters runs", async () => {
  const a = await server.createRun({ project: "tbl", name: "alpha-lr3", tags: ["baseline"], config: { lr: 0.001, opt: "adam" } });
  const b = await server.createRun({ project: "tbl", name: "beta-lr2", tags: ["sweep"], config: { lr: 0.01, opt: "sgd" } });
  const c = await server.createRun({ project: "tbl", name: "gamma-lr1", tags: ["sweep"], config: { lr: 0.1, opt: "sgd" } });
  await server.finishRun(c.id, "failed");
  await page.goto(`${server.url}/#/runs?project=tbl`);
  const rows = page.locator('[data-testid="run-row"]');
  await rows.first().waitFor();
  assert.equal(await rows.count(), 3);
  await assert.doesNotReject(page.locator(`tr[data-run="${a.id}"] td`).filter({ hasText: "0.001" }).first().waitFor({ timeout: 2000 }));
  await screenshot(page, "runs-table");

  await page.fill('[data-testid="filter-q"]', "beta");
  await page.press('[data-testid="filter-q"]', "Enter");
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="run-row"]').length === 1);
  assert.equal(await page.locator('[data-testid="run-row"]').getAttribute("data-run"), b.id);

  await page.goto(`${server.url}/#/runs?project=tbl&state=failed`);
  await page.waitForFunction((id) => {
    const r = document.querySelectorAll('[data-testid="run-row"]');
    return r.length === 1 && r[0].getAttribute("data-run") === id;
  }, c.id);

  await page.goto(`${server.url}/#/runs?project=tbl&tag=sweep`);
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="run-row"]').length === 2);

  await page.goto(`${server.url}/#/runs?project=tbl&config=opt%3Dadam`);
  await page.waitForFunction((id) => {
    const r = document.querySelectorAll('[data-testid="run-row"]');
    return r.length === 1 && r[0].getAttribute("data-run") === id;
  }, a.id);
});

test("run page draws every metric with the right series and last value", async () => {
  const run = await server.createRun({ project: "page", name: "charts" });
  const steps = range(200, (i) => i + 1);
  await server.log(run.id, [
    { metric: "train/loss", steps, values: steps.map((s) => 2 / s) },
    { metric: "val/acc", steps, values: steps.map((s) => s / 400) },
    { metric: "sys/gpu/utilization", labels: { gpu: "0" }, steps, values: steps.map(() => 90) },
    { metric: "sys/gpu/utilization", labels: { gpu: "1" }, steps, values: steps.map(() => 45.5) },
  ]);
  await openRun(run.id);
  assert.equal(await page.locator('[data-testid="chart"]').count(), 3);
  assert.equal(await chart("sys/gpu/utilization").getAttribute("data-series"), "2");
  assert.equal(await chart("train/loss").getAttribute("data-series"), "1");
  assert.equal(await chart("train/loss").locator('[data-testid="legend-value"]').innerText(), "0.01");
  assert.equal(await chart("val/acc").locator('[data-testid="legend-value"]').innerText(), "0.5");
  const gpu = await chart("sys/gpu/utilization").locator('[data-testid="legend-value"]').allInnerTexts();
  assert.deepEqual(gpu, ["90", "45.5"]);
  // Groups in order: training, validation, then system.
  const groups = await page.locator("section.chart-group").evaluateAll((els) => els.map((e) => e.dataset.group));
  assert.deepEqual(groups, ["train", "val", "sys/gpu"]);
  await screenshot(page, "run-page");
});

test("a point ingested while the page is open appears without reload", async () => {
  const run = await server.createRun({ project: "live", name: "live" });
  await server.log(run.id, [{ metric: "train/loss", steps: [1, 2, 3], values: [3, 2, 1] }]);
  await openRun(run.id);
  await page.waitForSelector('[data-testid="live"].on');
  await page.evaluate(() => (window.__noReload = true));
  const t0 = Date.now();
  await server.log(run.id, [{ metric: "train/loss", steps: [4], values: [0.125] }]);
  await page.waitForFunction(
    () => document.querySelector('section.chart[data-metric="train/loss"] [data-testid="legend-value"]')?.textContent === "0.125",
    null,
    { timeout: 3000 },
  );
  const latency = Date.now() - t0;
  assert.ok(latency < 1000, `live point took ${latency} ms`);
  assert.equal(await page.evaluate(() => window.__noReload), true);
  // A new metric appears as a new chart, still without reload.
  await server.log(run.id, [{ metric: "train/grad_norm", steps: [4], values: [7] }]);
  await page.waitForSelector('section.chart[data-metric="train/grad_norm"][data-drawn="1"]', { timeout: 5000 });
  assert.equal(await page.evaluate(() => window.__noReload), true);
});

test("zoom re-fetches the range at full resolution and shows the spike", async () => {
  const run = await server.createRun({ project: "zoom", name: "spiky" });
  const n = 100_000;
  const spikeAt = 61_234;
  const steps = range(n, (i) => i);
  const values = steps.map((s) => (s === spikeAt ? 50 : 1 + Math.sin(s / 1000) * 0.1));
  for (let i = 0; i < n; i += 25_000) {
    await server.log(run.id, [{ metric: "train/loss", steps: steps.slice(i, i + 25_000), values: values.slice(i, i + 25_000) }]);
  }
  await openRun(run.id);
  const c = chart("train/loss");
  // Zoomed out: downsampled, and the bucket's max keeps the spike.
  assert.equal(await c.getAttribute("data-downsampled"), "1");
  assert.equal(Number(await c.getAttribute("data-ymax")), 50);
  const zoomOutPoints = Number(await c.getAttribute("data-points"));
  assert.ok(zoomOutPoints < 10_000, `zoomed-out points ${zoomOutPoints}`);

  // Drag across a range around the spike, twice: the first zoom is still
  // downsampled (and keeps the spike), the second is at full resolution.
  const dragZoom = async (lo, hi, curLo, curHi) => {
    const box = await c.locator(".u-over").boundingBox();
    const xAt = (step) => box.x + ((step - curLo) / (curHi - curLo)) * box.width;
    const y = box.y + box.height / 2;
    const seriesReq = page.waitForRequest((r) => r.url().includes("/series?") && r.url().includes("from="));
    await page.mouse.move(xAt(lo), y);
    await page.mouse.down();
    await page.mouse.move((xAt(lo) + xAt(hi)) / 2, y, { steps: 3 });
    await page.mouse.move(xAt(hi), y, { steps: 3 });
    await page.mouse.up();
    const req = new URL((await seriesReq).url());
    const from = Number(req.searchParams.get("from"));
    const to = Number(req.searchParams.get("to"));
    assert.ok(from < spikeAt && spikeAt < to, `zoom range ${from}..${to}`);
    await page.waitForFunction(
      (f) => (document.querySelector('section.chart[data-metric="train/loss"]').dataset.range ?? "").startsWith(String(f).slice(0, 3)),
      from,
    );
    await page.waitForFunction(() => !document.querySelector('section.chart[data-metric="train/loss"] .chart-status').textContent.includes("loading"));
    return [from, to];
  };
  const [from1, to1] = await dragZoom(spikeAt - 8000, spikeAt + 8000, 0, n - 1);
  assert.equal(Number(await c.getAttribute("data-ymax")), 50);
  const [from, to] = await dragZoom(spikeAt - 250, spikeAt + 250, from1, to1);
  assert.equal(await c.getAttribute("data-downsampled"), "0");
  assert.equal(Number(await c.getAttribute("data-points")), to - from + 1);
  assert.equal(Number(await c.getAttribute("data-ymax")), 50);
  await screenshot(page, "zoomed");
  // Double-click resets to the full range.
  await c.locator(".u-over").dblclick();
  await page.waitForFunction(() => document.querySelector('section.chart[data-metric="train/loss"]').dataset.downsampled === "1");
});

test("CSV export equals the stored points", async () => {
  const run = await server.createRun({ project: "csv", name: "csv" });
  const steps = range(5000, (i) => i * 2);
  const values = steps.map((s) => (s === 10 ? "NaN" : Math.round(Math.cos(s) * 1e6) / 1e3));
  const times = steps.map((s) => 1_700_000_000_000 + s * 7);
  await server.log(run.id, [{ metric: "train/loss", steps, values, times }]);
  await openRun(run.id);
  const [dl] = await Promise.all([page.waitForEvent("download"), chart("train/loss").locator('[data-testid="csv"]').click()]);
  const csv = readFileSync(await dl.path(), "utf8").trim().split("\n");
  assert.equal(csv[0], "step,time,value");
  assert.equal(csv.length - 1, steps.length);
  for (let i = 0; i < steps.length; i++) {
    const [s, t, v] = csv[i + 1].split(",");
    assert.equal(Number(s), steps[i]);
    assert.equal(Number(t), times[i]);
    if (values[i] === "NaN") assert.ok(Number.isNaN(Number(v)) || v === "" || /nan/i.test(v), `NaN as ${v}`);
    else assert.equal(Number(v), values[i]);
  }
});

test("compare overlays runs and draws each group's band", async () => {
  const ids = [];
  const steps = range(300, (i) => i + 1);
  for (const [opt, scale] of [["adam", 1], ["adam", 1.2], ["sgd", 2], ["sgd", 2.5]]) {
    const r = await server.createRun({ project: "cmp", name: `${opt}-${scale}`, config: { opt, scale } });
    await server.log(r.id, [{ metric: "train/loss", steps, values: steps.map((s) => scale / Math.sqrt(s)) }]);
    ids.push(r.id);
  }
  await page.goto(`${server.url}/#/compare?runs=${ids.slice(0, 2).join(",")}&metric=train/loss`);
  await page.waitForSelector('section.chart[data-drawn="1"]');
  assert.equal(await page.locator("section.chart").getAttribute("data-series"), "2");
  assert.equal(await page.locator("section.chart").getAttribute("data-groups"), "0");
  const legend = await page.locator('section.chart [data-testid="legend-value"]').allInnerTexts();
  assert.deepEqual(legend.map(Number), [1 / Math.sqrt(300), 1.2 / Math.sqrt(300)].map((v) => Number(v.toPrecision(6))));

  await page.goto(`${server.url}/#/compare?runs=${ids.join(",")}&metric=train/loss&group=opt`);
  await page.waitForSelector('section.chart[data-drawn="1"][data-groups="2"]');
  assert.equal(await page.locator("section.chart").getAttribute("data-series"), "4");
  // The scatter of config vs. last value has one point per run.
  await page.waitForSelector('[data-testid="scatter"] canvas');
  await screenshot(page, "compare");
});

test("unknown run and unreachable server show clear states", async () => {
  await page.goto(`${server.url}/#/runs/doesnotexist`);
  const err = page.locator('[data-testid="state-error"]');
  await err.waitFor();
  assert.match(await err.innerText(), /not found/);

  const other = await new Server().start();
  await page.goto(`${other.url}/#/runs`);
  await page.locator('[data-testid="state-empty"]').waitFor();
  assert.match(await page.locator('[data-testid="state-empty"]').innerText(), /No runs yet/);
  await other.stop();
  await page.evaluate(() => (location.hash = "#/runs?q=x"));
  await page.locator('[data-testid="state-error"]').waitFor({ timeout: 10_000 });
  assert.match(await page.locator('[data-testid="state-error"]').innerText(), /unreachable/);
  await screenshot(page, "server-down");
});
