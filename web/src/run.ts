// The run page: run info, config, events timeline, and a chart per metric
// grouped by prefix (train/, val/, time/, sys/...), all on one x axis with
// synced cursors. Live: subscribes to GET /api/v1/stream?run=ID (server-sent
// events) and appends points as they are committed; zooming any chart
// re-fetches that x range at full resolution on every chart. Above the
// charts: the diagnosis panel (diagnosis.ts; its loss forecast is drawn on
// the loss chart as a dashed extension) and, for a distributed run, the
// ranks section (ranks.ts); both are re-read every 10 s while running.
import { api, ApiError, type Diagnosis, type Run, type SeriesInfo } from "./api";
import { MetricChart, type ChartForecast, type ChartSettings, type SeriesRef, type XRange } from "./chart";
import { DiagnosisPanel } from "./diagnosis";
import { RanksSection } from "./ranks";
import { controls, loadSettings } from "./controls";
import { fmtDuration, fmtTime, h, labelsText, PALETTE, runDuration, stateBadge, statePanel } from "./util";
import { setConnection } from "./conn";

// "train/loss" -> "train"; "sys/gpu/utilization" -> "sys/gpu"; "loss" -> "".
export function groupOf(metric: string): string {
  const i = metric.lastIndexOf("/");
  return i < 0 ? "" : metric.slice(0, i);
}

function groupOrder(g: string): string {
  // Training first, then the rest, system metrics last.
  if (g.startsWith("sys")) return "3" + g;
  if (g === "train" || g === "") return "0" + g;
  if (g === "val" || g === "eval" || g === "test") return "1" + g;
  return "2" + g;
}

// A chart shows at most this many label sets of a metric (a metric logged
// by 1,024 ranks would otherwise cost 1,024 requests and an unreadable
// chart); the slowest ranks first, then in rank order. The ranks heatmap
// shows them all.
const MAX_SERIES_PER_CHART = 16;
const REFRESH_MS = 10_000;
const FORECAST_KEY = "vigil.forecast";

// The diagnosis' loss forecast as the chart draws it; null when there is
// nothing to extend to (no planned last step and no target).
export function chartForecast(d: Diagnosis | null): { metric: string; f: ChartForecast } | null {
  const l = d?.forecast.loss;
  if (!d || !l || (l.planned_last_step === null && !l.target)) return null;
  const c = l.curve;
  const steps: number[] = [];
  const low: (number | null)[] = [];
  const mid: (number | null)[] = [];
  const high: (number | null)[] = [];
  c.steps.forEach((st, i) => {
    if (st === null) return;
    steps.push(st);
    low.push(c.low[i] ?? null);
    mid.push(c.mid[i] ?? null);
    high.push(c.high[i] ?? null);
  });
  if (steps.length < 2) return null;
  const pace = d.forecast.pace;
  return {
    metric: l.metric,
    f: {
      steps, low, mid, high,
      lastStep: l.fit.last_step,
      lastTimeMs: pace ? pace.last_time_ms : null,
      secondsPerStep: pace ? pace.seconds_per_step : null,
      final: l.final ?? (l.planned_last_step === null ? { low: low[low.length - 1], mid: mid[mid.length - 1], high: high[high.length - 1] } : null),
      plannedLastStep: l.planned_last_step ?? steps[steps.length - 1],
    },
  };
}

// Label sets to chart when there are too many: the preferred ranks (the
// slowest), then by rank (numerically) or label text.
function pickSeries(infos: SeriesInfo[], preferRanks: string[]): SeriesInfo[] {
  if (infos.length <= MAX_SERIES_PER_CHART) return infos;
  const pref = new Map(preferRanks.map((r, i) => [r, i]));
  const key = (s: SeriesInfo) => {
    const r = s.labels.rank;
    if (r !== undefined && pref.has(r)) return [0, pref.get(r)!, ""] as const;
    return [1, r !== undefined && /^\d+$/.test(r) ? Number(r) : Infinity, labelsText(s.labels)] as const;
  };
  return [...infos]
    .sort((a, b) => {
      const ka = key(a);
      const kb = key(b);
      return ka[0] - kb[0] || ka[1] - kb[1] || ka[2].localeCompare(kb[2]);
    })
    .slice(0, MAX_SERIES_PER_CHART);
}

