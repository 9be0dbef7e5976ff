// MetricChart: one uPlot chart of one metric — the series of one run (one
// per label set) or of several runs (compare view, optionally grouped into
// mean + band). It fetches its points from the server downsampled to about
// two per pixel (the server keeps each bucket's min and max, so spikes
// survive), re-fetches the visible range at full resolution when the user
// zooms, appends live points, and exports CSV (as stored) and PNG. A run
// chart of the loss can carry the diagnosis' forecast: a dashed extension
// of the curve to the planned last step over its lightly shaded band.
import uPlot from "uplot";
import { api, toNumber, type SeriesData } from "./api";
import { download, ema, fmtNumber, h, labelsText } from "./util";

export type XAxis = "step" | "time" | "relative";

export interface ChartSettings {
  xAxis: XAxis;
  logY: boolean;
  smoothing: number; // EMA weight, 0..0.99
  band: "minmax" | "std";
}

export interface SeriesRef {
  run: string;
  metric: string;
  labels: Record<string, string>;
  label: string;
  color: string;
  runStartMs: number; // for the relative time axis
  group?: string; // compare view: the group this run belongs to
}

// The loss forecast drawn after the curve (GET .../diagnosis,
// forecast.loss.curve). Steps are mapped to the time axes with the pace.
export interface ChartForecast {
  steps: number[];
  low: (number | null)[];
  mid: (number | null)[];
  high: (number | null)[];
  lastStep: number; // the fitted curve's last step: where the extension starts
  lastTimeMs: number | null; // pace: the loss' last point's time
  secondsPerStep: number | null;
  final: { low: number | null; mid: number | null; high: number | null } | null;
  plannedLastStep: number | null;
}

// An x range in the chart's x units (steps, or seconds for time axes).
export interface XRange {
  x0: number;
  x1: number;
}

interface SeriesState {
  ref: SeriesRef;
  xs: number[];
  ys: (number | null)[];
  lastStep: number;
  lastTime: number;
  // Live points that arrived while a load was in flight: re-applied on top
  // of the loaded points (those the read did not include yet).
  pending: { step: number; time: number; value: number | string }[];
}

// The time spent redrawing live charts per frame (window.__vigilRedraw;
// read by bench/dashboard).
const redrawStats = {
  frames: 0,
  charts: 0,
  totalMs: 0,
  maxMs: 0,
  recent: [] as number[],
  record(ms: number, charts: number): void {
    this.frames++;
    this.charts += charts;
    this.totalMs += ms;
    this.maxMs = Math.max(this.maxMs, ms);
    this.recent.push(ms);
    if (this.recent.length > 2000) this.recent.shift();
  },
};
(window as unknown as { __vigilRedraw: typeof redrawStats }).__vigilRedraw = redrawStats;

// Charts whose data changed since the last frame; drawn once per frame.
const dirty = new Set<MetricChart>();
let frameScheduled = false;
function scheduleRedraw(c: MetricChart): void {
  dirty.add(c);
  if (frameScheduled) return;
  frameScheduled = true;
  requestAnimationFrame(() => {
    frameScheduled = false;
    const t0 = performance.now();
    const charts = [...dirty];
    dirty.clear();
    for (const ch of charts) ch.redraw();
    redrawStats.record(performance.now() - t0, charts.length);
  });
}

function withAlpha(color: string, alpha: number): string {
  const a = Math.round(alpha * 255)
    .toString(16)
    .padStart(2, "0");
  return color + a;
}

// Linear interpolation of (xs, ys) at x; null outside [xs[0], xs[n-1]].
function interp(xs: number[], ys: (number | null)[], x: number): number | null {
  const n = xs.length;
  if (!n || x < xs[0] || x > xs[n - 1]) return null;
  let lo = 0;
  let hi = n - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (xs[mid] <= x) lo = mid;
    else hi = mid;
  }
  const y0 = ys[lo];
  const y1 = ys[hi];
  if (y0 === null || y1 === null) return y0 ?? y1;
  if (xs[hi] === xs[lo]) return y1;
  return y0 + ((y1 - y0) * (x - xs[lo])) / (xs[hi] - xs[lo]);
}

