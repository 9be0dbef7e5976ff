// The compare view: one metric overlaid across the selected runs; runs
// grouped by a config key into each group's mean with a min–max or ±1 std
// band; and a scatter of a config value against a metric's last value.
import uPlot from "uplot";
import { api, ApiError, toNumber, type Run, type SeriesInfo } from "./api";
import { MetricChart, type ChartSettings, type SeriesRef, type XRange } from "./chart";
import { controls, loadSettings } from "./controls";
import { fmtNumber, h, PALETTE, stateBadge, statePanel } from "./util";

function pickSeries(list: SeriesInfo[], metric: string): SeriesInfo | undefined {
  const m = list.filter((s) => s.metric === metric);
  return m.find((s) => Object.keys(s.labels).length === 0) ?? m[0];
}

function groupValue(r: Run, key: string): string {
  const v = (r.config ?? {})[key];
  return v === undefined ? "(unset)" : typeof v === "string" ? v : JSON.stringify(v);
}

export function renderCompare(root: HTMLElement, params: URLSearchParams): () => void {
  const ids = (params.get("runs") ?? "").split(",").map((s) => s.trim()).filter(Boolean);
  let disposed = false;
  let chart: MetricChart | null = null;
  let scatter: uPlot | null = null;
  let settings: ChartSettings = loadSettings();
  const body = h("div", { class: "compare-body" }, statePanel("loading", "Loading runs…"));
  root.replaceChildren(h("div", { class: "page compare-page" }, h("h1", {}, "Compare runs"), body));
  if (!ids.length) {
    body.replaceChildren(statePanel("empty", "No runs selected", h("span", {}, "Select runs on the ", h("a", { href: "#/runs" }, "runs page"), " and press Compare.")));
    return () => {};
  }
  const setParam = (k: string, v: string) => {
    const p = new URLSearchParams(params);
    if (v) p.set(k, v);
    else p.delete(k);
    location.hash = "#/compare?" + p.toString();
  };

  const start = async () => {
    let runs: Run[];
    let lists: SeriesInfo[][];
    try {
      runs = await Promise.all(ids.map((id) => api.run(id)));
      lists = await Promise.all(ids.map((id) => api.metrics(id).then((m) => m.series)));
    } catch (e) {
      const err = e as ApiError;
      body.replaceChildren(statePanel("error", err.unreachable ? "The vigil server is unreachable" : "Could not load the runs", err.message, { label: "Retry", run: () => void start() }));
      return;
    }
    if (disposed) return;
    const metricSet = new Set<string>();
    lists.forEach((l) => l.forEach((s) => metricSet.add(s.metric)));
    const metrics = [...metricSet].sort();
    if (!metrics.length) {
      body.replaceChildren(statePanel("empty", "These runs have no metrics yet"));
      return;
    }
    const common = metrics.filter((m) => lists.every((l) => l.some((s) => s.metric === m)));
    const metric = params.get("metric") && metricSet.has(params.get("metric")!) ? params.get("metric")! : (common.find((m) => /loss/.test(m)) ?? common[0] ?? metrics[0]);
    const configKeys = [...new Set(runs.flatMap((r) => Object.keys(r.config ?? {})))].sort();
    const groupKey = params.get("group") ?? "";
    const scatterKey = params.get("sx") ?? configKeys.find((k) => runs.some((r) => typeof r.config?.[k] === "number")) ?? "";

    const groups = groupKey ? [...new Set(runs.map((r) => groupValue(r, groupKey)))].sort() : [];
    const colorOf = (r: Run, i: number) => (groupKey ? PALETTE[groups.indexOf(groupValue(r, groupKey)) % PALETTE.length] : PALETTE[i % PALETTE.length]);

    const sel = (name: string, options: string[], value: string, empty?: string) =>
      h("select", { "data-testid": `compare-${name}`, onchange: (e: Event) => setParam(name, (e.target as HTMLSelectElement).value) },
        ...(empty !== undefined ? [h("option", { value: "" }, empty)] : []),
        ...options.map((o) => h("option", { value: o, selected: o === value }, o)),
      );

    const refs: SeriesRef[] = [];
    runs.forEach((r, i) => {
      const s = pickSeries(lists[i], metric);
      if (!s) return;
      refs.push({
        run: r.id, metric, labels: s.labels, label: r.name || r.id, color: colorOf(r, i), runStartMs: r.created_ms,
        ...(groupKey ? { group: `${groupKey}=${groupValue(r, groupKey)}` } : {}),
      });
    });
    const onZoom = (z: XRange | null) => void chart?.load(z);
    chart?.destroy();
    chart = new MetricChart(metric, refs, settings, { syncKey: "compare", onZoom });
    const legendRows = runs.map((r, i) => {
      const s = pickSeries(lists[i], metric);
      return h("tr", { "data-run": r.id },
        h("td", {}, h("i", { class: "swatch", style: `background:${colorOf(r, i)}` })),
        h("td", {}, h("a", { href: `#/runs/${encodeURIComponent(r.id)}` }, r.name || r.id)),
        h("td", {}, stateBadge(r.state)),
        h("td", {}, groupKey ? groupValue(r, groupKey) : ""),
        h("td", { class: "num" }, s ? fmtNumber(toNumber(s.last)) : "–"),
      );
    });
    const scatterHost = h("div", { class: "scatter", "data-testid": "scatter" });
    body.replaceChildren(
      h("div", { class: "toolbar" },
        h("label", {}, "metric ", sel("metric", metrics, metric)),
        h("label", {}, "group by ", sel("group", configKeys, groupKey, "(none)")),
        controls(settings, (s) => {
          settings = s;
          chart?.setSettings(s);
        }, true),
      ),
      h("div", { class: "chart-grid wide" }, chart.el),
      h("table", { class: "runs compact" }, h("thead", {}, h("tr", {}, h("th", {}, ""), h("th", {}, "run"), h("th", {}, "state"), h("th", {}, groupKey || ""), h("th", { class: "num" }, `last ${metric}`))), h("tbody", {}, ...legendRows)),
      h("h2", {}, "Config vs. metric"),
      h("div", { class: "toolbar" }, h("label", {}, "x = config ", sel("sx", configKeys, scatterKey)), h("span", { class: "muted" }, `y = last ${metric}`)),
      scatterHost,
    );
    await chart.load(null);
    drawScatter(scatterHost, runs, lists, metric, scatterKey);
  };

  const drawScatter = (host: HTMLElement, runs: Run[], lists: SeriesInfo[][], metric: string, key: string) => {
    scatter?.destroy();
    const pts: [number, number, string][] = [];
    runs.forEach((r, i) => {
      const x = Number((r.config ?? {})[key]);
      const s = pickSeries(lists[i], metric);
      const y = s ? toNumber(s.last) : NaN;
      if (Number.isFinite(x) && Number.isFinite(y)) pts.push([x, y, r.name || r.id]);
    });
    if (!pts.length) {
      host.replaceChildren(statePanel("empty", key ? `No run has a numeric config "${key}" and a value of ${metric}` : "No numeric config key to plot"));
      return;
    }
    pts.sort((a, b) => a[0] - b[0]);
    host.replaceChildren();
    scatter = new uPlot(
      {
        width: Math.max(300, host.clientWidth || 600),
        height: 260,
        legend: { show: false },
        scales: { x: { time: false } },
        axes: [{ label: key, stroke: "#555" }, { label: metric, stroke: "#555", size: 64, values: (_u, v) => v.map((x) => fmtNumber(x)) }],
        series: [{}, { stroke: PALETTE[0], fill: PALETTE[0], paths: () => null, points: { show: true, size: 9, fill: PALETTE[0] } }],
      },
      [pts.map((p) => p[0]), pts.map((p) => p[1])],
      host,
    );
  };

  void start();
  return () => {
    disposed = true;
    chart?.destroy();
    scatter?.destroy();
  };
}
