// The diagnosis panel of the run page (GET /api/v1/runs/{id}/diagnosis,
// docs/diagnosis.md): the bottleneck class with its evidence, the ranked
// suggestions with their numbers, the step-time breakdown (stacked bar of
// the phase shares, now and earlier, and a stacked area of the last steps),
// training health and the forecasts (final loss with its band, target,
// pace, ETA, time remaining, time to OOM). Collapsed, it is one line
// (class, summary, forecast, ETA); it opens by itself when the class is a
// real bottleneck, and remembers the user's choice once toggled. The run
// page owns the refresh
// timer (every 10 s while the run is running) and hands the loss forecast
// to the loss chart (a dashed extension, chart.ts).
import uPlot from "uplot";
import { api, ApiError, type Band, type Diagnosis } from "./api";
import { fmtDuration, fmtNumber, fmtTime, h, PALETTE, statePanel } from "./util";

// Colour per phase: fixed for the usual phases so that the bar, the area
// and the legend agree across refreshes.
const PHASE_COLORS: Record<string, string> = {
  data: "#ea580c",
  forward: "#2563eb",
  backward: "#7c3aed",
  optimizer: "#16a34a",
  comm: "#dc2626",
  unaccounted: "#9ca3af",
};

function phaseColor(phase: string, i: number): string {
  return PHASE_COLORS[phase] ?? PALETTE[(i + 5) % PALETTE.length];
}

const OPEN_KEY = "vigil.diagnosisOpen";

const CLASS_TEXT: Record<string, string> = {
  input: "input-bound",
  communication: "communication-bound",
  compute: "compute-bound",
  memory: "memory-bound",
  host: "host-bound",
  throttled: "throttled",
  none: "no bottleneck found",
};

function pct(v: number | null | undefined, digits = 0): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return "–";
  return `${(v * 100).toFixed(digits)}%`;
}

function signedPct(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return "–";
  return `${v > 0 ? "+" : ""}${(v * 100).toFixed(1)}%`;
}

function fmtSeconds(s: number | null | undefined): string {
  if (s === null || s === undefined || !Number.isFinite(s)) return "–";
  if (s < 1) return `${(s * 1000).toFixed(1)} ms`;
  if (s < 120) return `${s.toFixed(2)} s`;
  return fmtDuration(s * 1000);
}

function fmtBytes(b: number | null | undefined): string {
  if (b === null || b === undefined || !Number.isFinite(b)) return "–";
  const gib = b / 2 ** 30;
  return gib >= 1 ? `${gib.toFixed(1)} GiB` : `${(b / 2 ** 20).toFixed(0)} MiB`;
}

function fmtBand(b: Band | null, f: (v: number | null) => string = fmtNumber): string {
  if (!b) return "–";
  const lo = b.low === null ? "?" : f(b.low);
  const hi = b.high === null ? "never" : f(b.high);
  return `${f(b.mid)} [${lo} – ${hi}]`;
}

export class DiagnosisPanel {
  readonly el: HTMLElement;
  private body: HTMLElement;
  private stamp: HTMLElement;
  private headline: HTMLElement;
  private programmatic = false; // the next toggle event is ours, not the user's
  private targetInput: HTMLInputElement;
  private area: uPlot | null = null;
  private areaHost: HTMLElement | null = null;
  private resizeObs: ResizeObserver;
  private seq = 0;
  private inflight = 0;
  last: Diagnosis | null = null;
  onUpdate: ((d: Diagnosis | null) => void) | null = null;

  constructor(private runId: string) {
    this.stamp = h("span", { class: "muted diag-stamp", "data-testid": "diagnosis-stamp" });
    this.targetInput = h("input", {
      type: "number", step: "any", placeholder: "target loss", class: "diag-target", "data-testid": "diagnosis-target",
      title: "Forecast the step and time at which the loss reaches this value",
      onchange: () => void this.load(),
    });
    this.body = h("div", { class: "diag-body" }, statePanel("loading", "Diagnosing…"));
    this.headline = h("span", { class: "diag-headline", "data-testid": "diagnosis-headline" }, "…");
    this.el = h(
      "details",
      { class: "diagnosis", "data-testid": "diagnosis" },
      h("summary", {}, h("span", { class: "diag-title" }, "Diagnosis"), " ", this.headline, " ", this.stamp),
      h("div", { class: "diag-tools" }, h("label", {}, "target ", this.targetInput),
        h("button", { class: "tool", onclick: () => void this.load(), title: "Recompute now" }, "Refresh")),
      this.body,
    );
    this.el.addEventListener("toggle", () => {
      if (this.programmatic) {
        this.programmatic = false;
        return;
      }
      localStorage.setItem(OPEN_KEY, (this.el as HTMLDetailsElement).open ? "1" : "0");
      if ((this.el as HTMLDetailsElement).open && this.last) this.render(this.last); // sizes the area chart
    });
    this.resizeObs = new ResizeObserver(() => {
      if (this.area && this.areaHost) this.area.setSize({ width: this.areaWidth(), height: 140 });
    });
  }

