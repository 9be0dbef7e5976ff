// The runs page: every run of a project in a table, paged and sorted by
// the server (GET /api/v1/runs), filtered by text, state, tag and config
// value; chosen config and summary-metric columns; selection for compare.
import { api, ApiError, toNumber, type Run } from "./api";
import { fmtDuration, fmtNumber, fmtTime, h, runDuration, stateBadge, statePanel } from "./util";

const PAGE = 50;

interface RunsQuery {
  project: string;
  q: string;
  state: string;
  tag: string;
  config: string; // "key=value"
  sort: string;
  order: string;
  offset: number;
  cols: string; // config columns, comma separated
  metrics: string; // summary metric columns, comma separated
}

function readQuery(params: URLSearchParams): RunsQuery {
  return {
    project: params.get("project") ?? "",
    q: params.get("q") ?? "",
    state: params.get("state") ?? "",
    tag: params.get("tag") ?? "",
    config: params.get("config") ?? "",
    sort: params.get("sort") ?? "created",
    order: params.get("order") ?? "desc",
    offset: Number(params.get("offset") ?? 0) || 0,
    cols: params.get("cols") ?? "",
    metrics: params.get("metrics") ?? "",
  };
}

function writeQuery(q: RunsQuery): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) {
    if (v === "" || (k === "offset" && v === 0) || (k === "sort" && v === "created") || (k === "order" && v === "desc")) continue;
    p.set(k, String(v));
  }
  const s = p.toString();
  return "#/runs" + (s ? "?" + s : "");
}

function splitList(s: string): string[] {
  return s.split(",").map((x) => x.trim()).filter(Boolean);
}

function configCell(v: unknown): string {
  if (v === undefined) return "–";
  if (typeof v === "number") return fmtNumber(v);
  if (typeof v === "string") return v;
  return JSON.stringify(v);
}