export class MetricChart {
  readonly el: HTMLElement;
  readonly metric: string;
  private series: SeriesState[];
  private plot: uPlot | null = null;
  private plotHost: HTMLElement;
  private legend: HTMLElement;
  private status: HTMLElement;
  private range: XRange | null = null;
  private loadSeq = 0;
  private loading = false;
  private resizeObs: ResizeObserver;
  private plotSeriesOwner: number[] = []; // uPlot series index -> state index (-1: derived)
  private lastData: uPlot.AlignedData | null = null;
  private forecast: ChartForecast | null = null;
  private forecastIdx = -1; // uPlot series index of the forecast's mid line, -1: none drawn
  private note: HTMLElement;
  drawn = false;
  downsampled = false;
  onDrawn: (() => void) | null = null;

  constructor(
    title: string,
    refs: SeriesRef[],
    private settings: ChartSettings,
    private hooks: { syncKey: string; onZoom: (r: XRange | null) => void },
  ) {
    this.metric = refs[0]?.metric ?? title;
    this.series = refs.map((ref) => ({ ref, xs: [], ys: [], lastStep: -Infinity, lastTime: -Infinity, pending: [] }));
    this.status = h("span", { class: "chart-status" });
    this.note = h("span", { class: "chart-note" });
    this.legend = h("div", { class: "legend", "data-testid": "legend" });
    this.plotHost = h("div", { class: "plot" }, h("div", { class: "state loading small" }, "Loading…"));
    this.el = h(
      "section",
      { class: "chart", "data-metric": this.metric, "data-testid": "chart" },
      h(
        "div",
        { class: "chart-head" },
        h("span", { class: "chart-title", title }, title),
        this.status,
        this.note,
        h("span", { class: "chart-tools" },
          h("button", { class: "tool", title: "Download the points as stored (CSV, full resolution in range)", "data-testid": "csv", onclick: () => void this.exportCsv() }, "CSV"),
          h("button", { class: "tool", title: "Download the chart as PNG", "data-testid": "png", onclick: () => this.exportPng() }, "PNG"),
          h("button", { class: "tool", title: "Reset zoom (or double-click the chart)", onclick: () => this.hooks.onZoom(null) }, "⤢"),
        ),
      ),
      this.plotHost,
      this.legend,
    );
    this.plotHost.addEventListener("dblclick", () => this.hooks.onZoom(null));
    this.resizeObs = new ResizeObserver(() => {
      if (this.plot) this.plot.setSize(this.size());
    });
    this.resizeObs.observe(this.plotHost);
  }

  // A short note in the chart's header (e.g. "16 of 1024 series").
  setNote(text: string, title = ""): void {
    this.note.textContent = text;
    this.note.title = title;
  }

  // Sets (or clears) the forecast drawn after the curve; redraws.
  setForecast(f: ChartForecast | null): void {
    const had = this.forecast !== null;
    this.forecast = f;
    if (!this.plot && !this.series.some((s) => s.xs.length)) return; // drawn with the first data
    if (had !== (f !== null) || !this.plot) this.rebuild();
    else this.redraw();
  }

  // The forecast's points in this chart's x units; null when they cannot
  // be placed (a time axis without a pace).
  private forecastXs(): number[] | null {
    const f = this.forecast;
    if (!f || !f.steps.length) return null;
    if (this.settings.xAxis === "step") return f.steps;
    if (f.lastTimeMs === null || f.secondsPerStep === null) return null;
    const start = this.settings.xAxis === "relative" ? (this.series[0]?.ref.runStartMs ?? 0) : 0;
    return f.steps.map((st) => (f.lastTimeMs! + (st - f.lastStep) * f.secondsPerStep! * 1000 - start) / 1000);
  }

  get zoomed(): XRange | null {
    return this.range;
  }

  private size(): { width: number; height: number } {
    return { width: Math.max(200, this.plotHost.clientWidth || 400), height: 220 };
  }

  private serverAxis(): "step" | "time" {
    return this.settings.xAxis === "step" ? "step" : "time";
  }

  private xOf(s: SeriesState, step: number, timeMs: number): number {
    switch (this.settings.xAxis) {
      case "step":
        return step;
      case "time":
        return timeMs / 1000;
      case "relative":
        return (timeMs - s.ref.runStartMs) / 1000;
    }
  }