  private areaWidth(): number {
    return Math.max(240, (this.areaHost?.clientWidth ?? 400) || 400);
  }

  // Fetches the diagnosis and redraws; errors keep the last answer on
  // screen (with a note) once one was shown.
  get busy(): boolean {
    return this.inflight > 0;
  }

  async load(): Promise<void> {
    this.inflight++;
    try {
      await this.fetchAndRender();
    } finally {
      this.inflight--;
    }
  }

  private async fetchAndRender(): Promise<void> {
    const seq = ++this.seq;
    const target = this.targetInput.value.trim() === "" ? undefined : Number(this.targetInput.value);
    try {
      const d = await api.diagnosis(this.runId, target !== undefined && Number.isFinite(target) ? { target } : {});
      if (seq !== this.seq) return;
      this.last = d;
      this.render(d);
      this.onUpdate?.(d);
    } catch (e) {
      if (seq !== this.seq) return;
      const err = e as ApiError;
      if (this.last) {
        this.stamp.textContent = `refresh failed: ${err.message}`;
        this.stamp.className = "muted diag-stamp error";
        return;
      }
      this.el.dataset.state = "error";
      this.headline.replaceChildren(h("span", { class: "error-text" }, "not available"));
      if (!(this.el as HTMLDetailsElement).open) {
        this.programmatic = true;
        (this.el as HTMLDetailsElement).open = true; // the Retry button must be visible
      }
      this.body.replaceChildren(
        statePanel("error", err.unreachable ? "The vigil server is unreachable" : "Could not diagnose the run", err.message, { label: "Retry", run: () => void this.load() }),
      );
      this.onUpdate?.(null);
    }
  }

  private render(d: Diagnosis): void {
    const details = this.el as HTMLDetailsElement;
    if (this.el.dataset.state !== "ready") {
      // First answer: open unless the user chose otherwise, or the run is
      // healthy (no bottleneck, or compute-bound).
      const pref = localStorage.getItem(OPEN_KEY);
      const open = pref === null ? d.bottleneck !== "none" && d.bottleneck !== "compute" : pref === "1";
      if (open !== details.open) {
        this.programmatic = true;
        details.open = open;
      }
    }
    this.el.dataset.state = "ready";
    this.renderHeadline(d);
    this.el.dataset.bottleneck = d.bottleneck;
    this.stamp.className = "muted diag-stamp";
    this.stamp.textContent = `computed ${fmtTime(d.computed_ms)}` + (d.state === "running" ? " · refreshes every 10 s" : "");
    this.area?.destroy();
    this.area = null;
    this.areaHost = null;
    this.resizeObs.disconnect();

    const cls = h("div", { class: "diag-class" },
      h("span", { class: `bottleneck b-${d.bottleneck}`, "data-testid": "bottleneck", "data-class": d.bottleneck }, CLASS_TEXT[d.bottleneck] ?? d.bottleneck),
      h("span", { class: "diag-summary" }, d.summary),
    );
    const evidence = d.evidence.length
      ? h("ul", { class: "evidence", "data-testid": "evidence" },
          ...d.evidence.map((e) => h("li", { "data-name": e.name }, e.text || `${e.name}: ${fmtNumber(e.value)} ${e.unit}`)))
      : null;

    const suggestions = d.suggestions.length
      ? h("ol", { class: "suggestions", "data-testid": "suggestions" },
          ...d.suggestions.map((s) =>
            h("li", { "data-testid": "suggestion", "data-kind": s.kind, "data-rank": s.rank },
              h("span", { class: "sugg-kind" }, s.kind.replace(/_/g, " ")),
              h("span", { class: "sugg-text" }, s.text),
              h("span", { class: "sugg-numbers" },
                ...Object.entries(s.numbers).map(([k, v]) =>
                  h("span", { class: "num-chip", "data-testid": "suggestion-number", "data-name": k, "data-value": String(v) }, k.replace(/_/g, " "), " ", h("b", {}, fmtNumber(v))))),
            )))
      : h("p", { class: "muted" }, "No suggestions.");

    const cols = h("div", { class: "diag-cols" },
      h("div", { class: "diag-col" }, h("h3", {}, "Step time"), this.renderBreakdown(d)),
      h("div", { class: "diag-col" }, h("h3", {}, "Forecast"), this.renderForecast(d), h("h3", {}, "Health"), this.renderHealth(d)),
    );
    const notes = d.notes.length
      ? h("details", { class: "diag-notes" }, h("summary", {}, `Notes (${d.notes.length})`), h("ul", {}, ...d.notes.map((n) => h("li", {}, n))))
      : null;
    this.body.replaceChildren(cls, evidence ?? "", h("h3", {}, "Suggestions"), suggestions, cols, notes ?? "");
    if (this.areaHost && details.open) this.drawArea(d);
  }

