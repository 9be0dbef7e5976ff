// The chart controls shared by the run and compare pages: x axis, log y,
// smoothing, and (compare) the band kind. Kept in localStorage.
import type { ChartSettings, XAxis } from "./chart";
import { h } from "./util";

const KEY = "vigil.chartSettings";

export function loadSettings(): ChartSettings {
  const def: ChartSettings = { xAxis: "step", logY: false, smoothing: 0, band: "minmax" };
  try {
    return { ...def, ...JSON.parse(localStorage.getItem(KEY) ?? "{}") };
  } catch {
    return def;
  }
}

export function controls(s: ChartSettings, onChange: (s: ChartSettings) => void, withBand = false): HTMLElement {
  const set = (patch: Partial<ChartSettings>) => {
    Object.assign(s, patch);
    localStorage.setItem(KEY, JSON.stringify(s));
    onChange({ ...s });
  };
  const smoothLabel = h("span", { class: "smooth-value" }, s.smoothing.toFixed(2));
  return h(
    "div",
    { class: "controls" },
    h("label", {}, "x ",
      h("select", { "data-testid": "x-axis", onchange: (e: Event) => set({ xAxis: (e.target as HTMLSelectElement).value as XAxis }) },
        ...(["step", "time", "relative"] as const).map((x) => h("option", { value: x, selected: s.xAxis === x }, x === "time" ? "wall time" : x === "relative" ? "relative time" : "step")),
      ),
    ),
    h("label", {}, h("input", { type: "checkbox", "data-testid": "log-y", checked: s.logY, onchange: (e: Event) => set({ logY: (e.target as HTMLInputElement).checked }) }), " log y"),
    h("label", {}, "smoothing ",
      h("input", {
        type: "range", min: 0, max: 0.99, step: 0.01, value: s.smoothing, "data-testid": "smoothing",
        oninput: (e: Event) => (smoothLabel.textContent = Number((e.target as HTMLInputElement).value).toFixed(2)),
        onchange: (e: Event) => set({ smoothing: Number((e.target as HTMLInputElement).value) }),
      }),
      smoothLabel,
    ),
    withBand
      ? h("label", {}, "band ",
          h("select", { "data-testid": "band", onchange: (e: Event) => set({ band: (e.target as HTMLSelectElement).value as "minmax" | "std" }) },
            h("option", { value: "minmax", selected: s.band === "minmax" }, "min–max"),
            h("option", { value: "std", selected: s.band === "std" }, "±1 std"),
          ),
        )
      : null,
  );
}
