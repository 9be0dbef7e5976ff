// The "Ranks" section of the run page for a distributed run (world_size >
// 1): GET /api/v1/runs/{id}/ranks (states, hang, stragglers, per-node
// slowdown, per-step spread) and GET .../ranks/heatmap (a rank x step
// matrix of one per-rank metric). The heatmap is one canvas: the cells are
// written into an ImageData of cols x rows pixels (one pixel per cell) and
// scaled onto the visible canvas per node group, so 1,024 ranks x 200
// columns cost one request, one image and no DOM per cell. Rows are
// grouped by node (nodes in the order of their lowest rank) with a gap
// between nodes; hover shows rank, node, step range and value.
import uPlot from "uplot";
import { api, ApiError, toNumber, type RankHeatmap, type RankInfo, type Ranks } from "./api";
import { fmtNumber, fmtTime, h, statePanel } from "./util";

// Viridis at 9 stops (perceptually uniform, colour-blind safe); low values
// dark, high (slow) values yellow.
const VIRIDIS = ["#440154", "#472d7b", "#3b528b", "#2c728e", "#21918c", "#28ae80", "#5ec962", "#addc30", "#fde725"];
const NULL_RGB: [number, number, number] = [229, 231, 235];

function hexRgb(c: string): [number, number, number] {
  return [parseInt(c.slice(1, 3), 16), parseInt(c.slice(3, 5), 16), parseInt(c.slice(5, 7), 16)];
}

// 256-entry RGB lookup table interpolated between the stops.
const LUT: Uint8Array = (() => {
  const stops = VIRIDIS.map(hexRgb);
  const lut = new Uint8Array(256 * 3);
  for (let i = 0; i < 256; i++) {
    const t = (i / 255) * (stops.length - 1);
    const k = Math.min(stops.length - 2, Math.floor(t));
    const f = t - k;
    for (let c = 0; c < 3; c++) lut[i * 3 + c] = Math.round(stops[k][c] + (stops[k + 1][c] - stops[k][c]) * f);
  }
  return lut;
})();

function fmtValue(metric: string, v: number | null): string {
  if (v === null || !Number.isFinite(v)) return "–";
  if (metric.startsWith("time/") || metric.endsWith("_time")) {
    return v < 1 ? `${(v * 1000).toFixed(1)} ms` : `${v.toFixed(3)} s`;
  }
  return fmtNumber(v);
}

function fmtSecs(v: number | null | undefined): string {
  return v === null || v === undefined ? "–" : fmtValue("time/", v);
}

function fmtSlowdown(v: number | null | undefined): string {
  return v === null || v === undefined || !Number.isFinite(v) ? "–" : `${v.toFixed(2)}×`;
}

// "0–3,8" for a sorted list of ranks.
function rankRanges(ranks: number[]): string {
  const out: string[] = [];
  for (let i = 0; i < ranks.length; ) {
    let j = i;
    while (j + 1 < ranks.length && ranks[j + 1] === ranks[j] + 1) j++;
    out.push(j > i ? `${ranks[i]}–${ranks[j]}` : String(ranks[i]));
    i = j + 1;
  }
  return out.join(",");
}

interface Group {
  node: string;
  start: number; // first index into `order`
  count: number;
  y: number; // CSS px, top of the group's first row
}

// The heatmap canvas with its legend and hover tooltip.
export class HeatmapView {
  readonly el: HTMLElement;
  private canvas: HTMLCanvasElement;
  private tip: HTMLElement;
  private cursor: HTMLElement;
  private legend: HTMLElement;
  private hm: RankHeatmap | null = null;
  private relative = false;
  private order: number[] = []; // display row -> row of hm.values
  private groups: Group[] = [];
  private rowPx = 1;
  private plotW = 0;
  private lo = 0;
  private hi = 1;
  private resizeObs: ResizeObserver;
  private lastWidth = 0;
  static readonly GUTTER = 112;
  static readonly AXIS = 22;
  static readonly RIGHT = 8;
  lastDrawMs = 0;