  // The collapsed panel's line: class, summary, suggestions, forecast, ETA.
  private renderHeadline(d: Diagnosis): void {
    const l = d.forecast.loss;
    const parts: (string | Node)[] = [
      h("span", { class: `bottleneck b-${d.bottleneck}` }, CLASS_TEXT[d.bottleneck] ?? d.bottleneck),
      " ", h("span", { class: "diag-summary" }, d.summary),
    ];
    if (d.suggestions.length) parts.push(h("span", { class: "muted" }, ` · ${d.suggestions.length} suggestion${d.suggestions.length === 1 ? "" : "s"}`));
    if (l?.final && l.planned_last_step !== null) parts.push(h("span", { class: "muted" }, ` · ${l.metric} → ${fmtNumber(l.final.mid)} at step ${l.planned_last_step}`));
    if (d.forecast.eta_ms !== null && d.state === "running") parts.push(h("span", { class: "muted" }, ` · ETA ${fmtTime(d.forecast.eta_ms)}`));
    this.headline.replaceChildren(...parts);
  }

  private renderBreakdown(d: Diagnosis): HTMLElement {
    const b = d.breakdown;
    if (!b || !b.phases.length) {
      return h("p", { class: "muted", "data-testid": "breakdown-empty" }, "No time/<phase> series: log phases with run.phase(...) for a breakdown.");
    }
    const phases = b.phases;
    const bar = (label: string, share: (p: (typeof phases)[number]) => number | null, secs: number | null) =>
      h("div", { class: "stack-row" },
        h("span", { class: "stack-label" }, label),
        h("div", { class: "stack", "data-testid": "breakdown-bar" },
          ...phases.map((p, i) => {
            const s = share(p) ?? 0;
            return h("span", {
              class: "stack-seg", "data-phase": p.phase, "data-share": String(s),
              style: `width:${Math.max(0, s * 100)}%;background:${phaseColor(p.phase, i)}`,
              title: `${p.phase}: ${pct(s, 1)}`,
            }, s >= 0.08 ? pct(s) : "");
          })),
        h("span", { class: "stack-total" }, fmtSeconds(secs)));
    const rows = [bar(`steps ${b.window_from}–${b.window_to}`, (p) => p.share, b.step_seconds)];
    if (b.phases.some((p) => p.earlier_share !== null)) rows.push(bar("earlier", (p) => p.earlier_share, b.earlier_step_seconds));
    const legend = h("table", { class: "phase-table" },
      h("tr", {}, h("th", {}, "phase"), h("th", {}, "per step"), h("th", {}, "share"), h("th", {}, "earlier")),
      ...b.phases.map((p, i) =>
        h("tr", { "data-phase": p.phase },
          h("td", {}, h("i", { class: "swatch", style: `background:${phaseColor(p.phase, i)}` }), " ", p.phase),
          h("td", { class: "num" }, fmtSeconds(p.seconds)),
          h("td", { class: "num" }, pct(p.share, 1)),
          h("td", { class: "num" }, pct(p.earlier_share, 1)))));
    const steps = b.per_step.steps ?? [];
    this.areaHost = steps.length > 1 ? h("div", { class: "breakdown-area", "data-testid": "breakdown-area" }) : null;
    return h("div", { class: "breakdown" },
      ...rows,
      h("div", { class: "muted small" }, `step time ${fmtSeconds(b.step_seconds)} (${b.step_source.replace(/_/g, " ")}) over ${b.steps} steps`),
      legend,
      this.areaHost ?? "");
  }

  // Stacked area of the last steps' phases: each series is the cumulative
  // sum up to its phase, drawn from the top one down with opaque fills.
  private drawArea(d: Diagnosis): void {
    const b = d.breakdown!;
    const steps = b.per_step.steps;
    const phases = b.phases.map((p) => p.phase);
    const cum: number[][] = [];
    let acc = new Array<number>(steps.length).fill(0);
    for (const p of phases) {
      const col = b.per_step[p] ?? [];
      acc = acc.map((a, i) => a + (Number.isFinite(col[i]) ? col[i] : 0));
      cum.push(acc);
    }
    const order = phases.map((_, i) => i).reverse();
    const data = [steps, ...order.map((i) => cum[i])] as uPlot.AlignedData;
    const series: uPlot.Series[] = [{}, ...order.map((i) => ({ label: phases[i], stroke: phaseColor(phases[i], i), fill: phaseColor(phases[i], i), width: 1, points: { show: false } }))];
    this.resizeObs.observe(this.areaHost!);
    this.area = new uPlot(
      {
        width: this.areaWidth(),
        height: 140,
        legend: { show: false },
        cursor: { drag: { x: false, y: false } },
        scales: { x: { time: false }, y: { range: (_u, _lo, hi) => [0, hi * 1.05 || 1] } },
        axes: [
          { stroke: "#555", grid: { stroke: "#eee" } },
          { stroke: "#555", grid: { stroke: "#eee" }, size: 70, values: (_u, vals) => vals.map((v) => (v < 1 ? `${fmtNumber(Number((v * 1000).toPrecision(3)))} ms` : `${fmtNumber(v)} s`)) },
        ],
        series,
      },
      data,
      this.areaHost!,
    );
  }