  // The server's from/to for an x range of this chart.
  private serverRange(s: SeriesState, r: XRange | null): { from?: number; to?: number } {
    if (!r) return {};
    switch (this.settings.xAxis) {
      case "step":
        return { from: Math.floor(r.x0), to: Math.ceil(r.x1) };
      case "time":
        return { from: Math.floor(r.x0 * 1000), to: Math.ceil(r.x1 * 1000) };
      case "relative":
        return { from: Math.floor(r.x0 * 1000 + s.ref.runStartMs), to: Math.ceil(r.x1 * 1000 + s.ref.runStartMs) };
    }
  }

  // Fetches every series for the current range and redraws.
  async load(range: XRange | null = this.range): Promise<void> {
    this.range = range;
    const seq = ++this.loadSeq;
    const points = Math.max(200, Math.min(4000, Math.round(this.size().width * 2)));
    this.status.textContent = range ? "zoom: loading…" : "";
    this.loading = true;
    for (const s of this.series) s.pending = [];
    try {
      const results: SeriesData[] = await Promise.all(
        this.series.map((s) =>
          api.series(s.ref.run, s.ref.metric, s.ref.labels, { x: this.serverAxis(), points, ...this.serverRange(s, range) }),
        ),
      );
      if (seq !== this.loadSeq) return; // a newer load superseded this one
      this.downsampled = false;
      results.forEach((d, i) => {
        const s = this.series[i];
        s.xs = new Array(d.count);
        s.ys = new Array(d.count);
        for (let j = 0; j < d.count; j++) {
          s.xs[j] = this.xOf(s, d.steps[j], d.times[j]);
          const v = toNumber(d.values[j]);
          s.ys[j] = Number.isFinite(v) ? v : null;
        }
        if (!range && d.count) {
          s.lastStep = d.steps[d.count - 1];
          s.lastTime = d.times[d.count - 1];
        }
        if (d.downsampled) this.downsampled = true;
      });
      this.loading = false;
      for (const s of this.series) {
        const p = s.pending;
        s.pending = [];
        if (p.length) this.appendTo(s, p.map((x) => x.step), p.map((x) => x.time), p.map((x) => x.value));
      }
      const total = results.reduce((a, d) => a + d.source_points, 0);
      const shown = results.reduce((a, d) => a + d.count, 0);
      this.status.textContent =
        (range ? "zoomed · " : "") + (this.downsampled ? `${shown} of ${total} pts (min/max kept)` : `${shown} pts`);
      this.el.dataset.downsampled = this.downsampled ? "1" : "0";
      this.el.dataset.points = String(shown);
      let ymax = -Infinity;
      for (const st of this.series) for (const y of st.ys) if (y !== null && y > ymax) ymax = y;
      this.el.dataset.ymax = String(ymax);
      this.el.dataset.range = range ? `${range.x0},${range.x1}` : "";
      this.rebuild();
    } catch (e) {
      if (seq !== this.loadSeq) return;
      this.loading = false;
      this.plotHost.replaceChildren(h("div", { class: "state error small" }, `Could not load ${this.metric}: ${(e as Error).message}`));
      this.status.textContent = "";
    }
  }

  // Live points of one series (from the stream). Points at or before the
  // last step seen are ignored (a retried batch reaches the stream twice).
  append(run: string, labelsKey: string, steps: number[], times: number[], values: (number | string)[]): void {
    const s = this.series.find((x) => x.ref.run === run && labelsText(x.ref.labels) === labelsKey);
    if (!s) return;
    if (this.loading) {
      for (let i = 0; i < steps.length; i++) s.pending.push({ step: steps[i], time: times[i], value: values[i] });
    }
    if (this.appendTo(s, steps, times, values)) scheduleRedraw(this);
  }

  private appendTo(s: SeriesState, steps: number[], times: number[], values: (number | string)[]): boolean {
    let added = false;
    for (let i = 0; i < steps.length; i++) {
      if (steps[i] <= s.lastStep && times[i] <= s.lastTime) continue;
      s.lastStep = Math.max(s.lastStep, steps[i]);
      s.lastTime = Math.max(s.lastTime, times[i]);
      const v = toNumber(values[i]);
      s.xs.push(this.xOf(s, steps[i], times[i]));
      s.ys.push(Number.isFinite(v) ? v : null);
      added = true;
    }
    return added;
  }

  hasSeries(run: string, labelsKey: string): boolean {
    return this.series.some((x) => x.ref.run === run && labelsText(x.ref.labels) === labelsKey);
  }