  constructor() {
    this.canvas = h("canvas", { class: "heatmap-canvas", "data-testid": "heatmap-canvas" });
    this.tip = h("div", { class: "heatmap-tip", "data-testid": "heatmap-tooltip", hidden: true });
    this.cursor = h("div", { class: "heatmap-cursor", hidden: true });
    this.legend = h("div", { class: "heatmap-legend", "data-testid": "heatmap-legend" });
    this.el = h("div", { class: "heatmap" }, h("div", { class: "heatmap-wrap" }, this.canvas, this.cursor, this.tip), this.legend);
    this.canvas.addEventListener("mousemove", (e) => this.hover(e));
    this.canvas.addEventListener("mouseleave", () => {
      this.tip.hidden = true;
      this.cursor.hidden = true;
    });
    this.resizeObs = new ResizeObserver(() => {
      const w = this.el.clientWidth;
      if (this.hm && w && Math.abs(w - this.lastWidth) > 2) this.draw();
    });
    this.resizeObs.observe(this.el);
  }

  set(hm: RankHeatmap, relative: boolean): void {
    this.hm = hm;
    this.relative = relative;
    this.draw();
  }

  // Row order and node groups: nodes in the order of their lowest rank,
  // ranks ascending inside a node.
  private layout(hm: RankHeatmap): void {
    const n = hm.ranks.length;
    const idx = Array.from({ length: n }, (_, i) => i);
    const nodeFirst = new Map<string, number>();
    for (let i = 0; i < n; i++) {
      const nd = hm.nodes[i] ?? "";
      const r = hm.ranks[i];
      if (!nodeFirst.has(nd) || r < nodeFirst.get(nd)!) nodeFirst.set(nd, r);
    }
    idx.sort((a, b) => {
      const na = hm.nodes[a] ?? "";
      const nb = hm.nodes[b] ?? "";
      if (na !== nb) return nodeFirst.get(na)! - nodeFirst.get(nb)!;
      return hm.ranks[a] - hm.ranks[b];
    });
    this.order = idx;
    this.groups = [];
    for (let i = 0; i < n; i++) {
      const nd = hm.nodes[idx[i]] ?? "";
      const g = this.groups[this.groups.length - 1];
      if (g && g.node === nd) g.count++;
      else this.groups.push({ node: nd, start: i, count: 1, y: 0 });
    }
  }

  private gap(): number {
    const g = this.groups.length;
    return g <= 1 ? 0 : g <= 64 ? 3 : g <= 256 ? 1 : 0;
  }

  // Draws everything from this.hm; records the time it took.
  draw(): void {
    const hm = this.hm;
    if (!hm) return;
    const t0 = performance.now();
    this.layout(hm);
    const rows = this.order.length;
    const cols = hm.steps.length;
    const gap = this.gap();
    const gapTotal = gap * Math.max(0, this.groups.length - 1);
    this.rowPx = Math.max(1, Math.min(10, Math.floor((720 - gapTotal) / Math.max(1, rows))));
    let y = 4;
    for (const g of this.groups) {
      g.y = y;
      y += g.count * this.rowPx + gap;
    }
    const plotH = y - gap - 4;
    const cssW = Math.max(320, this.el.clientWidth || 800);
    this.lastWidth = cssW;
    const cssH = 4 + plotH + HeatmapView.AXIS;
    this.plotW = cssW - HeatmapView.GUTTER - HeatmapView.RIGHT;
    const dpr = window.devicePixelRatio || 1;
    this.canvas.width = Math.round(cssW * dpr);
    this.canvas.height = Math.round(cssH * dpr);
    this.canvas.style.width = `${cssW}px`;
    this.canvas.style.height = `${cssH}px`;

    // Cell values in display order; the colour range is the 1st..99th
    // percentile (one hung rank must not flatten the rest).
    const cells = new Float64Array(rows * cols);
    const finite = new Float64Array(rows * cols);
    let nf = 0;
    const med = hm.column_median.map((v) => toNumber(v));
    for (let r = 0; r < rows; r++) {
      const src = hm.values[this.order[r]] ?? [];
      for (let c = 0; c < cols; c++) {
        const raw = src[c];
        let v = typeof raw === "number" ? raw : raw === null || raw === undefined ? NaN : toNumber(raw);
        if (this.relative) v = med[c] > 0 ? v / med[c] : NaN;
        cells[r * cols + c] = v;
        if (Number.isFinite(v)) finite[nf++] = v;
      }
    }
    // Percentiles from at most 16,384 evenly spaced cells (sorting all of
    // 1,024 x 2,000 would dominate the draw).
    const stride = Math.max(1, Math.ceil(nf / 16384));
    const sample = new Float64Array(Math.ceil(nf / stride));
    for (let i = 0, j = 0; i < nf; i += stride) sample[j++] = finite[i];
    const sorted = sample.sort();
    if (sorted.length) {
      this.lo = sorted[Math.floor((sorted.length - 1) * 0.01)];
      this.hi = sorted[Math.ceil((sorted.length - 1) * 0.99)];
      // At least +-10% around the median: noise of a few percent should not
      // span the whole colour scale.
      const p50 = sorted[Math.floor((sorted.length - 1) / 2)];
      if (p50 > 0 && this.lo >= 0) {
        this.lo = Math.min(this.lo, p50 * 0.9);
        this.hi = Math.max(this.hi, p50 * 1.1);
      }
      if (!(this.hi > this.lo)) this.hi = this.lo + (Math.abs(this.lo) || 1) * 1e-6;
    } else {
      this.lo = 0;
      this.hi = 1;
    }

    // One pixel per cell.
    const img = new ImageData(Math.max(1, cols), Math.max(1, rows));
    const px = img.data;
    const scale = 255 / (this.hi - this.lo);
    for (let i = 0; i < cells.length; i++) {
      const v = cells[i];
      const o = i * 4;
      if (Number.isNaN(v)) {
        px[o] = NULL_RGB[0];
        px[o + 1] = NULL_RGB[1];
        px[o + 2] = NULL_RGB[2];
      } else {
        const k = Math.max(0, Math.min(255, Math.round((v - this.lo) * scale))) * 3;
        px[o] = LUT[k];
        px[o + 1] = LUT[k + 1];
        px[o + 2] = LUT[k + 2];
      }
      px[o + 3] = 255;
    }
    const off = document.createElement("canvas");
    off.width = img.width;
    off.height = img.height;
    off.getContext("2d")!.putImageData(img, 0, 0);

    const ctx = this.canvas.getContext("2d")!;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, cssW, cssH);
    ctx.imageSmoothingEnabled = false;
    const x0 = HeatmapView.GUTTER;
    if (rows && cols) {
      for (const g of this.groups) ctx.drawImage(off, 0, g.start, cols, g.count, x0, g.y, this.plotW, g.count * this.rowPx);
    }