export function renderRuns(root: HTMLElement, params: URLSearchParams): () => void {
  const q = readQuery(params);
  let disposed = false;
  const selected = new Set<string>();
  const go = (patch: Partial<RunsQuery>) => {
    location.hash = writeQuery({ ...q, offset: 0, ...patch });
  };

  const input = (name: keyof RunsQuery, placeholder: string, width = "12em") =>
    h("input", {
      type: "search",
      name,
      placeholder,
      value: String(q[name]),
      style: `width:${width}`,
      "data-testid": `filter-${name}`,
      onchange: (e: Event) => go({ [name]: (e.target as HTMLInputElement).value.trim() }),
    });
  const stateSel = h(
    "select",
    { name: "state", "data-testid": "filter-state", onchange: (e: Event) => go({ state: (e.target as HTMLSelectElement).value }) },
    ...["", "running", "finished", "failed", "crashed"].map((s) => h("option", { value: s, selected: s === q.state }, s || "any state")),
  );
  const projectSel = h("select", { name: "project", "data-testid": "filter-project", onchange: (e: Event) => go({ project: (e.target as HTMLSelectElement).value }) }, h("option", { value: "" }, "all projects"));
  const compareBtn = h("button", { class: "primary", disabled: true, "data-testid": "compare", onclick: () => (location.hash = `#/compare?runs=${[...selected].join(",")}`) }, "Compare selected");
  const toolbar = h(
    "div",
    { class: "toolbar" },
    projectSel,
    input("q", "search name, id, notes", "16em"),
    stateSel,
    input("tag", "tag", "8em"),
    input("config", "config key=value", "12em"),
    input("cols", "config columns: lr,batch", "14em"),
    input("metrics", "summary metrics: val/loss", "14em"),
    compareBtn,
  );
  const body = h("div", { class: "runs-body" }, statePanel("loading", "Loading runs…"));
  root.replaceChildren(h("div", { class: "page runs-page" }, h("h1", {}, "Runs"), toolbar, body));

  api.projects().then(
    (r) => {
      for (const p of r.projects) projectSel.append(h("option", { value: p.name, selected: p.name === q.project }, `${p.name} (${p.runs})`));
    },
    () => {},
  );

  const load = async () => {
    const req: Record<string, string | number | undefined> = {
      project: q.project || undefined,
      q: q.q || undefined,
      state: q.state || undefined,
      tag: q.tag || undefined,
      sort: q.sort,
      order: q.order,
      limit: PAGE,
      offset: q.offset,
      metrics: q.metrics || undefined,
    };
    if (q.config.includes("=")) {
      const i = q.config.indexOf("=");
      req["config." + q.config.slice(0, i).trim()] = q.config.slice(i + 1).trim();
    }
    try {
      const page = await api.runs(req);
      if (disposed) return;
      body.replaceChildren(table(page.runs, page.total));
    } catch (e) {
      if (disposed) return;
      const err = e as ApiError;
      body.replaceChildren(
        statePanel("error", err.unreachable ? "The vigil server is unreachable" : "Could not list runs", err.message, { label: "Retry", run: () => void load() }),
      );
    }
  };

  const table = (runs: Run[], total: number): HTMLElement => {
    if (!runs.length) {
      const filtered = q.q || q.state || q.tag || q.config;
      return statePanel(
        "empty",
        filtered ? "No runs match these filters" : "No runs yet",
        filtered ? "Clear a filter to see more." : h("span", {}, "Start one with the Python SDK: ", h("code", {}, "vigil.init(project=\"demo\")"), "."),
      );
    }
    let cols = splitList(q.cols);
    if (!cols.length) {
      const keys = new Set<string>();
      for (const r of runs) for (const k of Object.keys(r.config ?? {})) if (keys.size < 4) keys.add(k);
      cols = [...keys];
    }
    const metrics = splitList(q.metrics);
    const sortable: Record<string, string> = { State: "state", Name: "name", Created: "created", Updated: "updated" };
    const th = (label: string) => {
      const key = sortable[label];
      if (!key) return h("th", {}, label);
      const arrow = q.sort === key ? (q.order === "asc" ? " ▲" : " ▼") : "";
      return h("th", { class: "sortable", "data-sort": key, onclick: () => go({ sort: key, order: q.sort === key && q.order === "desc" ? "asc" : "desc" }) }, label + arrow);
    };
    const head = h(
      "tr",
      {},
      h("th", {}, ""),
      th("State"),
      th("Name"),
      h("th", {}, "Id"),
      th("Created"),
      h("th", {}, "Duration"),
      h("th", {}, "Tags"),
      ...cols.map((c) => h("th", { class: "num" }, c)),
      ...metrics.map((m) => h("th", { class: "num", title: "last (min … max)" }, m)),
    );
    const rows = runs.map((r) => {
      const box = h("input", {
        type: "checkbox",
        "data-run": r.id,
        checked: selected.has(r.id),
        onchange: (e: Event) => {
          if ((e.target as HTMLInputElement).checked) selected.add(r.id);
          else selected.delete(r.id);
          compareBtn.disabled = selected.size < 1;
          compareBtn.textContent = selected.size ? `Compare ${selected.size} selected` : "Compare selected";
        },
      });
      return h(
        "tr",
        { "data-run": r.id, "data-testid": "run-row" },
        h("td", {}, box),
        h("td", {}, stateBadge(r.state)),
        h("td", {}, h("a", { href: `#/runs/${encodeURIComponent(r.id)}`, class: "run-link" }, r.name || r.id)),
        h("td", { class: "mono" }, r.id),
        h("td", {}, fmtTime(r.created_ms)),
        h("td", {}, fmtDuration(runDuration(r))),
        h("td", {}, ...r.tags.map((t) => h("a", { class: "tag", href: writeQuery({ ...q, tag: t, offset: 0 }) }, t))),
        ...cols.map((c) => h("td", { class: "num" }, configCell((r.config ?? {})[c]))),
        ...metrics.map((m) => {
          const s = r.metrics?.[m];
          return h("td", { class: "num" }, s ? h("span", { title: `min ${fmtNumber(toNumber(s.min))} max ${fmtNumber(toNumber(s.max))}` }, fmtNumber(toNumber(s.last)), h("small", {}, ` (${fmtNumber(toNumber(s.min))} … ${fmtNumber(toNumber(s.max))})`)) : "–");
        }),
      );
    });
    const from = q.offset + 1;
    const to = q.offset + runs.length;
    const pager = h(
      "div",
      { class: "pager" },
      h("button", { disabled: q.offset === 0, onclick: () => go({ offset: Math.max(0, q.offset - PAGE), sort: q.sort, order: q.order }) }, "‹ Prev"),
      h("span", { "data-testid": "runs-count" }, `${from}–${to} of ${total}`),
      h("button", { disabled: to >= total, onclick: () => go({ offset: q.offset + PAGE, sort: q.sort, order: q.order }) }, "Next ›"),
    );
    return h("div", {}, h("table", { class: "runs", "data-testid": "runs-table" }, h("thead", {}, head), h("tbody", {}, ...rows)), pager);
  };

  void load();
  const timer = setInterval(() => {
    if (!document.hidden) void load();
  }, 10_000);
  return () => {
    disposed = true;
    clearInterval(timer);
  };
}