  // Aligned data: the union of every series' x values (and the extra
  // columns', e.g. the forecast).
  private aligned(extra: { xs: number[]; ys: (number | null)[] }[] = []): { xs: number[]; cols: (number | null)[][] } {
    const lists = [...this.series, ...extra];
    if (lists.length === 1) return { xs: lists[0].xs, cols: [lists[0].ys] };
    const all = new Set<number>();
    for (const s of lists) for (const x of s.xs) all.add(x);
    const xs = [...all].sort((a, b) => a - b);
    const index = new Map<number, number>();
    xs.forEach((x, i) => index.set(x, i));
    const cols = lists.map((s) => {
      const col: (number | null)[] = new Array(xs.length).fill(null);
      s.xs.forEach((x, i) => (col[index.get(x)!] = s.ys[i]));
      return col;
    });
    return { xs, cols };
  }

  private buildData(): { data: uPlot.AlignedData; series: uPlot.Series[]; bands: uPlot.Band[] } {
    const fxs = this.forecastXs();
    const f = this.forecast;
    const extra = fxs && f ? [{ xs: fxs, ys: f.high }, { xs: fxs, ys: f.low }, { xs: fxs, ys: f.mid }] : [];
    const { xs, cols } = this.aligned(extra);
    const logY = this.settings.logY;
    const fix = (col: (number | null)[]) => (logY ? col.map((v) => (v !== null && v > 0 ? v : null)) : col);
    const data: (number | null)[][] = [];
    const series: uPlot.Series[] = [{}];
    const bands: uPlot.Band[] = [];
    this.plotSeriesOwner = [-1];
    const w = this.settings.smoothing;
    const groups = new Map<string, number[]>();
    this.series.forEach((s, i) => {
      if (s.ref.group !== undefined) {
        const g = groups.get(s.ref.group) ?? [];
        g.push(i);
        groups.set(s.ref.group, g);
      }
    });
    const grouped = groups.size > 0;
    this.series.forEach((s, i) => {
      const col = fix(cols[i]);
      const faint = grouped || w > 0;
      data.push(col);
      series.push({ label: s.ref.label, stroke: faint ? withAlpha(s.ref.color, 0.3) : s.ref.color, width: 1, spanGaps: true, points: { show: false } });
      this.plotSeriesOwner.push(i);
      if (w > 0 && !grouped) {
        data.push(fix(ema(cols[i], w)));
        series.push({ label: s.ref.label + " (smoothed)", stroke: s.ref.color, width: 1.5, spanGaps: true, points: { show: false } });
        this.plotSeriesOwner.push(-1);
      }
    });
    for (const [name, members] of groups) {
      const mean: (number | null)[] = new Array(xs.length);
      const lo: (number | null)[] = new Array(xs.length);
      const hi: (number | null)[] = new Array(xs.length);
      for (let j = 0; j < xs.length; j++) {
        const vals: number[] = [];
        for (const m of members) {
          const v = interp(this.series[m].xs, this.series[m].ys, xs[j]);
          if (v !== null) vals.push(v);
        }
        if (!vals.length) {
          mean[j] = lo[j] = hi[j] = null;
          continue;
        }
        const mu = vals.reduce((a, b) => a + b, 0) / vals.length;
        mean[j] = mu;
        if (this.settings.band === "std") {
          const sd = Math.sqrt(vals.reduce((a, b) => a + (b - mu) * (b - mu), 0) / vals.length);
          lo[j] = mu - sd;
          hi[j] = mu + sd;
        } else {
          lo[j] = Math.min(...vals);
          hi[j] = Math.max(...vals);
        }
      }
      const color = this.series[members[0]].ref.color;
      const base = data.length + 1;
      data.push(fix(hi), fix(lo), fix(w > 0 ? ema(mean, w) : mean));
      series.push(
        { label: `${name} max`, stroke: withAlpha(color, 0.4), width: 0.5, spanGaps: true, points: { show: false } },
        { label: `${name} min`, stroke: withAlpha(color, 0.4), width: 0.5, spanGaps: true, points: { show: false } },
        { label: `${name} mean`, stroke: color, width: 2, spanGaps: true, points: { show: false } },
      );
      this.plotSeriesOwner.push(-1, -1, -1);
      bands.push({ series: [base, base + 1], fill: withAlpha(color, 0.18) });
    }
    this.forecastIdx = -1;
    if (extra.length) {
      // Band (high, low: no stroke, the area between them lightly filled),
      // then the dashed mid line from the last step to the planned end.
      const n = this.series.length;
      const color = this.series[0]?.ref.color ?? "#2563eb";
      const base = data.length + 1;
      data.push(fix(cols[n]), fix(cols[n + 1]), fix(cols[n + 2]));
      series.push(
        { label: "forecast high", stroke: "transparent", width: 0, spanGaps: true, points: { show: false } },
        { label: "forecast low", stroke: "transparent", width: 0, spanGaps: true, points: { show: false } },
        { label: "forecast", stroke: color, width: 1.5, dash: [6, 4], spanGaps: true, points: { show: false } },
      );
      this.plotSeriesOwner.push(-1, -1, -1);
      bands.push({ series: [base, base + 1], fill: withAlpha(color, 0.12) });
      this.forecastIdx = base + 2;
    }
    this.el.dataset.groups = String(groups.size);
    this.el.dataset.series = String(this.series.length);
    return { data: [xs, ...data] as uPlot.AlignedData, series, bands };
  }