    // Node labels (and rank labels when rows are tall enough), separators.
    ctx.font = "11px system-ui, sans-serif";
    ctx.textBaseline = "middle";
    ctx.fillStyle = "#374151";
    ctx.strokeStyle = "#9ca3af";
    ctx.lineWidth = 1;
    const showRanks = this.rowPx >= 10;
    let labelEnd = -Infinity; // small groups: label one whenever there is room
    for (let gi = 0; gi < this.groups.length; gi++) {
      const g = this.groups[gi];
      const gh = g.count * this.rowPx;
      if (gi > 0 && gap > 0) {
        ctx.beginPath();
        ctx.moveTo(4, g.y - gap / 2);
        ctx.lineTo(x0 - 2, g.y - gap / 2);
        ctx.stroke();
      }
      if (gh >= 11 || g.y >= labelEnd) {
        labelEnd = g.y + 14;
        const ranks = this.order.slice(g.start, g.start + g.count).map((i) => hm.ranks[i]);
        const label = (g.node || "(no node)") + (showRanks ? "" : `  ${rankRanges(ranks)}`);
        ctx.textAlign = "left";
        ctx.fillText(truncate(ctx, label, showRanks ? x0 - 40 : x0 - 8), 4, g.y + (gh >= 11 ? Math.min(gh, 22) / 2 : 5));
      }
      if (showRanks) {
        ctx.textAlign = "right";
        for (let i = 0; i < g.count; i++) ctx.fillText(String(hm.ranks[this.order[g.start + i]]), x0 - 4, g.y + i * this.rowPx + this.rowPx / 2);
      }
    }
    // X axis: the start step of a few columns.
    ctx.textAlign = "center";
    ctx.textBaseline = "top";
    const axisY = 4 + plotH + 4;
    const ticks = Math.max(2, Math.min(cols, Math.floor(this.plotW / 90)));
    for (let t = 0; t < ticks && cols; t++) {
      const c = Math.round((t * (cols - 1)) / Math.max(1, ticks - 1));
      const x = x0 + (c + 0.5) * (this.plotW / cols);
      ctx.fillText(String(hm.steps[c]), x, axisY);
    }
    this.lastDrawMs = performance.now() - t0;
    this.canvas.dataset.rows = String(rows);
    this.canvas.dataset.cols = String(cols);
    this.canvas.dataset.nodes = String(this.groups.length);
    this.canvas.dataset.rowPx = String(this.rowPx);
    this.canvas.dataset.gap = String(gap);
    this.canvas.dataset.plotX = `${HeatmapView.GUTTER},${this.plotW}`; // CSS px: left, width
    this.canvas.dataset.groupY = this.groups.length <= 256 ? this.groups.map((g) => g.y).join(",") : "";
    this.canvas.dataset.drawMs = this.lastDrawMs.toFixed(2);
    this.canvas.dataset.rowOrder = rows <= 256 ? this.order.map((i) => hm.ranks[i]).join(",") : "";
    (window as unknown as { __vigilHeatmap: unknown }).__vigilHeatmap = { ms: this.lastDrawMs, rows, cols, nodes: this.groups.length };
    this.renderLegend(hm);
  }

  private renderLegend(hm: RankHeatmap): void {
    const bar = h("canvas", { class: "legend-bar", width: 200, height: 10 });
    const c = bar.getContext("2d")!;
    for (let x = 0; x < 200; x++) {
      const k = Math.round((x / 199) * 255) * 3;
      c.fillStyle = `rgb(${LUT[k]},${LUT[k + 1]},${LUT[k + 2]})`;
      c.fillRect(x, 0, 1, 10);
    }
    const f = (v: number) => (this.relative ? `${v.toFixed(2)}×` : fmtValue(hm.metric, v));
    this.legend.replaceChildren(
      h("span", { "data-testid": "legend-lo" }, f(this.lo)),
      bar,
      h("span", { "data-testid": "legend-hi" }, f(this.hi)),
      h("span", { class: "muted" }, this.relative ? " of the step's median across ranks" : ` ${hm.metric}`),
      h("i", { class: "swatch", style: "background:rgb(229,231,235);margin-left:12px" }),
      h("span", { class: "muted" }, "no data"),
      h("span", { class: "muted" }, ` · ${hm.ranks.length} ranks × ${hm.steps.length} columns of ${hm.bin} step${hm.bin === 1 ? "" : "s"} · colours span the 1st–99th percentile (at least ±10% of the median)`),
    );
  }

  // The cell under the mouse: tooltip and cursor box.
  private hover(e: MouseEvent): void {
    const hm = this.hm;
    if (!hm || !this.order.length) return;
    const rect = this.canvas.getBoundingClientRect();
    const x = e.clientX - rect.left;
    const y = e.clientY - rect.top;
    const cols = hm.steps.length;
    const col = Math.floor(((x - HeatmapView.GUTTER) / this.plotW) * cols);
    let lo = 0;
    let hi = this.groups.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.groups[mid].y <= y) lo = mid;
      else hi = mid - 1;
    }
    const g = this.groups[lo];
    const within = Math.floor((y - g.y) / this.rowPx);
    if (col < 0 || col >= cols || y < g.y || within >= g.count) {
      this.tip.hidden = true;
      this.cursor.hidden = true;
      return;
    }
    const drow = g.start + within;
    const row = this.order[drow];
    const rank = hm.ranks[row];
    const raw = hm.values[row]?.[col];
    const v = raw === null || raw === undefined ? null : toNumber(raw);
    const med = toNumber(hm.column_median[col]);
    const stepA = hm.steps[col];
    const stepB = col + 1 < cols ? hm.steps[col + 1] - 1 : hm.step_to;
    this.tip.replaceChildren(
      h("b", {}, `rank ${rank}`), ` · node ${hm.nodes[row] || "?"}`, h("br"),
      `steps ${stepA}${stepB > stepA ? `–${stepB}` : ""}`, h("br"),
      `${hm.metric}: `, h("b", { "data-testid": "tooltip-value" }, fmtValue(hm.metric, v)),
      v !== null && med > 0 ? ` (${(v / med).toFixed(2)}× median)` : "",
      h("br"), h("span", { class: "muted" }, `row mean ${fmtValue(hm.metric, toNumber(hm.row_mean[row]))}`),
    );
    this.tip.dataset.rank = String(rank);
    this.tip.dataset.node = hm.nodes[row] ?? "";
    this.tip.dataset.step = String(stepA);
    this.tip.dataset.value = v === null ? "" : String(v);
    this.tip.hidden = false;
    const cw = this.plotW / cols;
    const tipX = x + 14 + 240 > rect.width ? x - 250 : x + 14;
    this.tip.style.left = `${tipX}px`;
    this.tip.style.top = `${y + 12}px`;
    this.cursor.hidden = false;
    this.cursor.style.left = `${HeatmapView.GUTTER + col * cw - 1}px`;
    this.cursor.style.top = `${g.y + within * this.rowPx - 1}px`;
    this.cursor.style.width = `${Math.max(2, cw) + 2}px`;
    this.cursor.style.height = `${this.rowPx + 2}px`;
  }

  destroy(): void {
    this.resizeObs.disconnect();
  }
}