interface PointsEvent {
  run: string;
  series: { metric: string; labels: Record<string, string>; steps: number[]; times: number[]; values: (number | string)[] }[];
}

export function renderRun(root: HTMLElement, id: string, params: URLSearchParams): () => void {
  let disposed = false;
  let run: Run | null = null;
  let settings: ChartSettings = loadSettings();
  const charts = new Map<string, MetricChart>(); // metric -> chart
  let zoom: XRange | null = null;
  let source: EventSource | null = null;
  let drawnCount = 0;
  const t0 = performance.now();
  const filter = params.get("filter") ?? "";
  const knownSeries = new Set<string>(); // metric + labelsText of every listed series
  const diag = new DiagnosisPanel(id);
  let ranks: RanksSection | null = null;
  let forecast: { metric: string; f: ChartForecast } | null = null;
  let showForecast = localStorage.getItem(FORECAST_KEY) !== "0";
  const applyForecast = () => {
    for (const c of charts.values()) c.setForecast(showForecast && forecast && c.metric === forecast.metric ? forecast.f : null);
  };
  diag.onUpdate = (d) => {
    forecast = chartForecast(d);
    applyForecast();
  };
  const sections = h("div", { class: "run-sections" });

  const header = h("div", { class: "run-header" }, statePanel("loading", "Loading run…"));
  const info = h("div", { class: "run-info" });
  const chartsEl = h("div", { class: "chart-groups", "data-testid": "charts" });
  const live = h("span", { class: "live", "data-testid": "live" });
  const filterInput = h("input", {
    type: "search", placeholder: "filter metrics", value: filter, "data-testid": "metric-filter",
    oninput: (e: Event) => applyFilter((e.target as HTMLInputElement).value),
  });
  const bar = h("div", { class: "toolbar sticky" },
    controls(settings, (s) => {
      settings = s;
      for (const c of charts.values()) c.setSettings(s);
    }),
    filterInput,
    h("label", { title: "Draw the diagnosis' loss forecast after the loss curve (dashed, with its band)" },
      h("input", {
        type: "checkbox", checked: showForecast, "data-testid": "show-forecast",
        onchange: (e: Event) => {
          showForecast = (e.target as HTMLInputElement).checked;
          localStorage.setItem(FORECAST_KEY, showForecast ? "1" : "0");
          applyForecast();
        },
      }), " forecast"),
    h("button", { onclick: () => setZoom(null), title: "Reset zoom on every chart" }, "Reset zoom"),
    h("a", { class: "button", href: `/api/v1/runs/${encodeURIComponent(id)}/export`, download: `${id}.csv`, title: "All series of the run, wide CSV" }, "Export run CSV"),
    live,
  );
  root.replaceChildren(h("div", { class: "page run-page", "data-run": id }, header, info, sections, bar, chartsEl));
  document.body.dataset.chartsReady = "0";

  const applyFilter = (text: string) => {
    const t = text.trim().toLowerCase();
    for (const c of charts.values()) c.el.style.display = !t || c.metric.toLowerCase().includes(t) ? "" : "none";
  };

  const setZoom = (r: XRange | null) => {
    zoom = r;
    for (const c of charts.values()) void c.load(r);
  };

  const chartDrawn = () => {
    drawnCount = [...charts.values()].filter((c) => c.drawn).length;
    if (drawnCount === charts.size && document.body.dataset.chartsReady !== "1") {
      document.body.dataset.chartsReady = "1";
      const ms = performance.now() - t0;
      performance.mark("vigil-charts-drawn");
      (window as unknown as { __vigil: unknown }).__vigil = { chartsDrawnMs: ms, charts: charts.size };
    }
  };

  const renderHeader = (r: Run) => {
    header.replaceChildren(
      h("h1", {}, r.name || r.id, " ", stateBadge(r.state)),
      h("div", { class: "meta" },
        h("span", {}, "id ", h("code", {}, r.id)),
        h("span", {}, "project ", h("a", { href: `#/runs?project=${encodeURIComponent(r.project)}` }, r.project)),
        h("span", {}, "created ", fmtTime(r.created_ms)),
        h("span", {}, "duration ", fmtDuration(runDuration(r))),
        r.group ? h("span", {}, "group ", r.group) : null,
        ...r.tags.map((t) => h("span", { class: "tag" }, t)),
      ),
      r.message ? h("div", { class: "run-message" }, r.message) : "",
    );
  };

  const renderInfo = async (r: Run) => {
    const cfg = Object.entries(r.config ?? {});
    const sum = Object.entries(r.summary ?? {});
    const kv = (rows: [string, unknown][]) =>
      h("table", { class: "kv" }, ...rows.map(([k, v]) => h("tr", {}, h("th", {}, k), h("td", {}, typeof v === "string" ? v : JSON.stringify(v)))));
    const timeline = h("ol", { class: "timeline", "data-testid": "events" });
    info.replaceChildren(
      h("details", { open: cfg.length <= 12 }, h("summary", {}, `Config (${cfg.length})`), cfg.length ? kv(cfg) : h("p", { class: "muted" }, "No config.")),
      h("details", {}, h("summary", {}, `Summary (${sum.length})`), sum.length ? kv(sum) : h("p", { class: "muted" }, "No summary.")),
      h("details", {}, h("summary", {}, "Host"), h("pre", {}, JSON.stringify(r.host, null, 2))),
      h("details", { open: true }, h("summary", {}, "Events"), timeline),
    );
    try {
      const ev = await api.events(r.id);
      timeline.replaceChildren(
        ...(ev.events.length ? ev.events.map((e) => h("li", { "data-kind": e.kind }, h("time", {}, fmtTime(e.time_ms)), h("b", {}, e.kind), " ", e.message)) : [h("li", { class: "muted" }, "No events.")]),
      );
    } catch (e) {
      timeline.replaceChildren(h("li", { class: "error" }, `Could not load events: ${(e as Error).message}`));
    }
  };

  const makeChart = (metric: string, all: SeriesInfo[]): MetricChart => {
    const infos = pickSeries(all, ranks?.slowestRanks(4) ?? []);
    const refs: SeriesRef[] = infos.map((s, i) => ({
      run: id,
      metric,
      labels: s.labels,
      label: labelsText(s.labels) || metric,
      color: PALETTE[i % PALETTE.length],
      runStartMs: run?.created_ms ?? 0,
    }));
    const c = new MetricChart(metric, refs, settings, { syncKey: `run-${id}`, onZoom: setZoom });
    c.onDrawn = chartDrawn;
    if (infos.length < all.length) c.setNote(`${infos.length} of ${all.length} series`, "Too many label sets to chart them all: the slowest ranks first, then by rank. The Ranks section's heatmap shows every rank.");
    if (showForecast && forecast && forecast.metric === metric) c.setForecast(forecast.f);
    return c;
  };

  // (Re)builds the chart grid from the run's series list.
  const buildCharts = async (): Promise<void> => {
    const list = await api.metrics(id);
    if (disposed) return;
    const byMetric = new Map<string, SeriesInfo[]>();
    knownSeries.clear();
    for (const s of list.series) {
      knownSeries.add(s.metric + labelsText(s.labels));
      const v = byMetric.get(s.metric) ?? [];
      v.push(s);
      byMetric.set(s.metric, v);
    }
    if (!byMetric.size) {
      chartsEl.replaceChildren(statePanel("empty", "No metrics logged yet", run?.state === "running" ? "Charts appear here as soon as the first points arrive." : undefined));
      document.body.dataset.chartsReady = "1";
      return;
    }
    const groups = new Map<string, string[]>();
    for (const m of [...byMetric.keys()].sort()) {
      const g = groupOf(m);
      const v = groups.get(g) ?? [];
      v.push(m);
      groups.set(g, v);
    }
    for (const c of charts.values()) c.destroy();
    charts.clear();
    const sections: HTMLElement[] = [];
    for (const g of [...groups.keys()].sort((a, b) => groupOrder(a).localeCompare(groupOrder(b)))) {
      const grid = h("div", { class: "chart-grid" });
      for (const m of groups.get(g)!) {
        const c = makeChart(m, byMetric.get(m)!);
        charts.set(m, c);
        grid.append(c.el);
      }
      sections.push(h("section", { class: "chart-group", "data-group": g }, h("h2", {}, g ? g + "/" : "(no prefix)", h("small", {}, ` ${groups.get(g)!.length}`)), grid));
    }
    chartsEl.replaceChildren(...sections);
    applyFilter(filterInput.value);
    await Promise.all([...charts.values()].map((c) => c.load(zoom)));
  };

  let rebuildPending = false;
  const onPoints = (ev: PointsEvent) => {
    let unknown = false;
    for (const s of ev.series) {
      const c = charts.get(s.metric);
      const lk = labelsText(s.labels);
      if (!c || !c.hasSeries(id, lk)) {
        if (!knownSeries.has(s.metric + lk)) unknown = true; // else: a label set the chart leaves out
        continue;
      }
      c.append(id, lk, s.steps, s.times, s.values);
    }
    if (unknown && !rebuildPending) {
      // A new metric: rebuild the grid (debounced; the new series is read in full).
      rebuildPending = true;
      setTimeout(() => {
        rebuildPending = false;
        if (!disposed) void buildCharts().catch(() => {});
      }, 300);
    }
  };

  const connect = () => {
    source = new EventSource(`/api/v1/stream?run=${encodeURIComponent(id)}`);
    let first = true;
    source.addEventListener("hello", () => {
      live.textContent = "● live";
      live.className = "live on";
      setConnection(true);
      // Subscribed: now read the series (a reconnect re-reads to fill the gap).
      if (first) {
        first = false;
        void buildCharts().catch(showChartsError);
      } else {
        for (const c of charts.values()) void c.load(zoom);
      }
    });
    source.addEventListener("points", (e) => onPoints(JSON.parse((e as MessageEvent).data)));
    source.addEventListener("refetch", () => {
      for (const c of charts.values()) void c.load(zoom);
    });
    source.onerror = () => {
      live.textContent = "○ reconnecting…";
      live.className = "live off";
      if (first) {
        // Could not subscribe: still show the stored points.
        first = false;
        void buildCharts().catch(showChartsError);
      }
    };
  };

  const showChartsError = (e: unknown) => {
    const err = e as ApiError;
    chartsEl.replaceChildren(statePanel("error", "Could not load the charts", err.message, { label: "Retry", run: () => void buildCharts().catch(showChartsError) }));
  };

  const start = async () => {
    try {
      run = await api.run(id);
    } catch (e) {
      if (disposed) return;
      const err = e as ApiError;
      if (err.status === 404) {
        header.replaceChildren(statePanel("error", `Run ${id} not found`, h("span", {}, "It may have been deleted, or the link is wrong. ", h("a", { href: "#/runs" }, "All runs"))));
      } else {
        header.replaceChildren(statePanel("error", err.unreachable ? "The vigil server is unreachable" : "Could not load the run", err.message, { label: "Retry", run: () => void start() }));
      }
      document.body.dataset.chartsReady = "1";
      return;
    }
    if (disposed) return;
    renderHeader(run);
    void renderInfo(run);
    sections.replaceChildren(diag.el);
    if (run.world_size > 1) {
      ranks = new RanksSection(id);
      sections.append(ranks.el);
      void ranks.load();
    }
    void diag.load();
    connect();
  };

  // Diagnosis and ranks: re-read every 10 s while the run is running (not
  // on every point: the diagnosis reads all the run's series).
  const refresher = setInterval(() => {
    if (disposed || !run || document.hidden || run.state !== "running") return;
    // A slow answer is not piled up on: skip while the last one is out.
    if (!diag.busy) void diag.load();
    if (ranks && !ranks.busy) void ranks.load();
  }, REFRESH_MS);

  // Run info (state, duration, events) is re-read every few seconds while running.
  const timer = setInterval(async () => {
    if (disposed || !run || document.hidden) return;
    try {
      const r = await api.run(id);
      if (r.state !== run.state || r.updated_ms !== run.updated_ms) {
        const wasRunning = run.state === "running";
        run = r;
        renderHeader(r);
        if (r.state !== "running") void renderInfo(r);
        if (wasRunning && r.state !== "running") {
          // One last look at the finished run.
          void diag.load();
          void ranks?.load();
        }
      } else {
        run = r;
        renderHeader(r);
      }
    } catch {
      // the stream's state shows the connection; keep the last info
    }
  }, 5000);

  void start();
  return () => {
    disposed = true;
    clearInterval(timer);
    clearInterval(refresher);
    diag.destroy();
    ranks?.destroy();
    source?.close();
    for (const c of charts.values()) c.destroy();
    charts.clear();
  };
}