  private renderForecast(d: Diagnosis): HTMLElement {
    const f = d.forecast;
    const l = f.loss;
    const rows: [string, string | Node, string?][] = [];
    if (l) {
      rows.push([`${l.metric} at step ${fmtNumber(l.planned_last_step)}`, l.planned_last_step === null ? "no planned last step (config max_steps)" : fmtBand(l.final), "forecast-final"]);
      const law = l.fit.tau && l.fit.tau > 0
        ? `${fmtNumber(l.fit.c)} + ${fmtNumber(l.fit.a)}·(${fmtNumber(l.fit.tau)}^${fmtNumber(l.fit.k ?? 1)} + (step+1)^${fmtNumber(l.fit.k ?? 1)})^−${fmtNumber(l.fit.b)}/${fmtNumber(l.fit.k ?? 1)}`
        : `${fmtNumber(l.fit.a)}·(step+1)^−${fmtNumber(l.fit.b)} + ${fmtNumber(l.fit.c)}`;
      rows.push(["fit", `${law}${l.fit.flat ? " (flat)" : ""} on ${l.fit.points} pts`, "forecast-fit"]);
      if (l.target) {
        const t = l.target;
        const v = t.reached_step !== null
          ? `reached at step ${t.reached_step}`
          : t.unreachable
            ? "below the fitted floor: not reached"
            : `step ${fmtBand(t.step, (x) => (x === null ? "–" : String(Math.round(x))))}` + (t.time_ms?.mid ? ` · ${fmtTime(t.time_ms.mid)}` : "");
        rows.push([`loss ${fmtNumber(t.value)}`, v, "forecast-target"]);
      }
    } else {
      rows.push(["loss", f.loss_error ?? "not fitted", "forecast-final"]);
    }
    rows.push(["pace", f.pace ? `${fmtSeconds(f.pace.seconds_per_step)} per step (${fmtNumber(Number(f.pace.steps_per_second.toPrecision(3)))} steps/s)` : "–", "forecast-pace"]);
    rows.push(["time remaining", f.seconds_remaining === null ? "–" : fmtDuration(f.seconds_remaining * 1000), "forecast-remaining"]);
    rows.push(["ETA", f.eta_ms === null ? "–" : fmtTime(f.eta_ms), "forecast-eta"]);
    const m = f.memory;
    rows.push([
      "time to OOM",
      !m ? "no GPU memory series" : m.seconds_to_oom === null ? `not growing (GPU ${m.gpu}: ${fmtBytes(m.used_bytes)} of ${fmtBytes(m.limit_bytes)})` : `${fmtDuration(m.seconds_to_oom * 1000)} (GPU ${m.gpu}: ${fmtBytes(m.used_bytes)} of ${fmtBytes(m.limit_bytes)}, +${fmtBytes(m.growth_bytes_per_s * 3600)}/h)`,
      "forecast-oom",
    ]);
    return h("table", { class: "kv diag-kv" }, ...rows.map(([k, v, id]) => h("tr", { "data-testid": id }, h("th", {}, k), h("td", {}, v))));
  }

  private renderHealth(d: Diagnosis): HTMLElement {
    const x = d.health;
    const rows: [string, string][] = [
      ["window", `steps ${x.window_from}–${x.window_to}`],
      ["loss (median)", `${fmtNumber(x.loss)} (${signedPct(x.loss_change)} vs earlier)`],
      ["dispersion P(t)", x.dispersion === null ? "–" : `${fmtNumber(x.dispersion)} (${signedPct(x.dispersion_change)})`],
      ["grad / param norm", fmtNumber(x.grad_param_ratio)],
      ["steps with alerts", pct(x.alert_fraction, 1)],
      ["learning rate", x.lr === null ? "–" : `${fmtNumber(x.lr)} (peak ${fmtNumber(x.lr_peak)})`],
      ["flat for", x.flat_steps ? `${x.flat_steps} steps` : "–"],
    ];
    return h("table", { class: "kv diag-kv", "data-testid": "health" }, ...rows.map(([k, v]) => h("tr", {}, h("th", {}, k), h("td", {}, v))));
  }

  destroy(): void {
    this.seq++;
    this.resizeObs.disconnect();
    this.area?.destroy();
    this.area = null;
  }
}