function truncate(ctx: CanvasRenderingContext2D, s: string, w: number): string {
  if (ctx.measureText(s).width <= w) return s;
  while (s.length > 1 && ctx.measureText(s + "…").width > w) s = s.slice(0, -1);
  return s + "…";
}

// The whole section: summary, hang banner, slowest ranks, nodes, spread,
// heatmap. load() re-reads both routes (the run page calls it every 10 s
// while the run is running).
export class RanksSection {
  readonly el: HTMLElement;
  private summary: HTMLElement;
  private banner: HTMLElement;
  private tables: HTMLElement;
  private spreadHost: HTMLElement;
  private spread: uPlot | null = null;
  private heat: HeatmapView;
  private heatState: HTMLElement;
  private metricSel: HTMLSelectElement;
  private relBox: HTMLInputElement;
  private metric = "";
  private seq = 0;
  private inflight = 0;
  ranks: Ranks | null = null;
  heatmap: RankHeatmap | null = null;

  constructor(private runId: string) {
    this.summary = h("div", { class: "ranks-summary", "data-testid": "ranks-summary" }, statePanel("loading", "Loading ranks…"));
    this.banner = h("div", { class: "ranks-banner" });
    this.tables = h("div", { class: "ranks-tables" });
    this.spreadHost = h("div", { class: "ranks-spread", "data-testid": "ranks-spread" });
    this.heat = new HeatmapView();
    this.heat.el.hidden = true; // until the first heatmap arrives
    this.heatState = h("div", { class: "heatmap-state" });
    this.metricSel = h("select", {
      "data-testid": "heatmap-metric",
      onchange: () => {
        this.metric = this.metricSel.value;
        void this.loadHeatmap();
      },
    });
    this.relBox = h("input", {
      type: "checkbox", "data-testid": "heatmap-relative",
      onchange: () => this.heatmap && this.heat.set(this.heatmap, this.relBox.checked),
    });
    this.el = h(
      "section",
      { class: "ranks", "data-testid": "ranks" },
      h("h2", {}, "Ranks"),
      this.banner,
      this.summary,
      this.tables,
      h("div", { class: "heatmap-head" },
        h("h3", {}, "Rank × step"),
        h("label", {}, "metric ", this.metricSel),
        h("label", { title: "Colour each cell by its ratio to the step's median across ranks" }, this.relBox, " relative to the step's median"),
      ),
      this.heatState,
      this.heat.el,
      this.spreadHost,
    );
  }

