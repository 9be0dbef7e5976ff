// Small DOM and formatting helpers shared by the pages.

type Attrs = Record<string, string | number | boolean | undefined | ((e: Event) => void)>;

// h("div", {class: "x", onclick: f}, child, "text") -> HTMLElement
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: (Node | string | null | undefined | false)[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (typeof v === "function") el.addEventListener(k.replace(/^on/, ""), v);
    else if (k === "class") el.className = String(v);
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, String(v));
  }
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c);
  }
  return el;
}

export function fmtNumber(v: number | null | undefined): string {
  if (v === null || v === undefined) return "–";
  if (Number.isNaN(v)) return "NaN";
  if (!Number.isFinite(v)) return v > 0 ? "∞" : "−∞";
  if (Number.isInteger(v) && Math.abs(v) < 1e15) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e6 || a < 1e-3)) return v.toExponential(4);
  return String(Number(v.toPrecision(6)));
}

export function fmtTime(ms: number | null | undefined): string {
  if (!ms) return "–";
  const d = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export function fmtDuration(ms: number): string {
  if (!(ms >= 0)) return "–";
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  const hr = Math.floor(m / 60);
  if (hr < 48) return `${hr}h ${m % 60}m`;
  return `${Math.floor(hr / 24)}d ${hr % 24}h`;
}

export function runDuration(r: { created_ms: number; finished_ms: number | null; heartbeat_ms: number; state: string }): number {
  const end = r.finished_ms ?? (r.state === "running" ? Date.now() : r.heartbeat_ms || r.created_ms);
  return end - r.created_ms;
}

export function labelsText(labels: Record<string, string>): string {
  const keys = Object.keys(labels).sort();
  if (!keys.length) return "";
  return "{" + keys.map((k) => `${k}=${labels[k]}`).join(",") + "}";
}

export function seriesKey(metric: string, labels: Record<string, string>): string {
  return metric + labelsText(labels);
}

export function download(filename: string, data: Blob | string, type = "text/plain"): void {
  const blob = typeof data === "string" ? new Blob([data], { type }) : data;
  const url = URL.createObjectURL(blob);
  const a = h("a", { href: url, download: filename });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export const PALETTE = [
  "#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2",
  "#ca8a04", "#db2777", "#4b5563", "#65a30d", "#7c3aed", "#0d9488",
];

export function stateBadge(state: string): HTMLElement {
  return h("span", { class: `badge state-${state}`, "data-state": state }, state);
}

// An error/empty/loading panel: never a blank page.
export function statePanel(kind: "loading" | "empty" | "error", title: string, detail?: string | Node, action?: { label: string; run: () => void }): HTMLElement {
  return h(
    "div",
    { class: `state ${kind}`, "data-testid": `state-${kind}` },
    h("div", { class: "state-title" }, title),
    detail ? h("div", { class: "state-detail" }, detail) : null,
    action ? h("button", { onclick: action.run }, action.label) : null,
  );
}

// Exponential moving average with TensorBoard's debiasing; NaN/null kept as
// gaps. weight 0: the raw values.
export function ema(ys: ArrayLike<number | null>, weight: number): (number | null)[] {
  const out: (number | null)[] = new Array(ys.length);
  let last = 0;
  let n = 0;
  for (let i = 0; i < ys.length; i++) {
    const y = ys[i];
    if (y === null || !Number.isFinite(y)) {
      out[i] = null;
      continue;
    }
    last = last * weight + (1 - weight) * y;
    n++;
    const debias = 1 - Math.pow(weight, n);
    out[i] = debias > 0 ? last / debias : y;
  }
  return out;
}