  // Rebuilds the uPlot instance (settings changed, or first data).
  rebuild(): void {
    const { data, series, bands } = this.buildData();
    this.plot?.destroy();
    this.plot = null;
    this.drawn = false;
    if (!data[0].length) {
      this.plotHost.replaceChildren(h("div", { class: "state empty small", "data-testid": "chart-empty" }, this.range ? "No points in this range" : "No points yet"));
      this.updateLegend(null);
      this.markDrawn();
      return;
    }
    this.plotHost.replaceChildren();
    const xAxis = this.settings.xAxis;
    const opts: uPlot.Options = {
      ...this.size(),
      legend: { show: false },
      cursor: {
        sync: { key: this.hooks.syncKey, setSeries: false },
        drag: { x: true, y: false, setScale: false },
      },
      scales: {
        x: { time: xAxis === "time", ...(this.range ? { range: [this.range.x0, this.range.x1] as uPlot.Range.MinMax } : {}) },
        y: { distr: this.settings.logY ? 3 : 1 },
      },
      axes: [
        {
          stroke: "#555",
          grid: { stroke: "#eee" },
          values: xAxis === "relative" ? (_u, vals) => vals.map((v) => fmtRelative(v)) : undefined,
        },
        { stroke: "#555", grid: { stroke: "#eee" }, size: 64, values: (_u, vals) => vals.map((v) => fmtNumber(v)) },
      ],
      series,
      bands,
      hooks: {
        setSelect: [
          (u) => {
            if (u.select.width < 4) return;
            const x0 = u.posToVal(u.select.left, "x");
            const x1 = u.posToVal(u.select.left + u.select.width, "x");
            u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
            this.hooks.onZoom({ x0, x1 });
          },
        ],
        setCursor: [(u) => this.updateLegend(u.cursor.idx ?? null)],
        draw: [() => this.markDrawn()],
      },
    };
    this.lastData = data;
    this.plot = new uPlot(opts, data, this.plotHost);
    this.markForecast();
    this.updateLegend(null);
  }

  // data-forecast-* on the chart, read back from the uPlot instance (what
  // is drawn): dash pattern, points, first/last x and the last value.
  private markForecast(): void {
    const d = this.el.dataset;
    const u = this.plot;
    if (!u || this.forecastIdx < 0) {
      d.forecast = "0";
      for (const k of ["forecastDash", "forecastPoints", "forecastFrom", "forecastTo", "forecastEnd", "forecastBand"]) delete d[k];
      return;
    }
    const ser = u.series[this.forecastIdx];
    const col = u.data[this.forecastIdx] as (number | null | undefined)[];
    const xs = u.data[0] as number[];
    let first = -1;
    let last = -1;
    let pts = 0;
    col.forEach((v, i) => {
      if (v === null || v === undefined) return;
      if (first < 0) first = i;
      last = i;
      pts++;
    });
    d.forecast = "1";
    d.forecastDash = (ser.dash ?? []).join(",");
    d.forecastPoints = String(pts);
    d.forecastFrom = first >= 0 ? String(xs[first]) : "";
    d.forecastTo = last >= 0 ? String(xs[last]) : "";
    d.forecastEnd = last >= 0 ? String(col[last]) : "";
    d.forecastBand = "1"; // buildData adds the band with the line
  }