  // Ranks to prefer when a chart cannot show every rank's series: the
  // slowest first.
  slowestRanks(n: number): string[] {
    return this.slowList().slice(0, n).map((r) => String(r.rank));
  }

  private slowList(): (RankInfo & { straggler?: { since_step: number; hint: string } })[] {
    const r = this.ranks;
    if (!r) return [];
    const strag = new Map(r.stragglers.map((s) => [s.rank, s]));
    const list = r.ranks.map((x) => ({ ...x, straggler: strag.get(x.rank) }));
    list.sort((a, b) => {
      if (!!a.straggler !== !!b.straggler) return a.straggler ? -1 : 1;
      return (b.slowdown ?? -Infinity) - (a.slowdown ?? -Infinity) || a.rank - b.rank;
    });
    return list;
  }

  get busy(): boolean {
    return this.inflight > 0;
  }

  async load(): Promise<void> {
    this.inflight++;
    try {
      await Promise.all([this.loadRanks(), this.loadHeatmap()]);
    } finally {
      this.inflight--;
    }
  }

  private async loadRanks(): Promise<void> {
    const seq = ++this.seq;
    try {
      const r = await api.ranks(this.runId);
      if (seq !== this.seq) return;
      this.ranks = r;
      this.renderRanks(r);
    } catch (e) {
      if (seq !== this.seq) return;
      const err = e as ApiError;
      if (this.ranks) return; // keep the last answer
      this.summary.replaceChildren(
        statePanel("error", err.unreachable ? "The vigil server is unreachable" : "Could not load the ranks", err.message, { label: "Retry", run: () => void this.load() }),
      );
    }
  }

