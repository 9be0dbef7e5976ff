// End-to-end tests of the run page's diagnosis panel and the loss
// forecast drawn on the loss chart (issue 7): a run seeded through the
// HTTP API (tests/e2e/lib/seed.mjs) whose numbers are known, checked
// against the page and against GET /api/v1/runs/{id}/diagnosis.
import { test, before, after, beforeEach, afterEach } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { ARTIFACTS, Server, launchBrowser, screenshot } from "../lib/harness.mjs";
import { DIAG, diagLossAt, seedDiagnosisRun } from "../lib/seed.mjs";

let server;
let browser;
let page;
let run; // the seeded input-bound run, shared by the tests

before(async () => {
  server = await new Server().start();
  browser = await launchBrowser();
  run = await seedDiagnosisRun(server);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

beforeEach(async () => {
  page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.on("pageerror", (e) => console.error("page error:", e));
});

afterEach(async () => {
  await page.close();
});

async function openRun(id) {
  await page.goto(`${server.url}/#/runs/${id}`);
  await page.waitForSelector('body[data-charts-ready="1"]', { timeout: 15_000 });
  await page.waitForSelector('[data-testid="diagnosis"][data-state="ready"]', { timeout: 15_000 });
}

const close = (a, b, rel = 1e-9) => Math.abs(a - b) <= rel * Math.max(1, Math.abs(a), Math.abs(b));

test("diagnosis panel shows the bottleneck class and the suggestion's numbers", async () => {
  const api = await server.request("GET", `/api/v1/runs/${run.id}/diagnosis`);
  // The seed: data takes 120 of 200 ms per step, no GPU metrics -> input.
  const phaseSum = Object.values(DIAG.phases).reduce((a, b) => a + b, 0);
  const dataShare = DIAG.phases.data / phaseSum;
  assert.equal(api.bottleneck, "input");
  await openRun(run.id);

  const cls = page.locator('[data-testid="bottleneck"]');
  assert.equal(await cls.getAttribute("data-class"), "input");
  assert.match(await cls.innerText(), /input-bound/);
  assert.match(await page.locator('[data-testid="evidence"]').innerText(), /data takes 60% of each step/);

  // The first suggestion is the input one, with its numbers on screen.
  const first = page.locator('[data-testid="suggestion"]').first();
  assert.equal(await first.getAttribute("data-kind"), "input");
  assert.equal(await first.getAttribute("data-rank"), "1");
  const chip = async (name) => {
    const c = first.locator(`[data-testid="suggestion-number"][data-name="${name}"]`);
    return { value: Number(await c.getAttribute("data-value")), text: await c.locator("b").innerText() };
  };
  const share = await chip("data_share");
  assert.ok(close(share.value, dataShare), `data_share ${share.value} vs ${dataShare}`);
  assert.equal(share.text, "0.6");
  const dataSecs = await chip("data_seconds");
  assert.ok(close(dataSecs.value, DIAG.phases.data), `data_seconds ${dataSecs.value}`);
  assert.equal(dataSecs.text, "0.12");
  const workers = await chip("num_workers");
  assert.equal(workers.value, DIAG.config.num_workers);
  assert.match(await first.innerText(), /num_workers \(now 2\)/);

  // Step-time breakdown: a stacked bar whose data segment is 60% wide,
  // and the per-step stacked area.
  const seg = page.locator('[data-testid="breakdown-bar"]').first().locator('[data-phase="data"]');
  assert.ok(close(Number(await seg.getAttribute("data-share")), dataShare, 1e-6));
  const segBox = await seg.boundingBox();
  const barBox = await page.locator('[data-testid="breakdown-bar"]').first().boundingBox();
  assert.ok(Math.abs(segBox.width / barBox.width - dataShare) < 0.01, `data segment ${segBox.width}/${barBox.width}`);
  await page.waitForSelector('[data-testid="breakdown-area"] canvas');

  // Forecast figures: final loss with its band, pace, ETA and remaining.
  const final = await page.locator('[data-testid="forecast-final"]').innerText();
  const band = api.forecast.loss.final;
  assert.match(final, new RegExp(`at step ${DIAG.maxSteps}`));
  assert.ok(final.includes(String(Number(band.mid.toPrecision(6)))), final);
  const truth = diagLossAt(DIAG.maxSteps);
  assert.ok(Math.abs(band.mid - truth) / truth < 0.03, `forecast ${band.mid} vs truth ${truth}`);
  assert.match(await page.locator('[data-testid="forecast-pace"]').innerText(), /200\.0 ms per step/);
  const remaining = (DIAG.maxSteps - (DIAG.steps - 1)) * DIAG.stepMs; // ms
  assert.ok(Math.abs(api.forecast.seconds_remaining * 1000 - remaining) < 0.02 * remaining);
  assert.match(await page.locator('[data-testid="forecast-remaining"]').innerText(), /^time remaining\s+6m 4\d?s$/);
  assert.match(await page.locator('[data-testid="forecast-eta"]').innerText(), /ETA\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d/);
  assert.match(await page.locator('[data-testid="forecast-oom"]').innerText(), /no GPU memory series/);
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.locator('[data-testid="diagnosis"]').screenshot({ path: join(ARTIFACTS, "diagnosis.png") });
});

test("the loss chart draws the forecast as a dashed extension to the planned last step", async () => {
  const api = await server.request("GET", `/api/v1/runs/${run.id}/diagnosis`);
  const f = api.forecast.loss;
  await openRun(run.id);
  const chart = page.locator('section.chart[data-metric="train/loss"]');
  await page.waitForSelector('section.chart[data-metric="train/loss"][data-forecast="1"]');
  // Read back from the uPlot instance: the dashed series, its points, from
  // the last fitted step to the planned last step, ending at the forecast.
  assert.equal(await chart.getAttribute("data-forecast-dash"), "6,4");
  assert.equal(Number(await chart.getAttribute("data-forecast-points")), f.curve.mid.filter((v) => v !== null).length);
  assert.equal(Number(await chart.getAttribute("data-forecast-from")), f.fit.last_step);
  assert.equal(f.fit.last_step, DIAG.steps - 1);
  assert.equal(Number(await chart.getAttribute("data-forecast-to")), DIAG.maxSteps);
  assert.equal(Number(await chart.getAttribute("data-forecast-end")), f.curve.mid[f.curve.mid.length - 1]);
  assert.ok(close(f.curve.mid[f.curve.mid.length - 1], f.final.mid, 1e-9));
  assert.equal(await chart.getAttribute("data-forecast-band"), "1");
  const legend = await chart.locator('[data-testid="forecast-legend"]').innerText();
  assert.ok(legend.includes(`forecast @ ${DIAG.maxSteps}`) && legend.includes(String(Number(f.final.mid.toPrecision(6)))), legend);
  // The curve's own legend still shows the last logged value.
  assert.equal(await chart.locator('[data-testid="legend-value"]').count(), 1);
  await screenshot(page, "diagnosis-run-page");
  mkdirSync(ARTIFACTS, { recursive: true });
  await chart.screenshot({ path: join(ARTIFACTS, "forecast.png") });

  // The forecast can be switched off (and the x range ends at the data).
  await page.locator('[data-testid="show-forecast"]').uncheck();
  await page.waitForSelector('section.chart[data-metric="train/loss"][data-forecast="0"]');
  await page.locator('[data-testid="show-forecast"]').check();
  await page.waitForSelector('section.chart[data-metric="train/loss"][data-forecast="1"]');
});

test("a running run's diagnosis is refreshed every 10 s, not on every point", async () => {
  const live = await seedDiagnosisRun(server, { name: "live-refresh" });
  const requests = [];
  page.on("request", (r) => {
    if (r.url().includes(`/runs/${live.id}/diagnosis`)) requests.push(Date.now());
  });
  await openRun(live.id);
  const t0 = Date.now();
  // 12 batches of points over ~11 s: the diagnosis is re-read once or
  // twice in that time (every 10 s), not 12 times.
  for (let i = 0; i < 12; i++) {
    const step = DIAG.steps + i;
    await server.log(live.id, [{ metric: "train/loss", steps: [step], values: [diagLossAt(step)] }]);
    await new Promise((r) => setTimeout(r, 950));
  }
  const during = requests.filter((t) => t >= t0).length;
  assert.ok(during >= 1 && during <= 2, `diagnosis requests while points arrived: ${during}`);
  await page.waitForFunction(() => /refreshes every 10 s/.test(document.querySelector('[data-testid="diagnosis-stamp"]').textContent));
});

test("a run with nothing to act on shows the diagnosis as one collapsed line", async () => {
  const r = await server.createRun({ project: "diag", name: "healthy", config: { max_steps: 400 } });
  const steps = Array.from({ length: 200 }, (_, i) => i);
  await server.log(r.id, [{ metric: "train/loss", steps, values: steps.map((s) => diagLossAt(s)) }]);
  const api = await server.request("GET", `/api/v1/runs/${r.id}/diagnosis`);
  assert.equal(api.bottleneck, "none");
  await openRun(r.id);
  const panel = page.locator('[data-testid="diagnosis"]');
  assert.equal(await panel.evaluate((e) => e.open), false);
  const line = await page.locator('[data-testid="diagnosis-headline"]').innerText();
  assert.match(line, /no bottleneck found/);
  assert.ok(line.includes(`train/loss → ${Number(api.forecast.loss.final.mid.toPrecision(6))} at step 400`), line);
  // The forecast is drawn even while the panel is closed.
  await page.waitForSelector('section.chart[data-metric="train/loss"][data-forecast="1"][data-forecast-to="400"]');
  // Opening it shows the figures; the choice is remembered.
  await panel.locator(":scope > summary").click();
  await page.locator('[data-testid="forecast-final"]').waitFor();
  assert.equal(await page.evaluate(() => localStorage.getItem("vigil.diagnosisOpen")), "1");
});

test("diagnosis errors show a panel with Retry", async () => {
  let fail = true;
  await page.route(/\/diagnosis/, (r) =>
    fail ? r.fulfill({ status: 500, contentType: "application/json", body: JSON.stringify({ error: { code: "internal", message: "diagnosis exploded" } }) }) : r.continue(),
  );
  await page.goto(`${server.url}/#/runs/${run.id}`);
  const err = page.locator('[data-testid="diagnosis"] [data-testid="state-error"]');
  await err.waitFor({ timeout: 10_000 });
  assert.match(await err.innerText(), /Could not diagnose the run[\s\S]*diagnosis exploded/);
  // The charts are unaffected, and no forecast is drawn.
  await page.waitForSelector('section.chart[data-metric="train/loss"][data-drawn="1"]');
  assert.equal(await page.locator('section.chart[data-metric="train/loss"]').getAttribute("data-forecast"), "0");
  fail = false;
  await err.locator("button", { hasText: "Retry" }).click();
  await page.waitForSelector('[data-testid="diagnosis"][data-state="ready"]');
  await page.waitForSelector('section.chart[data-metric="train/loss"][data-forecast="1"]');
});
