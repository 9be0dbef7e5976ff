// The dashboard's entry point: hash routing (#/runs, #/runs/<id>,
// #/compare?runs=a,b) — the Python SDK prints <server>/#/runs/<id> — and
// one page at a time, disposed when the route changes.
import "uplot/dist/uPlot.min.css";
import "./style.css";
import { renderCompare } from "./compare";
import { renderRun } from "./run";
import { renderRuns } from "./runs";
import { h } from "./util";

let dispose: (() => void) | null = null;

function route(): void {
  const app = document.getElementById("app")!;
  const crumbs = document.getElementById("crumbs")!;
  dispose?.();
  dispose = null;
  const raw = location.hash.replace(/^#/, "") || "/runs";
  const [path, query = ""] = raw.split("?", 2);
  const params = new URLSearchParams(query);
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  document.body.dataset.route = parts[0] ?? "runs";
  if (parts.length === 0 || (parts[0] === "runs" && parts.length === 1)) {
    crumbs.replaceChildren(h("a", { href: "#/runs" }, "Runs"));
    dispose = renderRuns(app, params);
  } else if (parts[0] === "runs" && parts.length >= 2) {
    crumbs.replaceChildren(h("a", { href: "#/runs" }, "Runs"), " / ", h("span", {}, parts[1]));
    dispose = renderRun(app, parts[1], params);
  } else if (parts[0] === "compare") {
    crumbs.replaceChildren(h("a", { href: "#/runs" }, "Runs"), " / ", h("span", {}, "Compare"));
    dispose = renderCompare(app, params);
  } else {
    crumbs.replaceChildren();
    app.replaceChildren(
      h("div", { class: "state error", "data-testid": "state-error" },
        h("div", { class: "state-title" }, "Page not found"),
        h("div", { class: "state-detail" }, h("a", { href: "#/runs" }, "All runs"))),
    );
  }
}

window.addEventListener("hashchange", route);
route();