  private async loadHeatmap(): Promise<void> {
    const metric = this.metric;
    try {
      let hm: RankHeatmap;
      if (metric) {
        hm = await api.rankHeatmap(this.runId, { metric, steps: 200 });
      } else {
        // First choice: compute time. A straggler's step time is hidden by
        // the collectives (the others wait for it); its compute time is not.
        try {
          hm = await api.rankHeatmap(this.runId, { metric: "compute_time", steps: 200 });
        } catch (e) {
          if ((e as ApiError).status !== 404 && (e as ApiError).status !== 400) throw e;
          hm = await api.rankHeatmap(this.runId, { steps: 200 }); // no phases: the server's default
        }
      }
      if (metric !== this.metric) return;
      this.metric = hm.metric;
      this.heatmap = hm;
      this.metricSel.replaceChildren(...(hm.metrics.includes(hm.metric) ? hm.metrics : [hm.metric, ...hm.metrics]).map((m) => h("option", { value: m, selected: m === hm.metric }, m)));
      if (!hm.ranks.length || !hm.steps.length) {
        this.heatState.replaceChildren(statePanel("empty", "No per-rank points yet", "Series with a rank label (time/<phase> from run.phase) fill this heatmap."));
        this.heat.el.hidden = true;
        return;
      }
      this.heatState.replaceChildren();
      this.heat.el.hidden = false;
      this.heat.set(hm, this.relBox.checked);
      this.el.dataset.heatmapRows = String(hm.ranks.length);
    } catch (e) {
      if (metric !== this.metric) return;
      const err = e as ApiError;
      if (this.heatmap) return;
      this.heatState.replaceChildren(statePanel("error", "Could not load the heatmap", err.message, { label: "Retry", run: () => void this.loadHeatmap() }));
    }
  }

