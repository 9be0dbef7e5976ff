// End-to-end tests of the run page's "Ranks" section for distributed runs
// (issue 8): GET /api/v1/runs/{id}/ranks and /ranks/heatmap drawn as the
// slowest-ranks list, the node table and a rank x step heatmap on one
// canvas. Runs are seeded through the HTTP API (tests/e2e/lib/seed.mjs):
// per-rank time/data, time/forward, time/comm with labels rank and node.
import { test, before, after, beforeEach, afterEach } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { ARTIFACTS, Server, launchBrowser, screenshot } from "../lib/harness.mjs";
import { DIST, seedDistributedRun } from "../lib/seed.mjs";

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
  page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.on("pageerror", (e) => console.error("page error:", e));
});

afterEach(async () => {
  await page.close();
});

const canvas = () => page.locator('[data-testid="heatmap-canvas"]');

async function openRanks(id, rows) {
  await page.goto(`${server.url}/#/runs/${id}`);
  await page.waitForSelector(`[data-testid="heatmap-canvas"][data-rows="${rows}"]`, { timeout: 60_000 });
}

test("a 64-rank run shows 64 heatmap rows grouped by node and lists the slow rank first", async () => {
  const run = await seedDistributedRun(server);
  // The server's detection worker takes the seeded points from a queue:
  // wait until it has seen every rank's steps (each has a slowdown).
  let ranks;
  for (const deadline = Date.now() + 60_000; ; ) {
    ranks = await server.request("GET", `/api/v1/runs/${run.id}/ranks`);
    const done = ranks.ranks.length === DIST.world && ranks.ranks.every((r) => r.slowdown != null);
    if (done || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.equal(ranks.world_size, DIST.world);
  const heatRequests = [];
  page.on("request", (r) => r.url().includes("/ranks/heatmap") && heatRequests.push(r.url()));
  await openRanks(run.id, DIST.world);
  const c = canvas();
  assert.equal(Number(await c.getAttribute("data-rows")), DIST.world);
  assert.equal(Number(await c.getAttribute("data-nodes")), DIST.world / DIST.perNode);
  // Rows grouped by node: n0's ranks 0..7, then n1's 8..15, ...
  const order = (await c.getAttribute("data-row-order")).split(",").map(Number);
  assert.deepEqual(order, Array.from({ length: DIST.world }, (_, i) => i));
  assert.equal(heatRequests.length, 1, "one heatmap request for the whole matrix");

  // The slow rank (forward 1.6x) is first in the slowest-ranks list, and
  // the server agrees it is the slowest.
  const rows = page.locator('[data-testid="slow-rank"]');
  await rows.first().waitFor();
  assert.equal(Number(await rows.first().getAttribute("data-rank")), DIST.slowRank);
  const bySlowdown = [...ranks.ranks].sort((a, b) => (b.slowdown ?? 0) - (a.slowdown ?? 0));
  assert.equal(bySlowdown[0].rank, DIST.slowRank);
  assert.equal(await rows.first().locator('[data-testid="slowdown"]').innerText(), `${bySlowdown[0].slowdown.toFixed(2)}×`);
  assert.ok(bySlowdown[0].slowdown > 1.1, `slowdown ${bySlowdown[0].slowdown}`);
  // Nodes: one row each, the slowest (by the server's node slowdown) first,
  // and the slow rank's node names it as its slowest rank.
  const slowNode = `n${Math.floor(DIST.slowRank / DIST.perNode)}`;
  const nodeRows = page.locator('[data-testid="rank-nodes"] tr[data-node]');
  assert.equal(await nodeRows.count(), DIST.world / DIST.perNode);
  const maxNode = Math.max(...ranks.nodes.map((n) => n.slowdown));
  assert.equal(await nodeRows.first().locator('[data-testid="node-slowdown"]').innerText(), `${maxNode.toFixed(2)}×`);
  assert.match(await page.locator(`[data-testid="rank-nodes"] tr[data-node="${slowNode}"]`).innerText(), new RegExp(`\\b${DIST.slowRank} \\(${bySlowdown[0].slowdown.toFixed(2)}×\\)`));

  // Metric chooser: the answer's metrics, the per-rank phases among them.
  // Shown first: compute time (where a straggler stands out).
  const shown = await page.locator('[data-testid="heatmap-metric"]').inputValue();
  assert.equal(shown, "compute_time");
  const hm = await server.request("GET", `/api/v1/runs/${run.id}/ranks/heatmap?steps=200&metric=${shown}`);
  assert.equal(Number(await c.getAttribute("data-cols")), hm.steps.length);
  const means = hm.row_mean.map(Number);
  assert.equal(hm.ranks[means.indexOf(Math.max(...means))], DIST.slowRank, "the slow rank has the highest mean compute time");
  const options = await page.locator('[data-testid="heatmap-metric"] option').allInnerTexts();
  assert.deepEqual(options, hm.metrics);
  for (const m of ["time/data", "time/forward", "time/comm"]) assert.ok(options.includes(m), `${m} in ${options}`);

  // Hover the slow rank's row: the tooltip names rank, node, steps and the
  // cell's value from the heatmap answer.
  const group = Math.floor(DIST.slowRank / DIST.perNode);
  const rowPx = Number(await c.getAttribute("data-row-px"));
  const groupY = (await c.getAttribute("data-group-y")).split(",").map(Number);
  const [plotX, plotW] = (await c.getAttribute("data-plot-x")).split(",").map(Number);
  const y = groupY[group] + (DIST.slowRank % DIST.perNode) * rowPx + rowPx / 2;
  const col = 10;
  const x = plotX + (col + 0.5) * (plotW / hm.steps.length);
  await c.hover({ position: { x, y } });
  const tip = page.locator('[data-testid="heatmap-tooltip"]');
  await tip.waitFor();
  assert.equal(await tip.getAttribute("data-rank"), String(DIST.slowRank));
  assert.equal(await tip.getAttribute("data-node"), slowNode);
  assert.equal(Number(await tip.getAttribute("data-step")), hm.steps[col]);
  const row = hm.ranks.indexOf(DIST.slowRank);
  assert.equal(Number(await tip.getAttribute("data-value")), hm.values[row][col]);
  assert.match(await tip.innerText(), new RegExp(`rank ${DIST.slowRank} · node ${slowNode}`));
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.locator('[data-testid="ranks"]').screenshot({ path: join(ARTIFACTS, "ranks.png") });

  // Another metric redraws from one more request.
  await page.selectOption('[data-testid="heatmap-metric"]', "time/forward");
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="heatmap-metric"] option:checked')[0]?.value === "time/forward");
  await page.waitForFunction(() => document.querySelector('[data-testid="heatmap-legend"]').textContent.includes("time/forward"));
  assert.equal(heatRequests.length, 2);
  // Charts of per-rank metrics show at most 16 of the 64 label sets.
  assert.match(await page.locator('section.chart[data-metric="time/forward"] .chart-note').innerText(), /16 of 64 series/);
});

test("a hang reported by /ranks shows a banner", async () => {
  const run = await seedDistributedRun(server, { world: 8, steps: 50, name: "ddp-hang" });
  // A real hang takes hang_after (60 s) to be declared: the server's own
  // answer is passed through with a hang added.
  const hang = { since_ms: Date.now() - 90_000, ranks: [3], message: "rank 3 stopped at step 49 in phase comm on n0; 7 ranks wait" };
  await page.route(/\/ranks$/, async (route) => {
    const res = await route.fetch();
    route.fulfill({ response: res, json: { ...(await res.json()), hang } });
  });
  await openRanks(run.id, 8);
  const banner = page.locator('[data-testid="hang-banner"]');
  await banner.waitFor();
  assert.equal(await banner.getAttribute("data-ranks"), "3");
  assert.match(await banner.innerText(), /^Hang since .*rank 3 stopped at step 49 in phase comm on n0; 7 ranks wait$/);
});

test("a non-distributed run has no ranks section", async () => {
  const run = await server.createRun({ project: "dist", name: "single" });
  await server.log(run.id, [{ metric: "train/loss", steps: [1, 2, 3], values: [3, 2, 1] }]);
  await page.goto(`${server.url}/#/runs/${run.id}`);
  await page.waitForSelector('body[data-charts-ready="1"]');
  assert.equal(await page.locator('[data-testid="ranks"]').count(), 0);
});

test("a 1,024-rank x 200-step heatmap renders on one canvas", async (t) => {
  const world = 1024;
  const run = await seedDistributedRun(server, { world, steps: 200, metrics: ["forward"], name: "ddp-1024" });
  await openRanks(run.id, world);
  const c = canvas();
  assert.equal(Number(await c.getAttribute("data-cols")), 200);
  assert.equal(Number(await c.getAttribute("data-nodes")), world / DIST.perNode);
  // No DOM per cell: the section holds one canvas for the matrix.
  assert.equal(await page.locator('[data-testid="ranks"] .heatmap canvas').count(), 2); // matrix + legend bar
  const first = Number(await c.getAttribute("data-draw-ms"));
  // A warm redraw (toggle the colour mode twice).
  await page.locator('[data-testid="heatmap-relative"]').check();
  await page.locator('[data-testid="heatmap-relative"]').uncheck();
  const warm = Number(await c.getAttribute("data-draw-ms"));
  const msg = `heatmap draw at ${world} ranks x 200 columns: first ${first.toFixed(1)} ms, redraw ${warm.toFixed(1)} ms`;
  t.diagnostic(msg);
  console.log(msg);
  assert.equal((await page.locator('[data-testid="slow-rank"]').first().getAttribute("data-rank")), String(DIST.slowRank));
  await screenshot(page, "ranks-1024");
});