  // Live redraw: new data into the existing plot (scales follow the data
  // unless zoomed).
  redraw(): void {
    if (!this.plot) {
      this.rebuild();
      return;
    }
    const { data } = this.buildData();
    this.lastData = data;
    this.plot.setData(data, !this.range);
    this.markForecast();
    this.updateLegend(null);
  }

  setSettings(s: ChartSettings): void {
    const axisChanged = s.xAxis !== this.settings.xAxis;
    this.settings = s;
    if (axisChanged) void this.load(null);
    else this.rebuild();
  }

  private markDrawn(): void {
    if (this.drawn) return;
    this.drawn = true;
    this.el.dataset.drawn = "1";
    this.onDrawn?.();
  }

  // The legend: each series' value at the cursor, or its last value.
  private updateLegend(idx: number | null): void {
    const rows: HTMLElement[] = [];
    this.series.forEach((s, i) => {
      let v: number | null = null;
      if (idx !== null && this.lastData) {
        const col = this.plotSeriesOwner.indexOf(i);
        v = col > 0 ? ((this.lastData[col] as (number | null)[])[idx] ?? null) : null;
      } else {
        for (let j = s.ys.length - 1; j >= 0; j--) {
          if (s.ys[j] !== null) {
            v = s.ys[j];
            break;
          }
        }
      }
      rows.push(
        h(
          "span",
          { class: "legend-item", "data-series": s.ref.label },
          h("i", { class: "swatch", style: `background:${s.ref.color}` }),
          h("span", { class: "legend-label" }, s.ref.label),
          h("b", { class: "legend-value", "data-testid": "legend-value" }, fmtNumber(v)),
        ),
      );
    });
    const f = this.forecast;
    if (f && this.forecastIdx >= 0 && f.final) {
      const band = f.final.low !== null || f.final.high !== null ? ` [${fmtNumber(f.final.low)} – ${f.final.high === null ? "?" : fmtNumber(f.final.high)}]` : "";
      rows.push(
        h("span", { class: "legend-item forecast", "data-testid": "forecast-legend", title: "Forecast of the fitted learning curve at the planned last step (band: plausible fits)" },
          h("i", { class: "swatch dashed", style: `border-color:${this.series[0]?.ref.color ?? "#2563eb"}` }),
          h("span", { class: "legend-label" }, `forecast @ ${fmtNumber(f.plannedLastStep ?? f.steps[f.steps.length - 1])}`),
          h("b", { class: "legend-value" }, fmtNumber(f.final.mid), band),
        ),
      );
    }
    this.legend.replaceChildren(...rows);
  }

  async exportCsv(): Promise<void> {
    for (const s of this.series) {
      const url = api.seriesCsvUrl(s.ref.run, s.ref.metric, s.ref.labels, { x: this.serverAxis(), ...this.serverRange(s, this.range) });
      try {
        const res = await fetch(url);
        if (!res.ok) throw new Error(`${res.status} ${res.statusText}`);
        const text = await res.text();
        const name = `${s.ref.run}_${s.ref.metric.replace(/[^A-Za-z0-9_.-]+/g, "_")}${labelsText(s.ref.labels).replace(/[^A-Za-z0-9_=,-]+/g, "_")}.csv`;
        download(name, text, "text/csv");
      } catch (e) {
        this.status.textContent = `CSV failed: ${(e as Error).message}`;
      }
    }
  }

  exportPng(): void {
    if (!this.plot) return;
    const src = this.plot.ctx.canvas;
    const c = document.createElement("canvas");
    c.width = src.width;
    c.height = src.height + 40;
    const ctx = c.getContext("2d")!;
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, c.width, c.height);
    ctx.fillStyle = "#111";
    ctx.font = `${Math.round(14 * devicePixelRatio)}px sans-serif`;
    ctx.fillText(this.metric, 8, 26);
    ctx.drawImage(src, 0, 40);
    c.toBlob((b) => b && download(`${this.metric.replace(/[^A-Za-z0-9_.-]+/g, "_")}.png`, b));
  }

  destroy(): void {
    this.resizeObs.disconnect();
    dirty.delete(this);
    this.plot?.destroy();
    this.plot = null;
    this.loadSeq++;
  }
}

function fmtRelative(sec: number): string {
  if (Math.abs(sec) < 120) return `${Math.round(sec)}s`;
  if (Math.abs(sec) < 7200) return `${Math.round(sec / 60)}m`;
  return `${(sec / 3600).toFixed(1)}h`;
}