  private renderRanks(r: Ranks): void {
    this.el.dataset.worldSize = String(r.world_size);
    const states = new Map<string, number>();
    for (const x of r.ranks) states.set(x.state, (states.get(x.state) ?? 0) + 1);
    this.summary.replaceChildren(
      h("span", {}, h("b", {}, String(r.world_size)), " ranks"),
      h("span", {}, `${r.known} heard from`),
      h("span", {}, `${r.alive} alive`),
      r.finished ? h("span", {}, `${r.finished} finished`) : "",
      ...[...states].filter(([s]) => s !== "alive" && s !== "finished").map(([s, n]) => h("span", { class: `rank-state s-${s}` }, `${n} ${s}`)),
      h("span", {}, `median step ${fmtSecs(r.step_time.median_s)}`),
      h("span", {}, `compute ${fmtSecs(r.step_time.compute_median_s)}`),
      h("span", {}, `${r.nodes.length} node${r.nodes.length === 1 ? "" : "s"}`),
    );
    this.banner.replaceChildren(
      r.hang
        ? h("div", { class: "banner critical", "data-testid": "hang-banner", "data-ranks": r.hang.ranks.join(",") },
            h("b", {}, `Hang since ${fmtTime(r.hang.since_ms)}: `), r.hang.message || `rank${r.hang.ranks.length === 1 ? "" : "s"} ${rankRanges([...r.hang.ranks].sort((a, b) => a - b))} stopped`)
        : "",
    );

    const slow = this.slowList().slice(0, 10);
    const slowTable = h("table", { class: "runs compact ranks-slow", "data-testid": "slow-ranks" },
      h("tr", {}, ...["rank", "node", "state", "step", "phase", "step time", "compute", "slowdown", ""].map((t) => h("th", {}, t))),
      ...slow.map((x) =>
        h("tr", { "data-testid": "slow-rank", "data-rank": x.rank, class: x.straggler ? "straggler" : "" },
          h("td", { class: "num" }, String(x.rank)),
          h("td", {}, x.node || "–"),
          h("td", {}, h("span", { class: `rank-state s-${x.state}` }, x.state)),
          h("td", { class: "num" }, x.step === null ? "–" : String(x.step)),
          h("td", {}, x.phase ? `${x.phase}${x.phase_ms !== null ? ` ${(x.phase_ms / 1000).toFixed(1)} s` : ""}` : "–"),
          h("td", { class: "num" }, fmtSecs(x.step_s)),
          h("td", { class: "num" }, fmtSecs(x.compute_s)),
          h("td", { class: "num", "data-testid": "slowdown" }, fmtSlowdown(x.slowdown)),
          h("td", { class: "hint" }, x.straggler ? `straggler since step ${x.straggler.since_step}: ${x.straggler.hint}` : ""),
        )),
    );
    // Nodes by their slowdown (the median of their ranks'), with each
    // node's slowest rank beside it.
    const byRank = new Map(r.ranks.map((x) => [x.rank, x]));
    const slowest = (n: Ranks["nodes"][number]) => {
      let best: RankInfo | undefined;
      for (const k of n.ranks) {
        const x = byRank.get(k);
        if (x && x.slowdown !== null && (!best || x.slowdown > (best.slowdown ?? -Infinity))) best = x;
      }
      return best;
    };
    const nodes = r.nodes.map((n) => ({ n, worst: slowest(n) }));
    nodes.sort((a, b) => (b.n.slowdown ?? -Infinity) - (a.n.slowdown ?? -Infinity) || (b.worst?.slowdown ?? -Infinity) - (a.worst?.slowdown ?? -Infinity));
    const nodeTable = h("table", { class: "runs compact ranks-nodes", "data-testid": "rank-nodes" },
      h("tr", {}, h("th", {}, "node"), h("th", {}, "ranks"), h("th", { title: "median of its ranks' slowdowns" }, "slowdown"), h("th", {}, "slowest rank")),
      ...nodes.map(({ n, worst }) =>
        h("tr", { "data-node": n.node },
          h("td", {}, n.node || "(unknown)"),
          h("td", {}, rankRanges([...n.ranks].sort((a, b) => a - b))),
          h("td", { class: "num", "data-testid": "node-slowdown" }, fmtSlowdown(n.slowdown)),
          h("td", { class: "num" }, worst ? `${worst.rank} (${fmtSlowdown(worst.slowdown)})` : "–"))),
    );
    this.tables.replaceChildren(
      h("div", {}, h("h3", {}, "Slowest ranks"), r.ranks.length ? slowTable : h("p", { class: "muted" }, "No rank has reported yet.")),
      h("div", { class: "nodes-box" }, h("h3", {}, "Nodes"), r.nodes.length ? nodeTable : h("p", { class: "muted" }, "No nodes known.")),
    );
    this.drawSpread(r);
  }

  // Step time across ranks per step: min–max band, median line.
  private drawSpread(r: Ranks): void {
    this.spread?.destroy();
    this.spread = null;
    if (r.spread.length < 2) {
      this.spreadHost.replaceChildren();
      return;
    }
    const xs = r.spread.map((s) => s.step);
    const data = [xs, r.spread.map((s) => s.max_s), r.spread.map((s) => s.min_s), r.spread.map((s) => s.median_s)] as uPlot.AlignedData;
    const title = h("h3", {}, "Step time across ranks (min – median – max)");
    const host = h("div", {});
    this.spreadHost.replaceChildren(title, host);
    const width = Math.max(320, this.el.clientWidth || 800);
    this.spread = new uPlot(
      {
        width,
        height: 160,
        legend: { show: false },
        cursor: { drag: { x: false, y: false } },
        scales: { x: { time: false } },
        axes: [
          { stroke: "#555", grid: { stroke: "#eee" } },
          { stroke: "#555", grid: { stroke: "#eee" }, size: 64, values: (_u, vals) => vals.map((v) => fmtSecs(v)) },
        ],
        series: [
          {},
          { label: "max", stroke: "#dc262680", width: 1, points: { show: false } },
          { label: "min", stroke: "#2563eb80", width: 1, points: { show: false } },
          { label: "median", stroke: "#111827", width: 1.5, points: { show: false } },
        ],
        bands: [{ series: [1, 2], fill: "#dc26261a" }],
      },
      data,
      host,
    );
  }

  destroy(): void {
    this.seq++;
    this.metric = "\u0000disposed";
    this.heat.destroy();
    this.spread?.destroy();
  }
}
