// `vigil report RUN [--format html|md] [--out FILE] [--target LOSS]`: one
// run as a document a person attaches to a ticket — summary, config, key
// charts (inline SVG), diagnosis, suggestions, forecasts and alerts. The
// HTML is self-contained (no script, no external resource); the Markdown
// form has the same sections as tables and lists, without charts. Fetches
// the run, its series list, a few downsampled series, its events and its
// diagnosis over HTTP (docs/diagnosis.md, "Run report").
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <map>
#include <optional>
#include <vector>

#include <fmt/format.h>
#include <simdjson.h>
#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "cli/server_connection.h"

namespace vigil::cli {
namespace {

namespace dom = simdjson::dom;

struct ReportFlags {
  ServerFlags server;
  std::string run;
  std::string format = "html";
  std::string out;
  std::string target;
  int points = 400;
};

// --- Small helpers ------------------------------------------------------------

std::string Esc(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

// Markdown table cells: pipes and newlines would break the row.
std::string MdCell(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '|') {
      out += "\\|";
    } else if (c == '\n') {
      out += ' ';
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string Str(dom::element e, const char* key) {
  std::string_view v;
  return e[key].get_string().get(v) == simdjson::SUCCESS ? std::string(v) : std::string();
}

std::optional<double> Num(dom::element e, const char* key) {
  double v;
  if (e[key].get_double().get(v) == simdjson::SUCCESS) return v;
  return std::nullopt;
}

std::string FormatTime(int64_t ms) {
  if (ms <= 0) return "—";
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

std::string FormatDuration(double s) {
  if (!std::isfinite(s)) return "—";
  if (s < 120) return fmt::format("{:.0f} s", s);
  if (s < 7200) return fmt::format("{:.0f} min", s / 60);
  if (s < 172800) return fmt::format("{:.1f} h", s / 3600);
  return fmt::format("{:.1f} days", s / 86400);
}

std::string G(double v) {
  if (!std::isfinite(v)) return "—";
  return fmt::format("{:.4g}", v);
}

std::string ValueText(dom::element e) {
  switch (e.type()) {
    case dom::element_type::STRING:
      return std::string(std::string_view(e.get_string()));
    case dom::element_type::NULL_VALUE:
      return "null";
    default:
      return simdjson::minify(e);
  }
}

// config {"a": {"b": 1}} -> [("a.b", "1")]
void Flatten(dom::element e, const std::string& prefix,
             std::vector<std::pair<std::string, std::string>>* out) {
  dom::object obj;
  if (e.get_object().get(obj) == simdjson::SUCCESS) {
    for (auto field : obj) {
      std::string key =
          prefix.empty() ? std::string(field.key) : prefix + "." + std::string(field.key);
      Flatten(field.value, key, out);
    }
    return;
  }
  out->emplace_back(prefix, ValueText(e));
}

// --- Fetched data ---------------------------------------------------------------

struct Line {
  std::string label;
  std::vector<double> x, y;
  bool dashed = false;
};

struct Chart {
  std::string title;
  std::string unit;
  std::vector<Line> lines;
  // An uncertainty band (x, low, high) drawn under the lines.
  std::vector<double> band_x, band_lo, band_hi;
};

struct Report {
  std::string run_json, metrics_json, diagnosis_json, events_json;
  std::string diagnosis_error;
  std::vector<Chart> charts;
};

// The charts a report shows, in order; the first matching series of each
// metric (up to four label variants per chart).
constexpr const char* kChartMetrics[] = {"train/loss",
                                         "val/loss",
                                         "train/lr",
                                         "train/grad_norm",
                                         "train/loss_dispersion",
                                         "perf/samples_per_sec",
                                         "sys/gpu/utilization",
                                         "sys/gpu/memory_used_bytes",
                                         "sys/cpu/utilization"};

Result<Line> FetchLine(client::HttpClient* http, const std::string& run, std::string_view metric,
                       const std::string& labels_json, int points) {
  std::string target = fmt::format("/api/v1/runs/{}/series?metric={}&points={}", PercentEncode(run),
                                   PercentEncode(metric), points);
  if (!labels_json.empty()) target += "&labels=" + PercentEncode(labels_json);
  VIGIL_ASSIGN_OR_RETURN(std::string body, Fetch(http, "GET", target));
  dom::parser parser;
  dom::element doc;
  if (parser.parse(body).get(doc)) return Status::Internal("the series answer is not JSON");
  Line line;
  dom::array steps, values;
  if (doc["steps"].get_array().get(steps) || doc["values"].get_array().get(values)) {
    return Status::Internal("the series answer has no steps/values");
  }
  for (dom::element s : steps) {
    int64_t v = 0;
    if (s.get_int64().get(v)) v = 0;
    line.x.push_back(static_cast<double>(v));
  }
  for (dom::element v : values) {
    double d = NAN;
    if (v.get_double().get(d)) d = NAN;  // "NaN"/"Infinity" strings: gaps
    line.y.push_back(d);
  }
  if (line.x.size() != line.y.size()) return Status::Internal("series columns differ in length");
  return line;
}

void AddForecastToLossChart(dom::element diagnosis, Chart* chart) {
  dom::element curve;
  if (diagnosis["forecast"]["loss"]["curve"].get(curve)) return;
  auto column = [&](const char* k) {
    std::vector<double> out;
    dom::array a;
    if (curve[k].get_array().get(a)) return out;
    for (dom::element e : a) {
      double d = NAN;
      if (e.get_double().get(d)) d = NAN;
      out.push_back(d);
    }
    return out;
  };
  Line forecast{"forecast", column("steps"), column("mid"), true};
  if (forecast.x.empty() || forecast.x.size() != forecast.y.size()) return;
  chart->band_x = forecast.x;
  chart->band_lo = column("low");
  chart->band_hi = column("high");
  if (chart->band_lo.size() != chart->band_x.size() ||
      chart->band_hi.size() != chart->band_x.size()) {
    chart->band_x.clear();
  }
  chart->lines.push_back(std::move(forecast));
}

// --- SVG ----------------------------------------------------------------------

constexpr const char* kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"};

std::string Tick(double v) {
  double a = std::abs(v);
  if (a != 0 && (a >= 1e5 || a < 1e-3)) return fmt::format("{:.2e}", v);
  return fmt::format("{:.4g}", v);
}

std::string RenderSvg(const Chart& c) {
  constexpr double W = 640, H = 240, L = 64, R = 12, T = 12, B = 28;
  double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
  auto extend = [&](double x, double y) {
    if (!std::isfinite(x) || !std::isfinite(y)) return;
    x0 = std::min(x0, x);
    x1 = std::max(x1, x);
    y0 = std::min(y0, y);
    y1 = std::max(y1, y);
  };
  for (const Line& l : c.lines) {
    for (size_t i = 0; i < l.x.size(); ++i) extend(l.x[i], l.y[i]);
  }
  if (!std::isfinite(x0)) return "<p class=\"muted\">no finite points</p>";
  if (x1 == x0) x1 = x0 + 1;
  if (y1 == y0) {
    y0 -= 0.5 * (std::abs(y0) + 1);
    y1 += 0.5 * (std::abs(y1) + 1);
  }
  auto px = [&](double x) { return L + (x - x0) / (x1 - x0) * (W - L - R); };
  auto py = [&](double y) {
    y = std::clamp(y, y0 - (y1 - y0), y1 + (y1 - y0));
    return T + (y1 - y) / (y1 - y0) * (H - T - B);
  };
  std::string s = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" viewBox=\"0 0 {} {}\" "
      "width=\"{}\" height=\"{}\" role=\"img\" aria-label=\"{}\">",
      W, H, W, H, Esc(c.title));
  s += fmt::format(
      "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"#fff\" "
      "stroke=\"#ccc\"/>",
      L, T, W - L - R, H - T - B);
  for (int i = 0; i <= 4; ++i) {
    double y = y0 + (y1 - y0) * i / 4, x = x0 + (x1 - x0) * i / 4;
    s += fmt::format("<line x1=\"{}\" x2=\"{}\" y1=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#eee\"/>", L,
                     W - R, py(y), py(y));
    s += fmt::format("<text x=\"{}\" y=\"{:.1f}\" font-size=\"10\" text-anchor=\"end\">{}</text>",
                     L - 4, py(y) + 3, Tick(y));
    s +=
        fmt::format("<text x=\"{:.1f}\" y=\"{}\" font-size=\"10\" text-anchor=\"middle\">{}</text>",
                    px(x), H - B + 14, Tick(x));
  }
  if (!c.band_x.empty()) {
    std::string pts;
    for (size_t i = 0; i < c.band_x.size(); ++i) {
      if (std::isfinite(c.band_hi[i])) {
        pts += fmt::format("{:.1f},{:.1f} ", px(c.band_x[i]), py(c.band_hi[i]));
      }
    }
    for (size_t i = c.band_x.size(); i-- > 0;) {
      if (std::isfinite(c.band_lo[i])) {
        pts += fmt::format("{:.1f},{:.1f} ", px(c.band_x[i]), py(c.band_lo[i]));
      }
    }
    s += fmt::format("<polygon class=\"band\" points=\"{}\" fill=\"#1f77b4\" opacity=\"0.12\"/>",
                     pts);
  }
  for (size_t k = 0; k < c.lines.size(); ++k) {
    const Line& l = c.lines[k];
    std::string color = l.dashed ? "#1f77b4" : kColors[k % std::size(kColors)];
    std::string d;
    bool pen = false;
    for (size_t i = 0; i < l.x.size(); ++i) {
      if (!std::isfinite(l.y[i])) {
        pen = false;  // a gap at NaN / Inf
        continue;
      }
      d += fmt::format("{}{:.1f},{:.1f}", pen ? " L" : " M", px(l.x[i]), py(l.y[i]));
      pen = true;
    }
    s += fmt::format(
        "<path class=\"{}\" d=\"{}\" fill=\"none\" stroke=\"{}\" "
        "stroke-width=\"1.5\"{}><title>{}</title></path>",
        l.dashed ? "forecast" : "series", d, color, l.dashed ? " stroke-dasharray=\"6 4\"" : "",
        Esc(l.label));
  }
  s += fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"10\" text-anchor=\"end\">step</text>",
                   W - R, H - 2);
  s += "</svg>";
  return s;
}

// A horizontal stacked bar of the step-time breakdown.
std::string RenderBreakdownSvg(dom::array phases) {
  constexpr double W = 640, H = 34;
  constexpr const char* kPhaseColors[] = {"#ff7f0e", "#1f77b4", "#2ca02c", "#9467bd",
                                          "#d62728", "#8c564b", "#e377c2", "#7f7f7f"};
  std::string s = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"breakdown\" viewBox=\"0 0 {} {}\" "
      "width=\"{}\" height=\"{}\" role=\"img\" aria-label=\"step-time breakdown\">",
      W, H, W, H);
  double x = 0;
  size_t k = 0;
  for (dom::element p : phases) {
    double share = Num(p, "share").value_or(0);
    std::string name = Str(p, "phase");
    double w = std::max(0.0, share) * W;
    const char* color =
        name == "unaccounted" ? "#cccccc" : kPhaseColors[k % std::size(kPhaseColors)];
    s += fmt::format(
        "<rect x=\"{:.1f}\" y=\"0\" width=\"{:.1f}\" height=\"{}\" fill=\"{}\">"
        "<title>{} {:.0f}%</title></rect>",
        x, w, H - 12, color, Esc(name), 100 * share);
    if (w > 40) {
      s += fmt::format("<text x=\"{:.1f}\" y=\"{}\" font-size=\"10\">{} {:.0f}%</text>", x + 2,
                       H - 1, Esc(name), 100 * share);
    }
    x += w;
    ++k;
  }
  return s + "</svg>";
}

// --- Sections, shared by both formats ------------------------------------------

struct Row {
  std::string key, value;
};

class Doc {
 public:
  explicit Doc(bool html) : html_(html) {}
  void Heading(int level, std::string_view text) {
    if (html_) {
      out_ += fmt::format("<h{0}>{1}</h{0}>\n", level, Esc(text));
    } else {
      out_ += fmt::format("\n{} {}\n\n", std::string(static_cast<size_t>(level), '#'), text);
    }
  }
  void Para(std::string_view text, std::string_view cls = "") {
    if (html_) {
      out_ += cls.empty() ? fmt::format("<p>{}</p>\n", Esc(text))
                          : fmt::format("<p class=\"{}\">{}</p>\n", cls, Esc(text));
    } else {
      out_ += fmt::format("{}\n\n", text);
    }
  }
  void Table(const std::vector<std::string>& head,
             const std::vector<std::vector<std::string>>& rows, std::string_view id = "") {
    if (html_) {
      out_ += id.empty() ? "<table>" : fmt::format("<table id=\"{}\">", id);
      out_ += "<thead><tr>";
      for (const auto& h : head) out_ += "<th>" + Esc(h) + "</th>";
      out_ += "</tr></thead><tbody>\n";
      for (const auto& r : rows) {
        out_ += "<tr>";
        for (const auto& c : r) out_ += "<td>" + Esc(c) + "</td>";
        out_ += "</tr>\n";
      }
      out_ += "</tbody></table>\n";
    } else {
      out_ += "|";
      for (const auto& h : head) out_ += " " + MdCell(h) + " |";
      out_ += "\n|";
      for (size_t i = 0; i < head.size(); ++i) out_ += " --- |";
      out_ += "\n";
      for (const auto& r : rows) {
        out_ += "|";
        for (const auto& c : r) out_ += " " + MdCell(c) + " |";
        out_ += "\n";
      }
      out_ += "\n";
    }
  }
  void List(const std::vector<std::string>& items, bool ordered, std::string_view id = "") {
    if (html_) {
      std::string tag = ordered ? "ol" : "ul";
      out_ += id.empty() ? "<" + tag + ">" : fmt::format("<{} id=\"{}\">", tag, id);
      for (const auto& i : items) out_ += "<li>" + Esc(i) + "</li>";
      out_ += "</" + tag + ">\n";
    } else {
      for (size_t i = 0; i < items.size(); ++i) {
        out_ +=
            ordered ? fmt::format("{}. {}\n", i + 1, items[i]) : fmt::format("- {}\n", items[i]);
      }
      out_ += "\n";
    }
  }
  void Raw(std::string_view html) {
    if (html_) out_ += html;
  }
  bool html() const { return html_; }
  std::string& out() { return out_; }

 private:
  bool html_;
  std::string out_;
};

constexpr const char* kStyle =
    "body{font-family:system-ui,sans-serif;max-width:960px;margin:2em auto;color:#222;"
    "padding:0 1em}table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ddd;"
    "padding:3px 8px;text-align:left;font-size:13px}th{background:#f4f4f4}.muted{color:#777}"
    ".badge{display:inline-block;padding:2px 10px;border-radius:10px;background:#333;color:#fff;"
    "font-weight:600}.badge.none{background:#2ca02c}.chart{display:block;margin:.3em 0 1.2em}"
    "h1{margin-bottom:.2em}";

void RenderDiagnosis(Doc* doc, dom::element d) {
  std::string bottleneck = Str(d, "bottleneck");
  doc->Heading(2, "Diagnosis");
  if (doc->html()) {
    doc->Raw(
        fmt::format("<p id=\"bottleneck\">Bottleneck: <span class=\"badge {0}\">{0}</span> — "
                    "{1}</p>\n",
                    Esc(bottleneck), Esc(Str(d, "summary"))));
  } else {
    doc->Para(fmt::format("**Bottleneck: {}** — {}", bottleneck, Str(d, "summary")));
  }
  std::vector<std::string> evidence;
  dom::array arr;
  if (!d["evidence"].get_array().get(arr)) {
    for (dom::element e : arr) evidence.push_back(Str(e, "text"));
  }
  if (!evidence.empty()) {
    doc->Heading(3, "Evidence");
    doc->List(evidence, false, "evidence");
  }
  std::vector<std::string> suggestions;
  if (!d["suggestions"].get_array().get(arr)) {
    for (dom::element e : arr) suggestions.push_back(Str(e, "text"));
  }
  doc->Heading(2, "Suggestions");
  if (suggestions.empty()) {
    doc->Para("No suggestion: nothing in the metrics calls for a change.", "muted");
  } else {
    doc->List(suggestions, true, "suggestions");
  }
  dom::element b;
  if (!d["breakdown"].get(b) && b.type() == dom::element_type::OBJECT) {
    doc->Heading(3, "Step-time breakdown");
    doc->Para(fmt::format("Steps {}–{}: {:.4g} s per step ({}).",
                          static_cast<int64_t>(Num(b, "window_from").value_or(0)),
                          static_cast<int64_t>(Num(b, "window_to").value_or(0)),
                          Num(b, "step_seconds").value_or(0), Str(b, "step_source")));
    dom::array phases;
    if (!b["phases"].get_array().get(phases)) {
      doc->Raw(RenderBreakdownSvg(phases));
      std::vector<std::vector<std::string>> rows;
      for (dom::element p : phases) {
        auto earlier = Num(p, "earlier_share");
        rows.push_back({Str(p, "phase"), fmt::format("{:.4g}", Num(p, "seconds").value_or(0)),
                        fmt::format("{:.0f}%", 100 * Num(p, "share").value_or(0)),
                        earlier ? fmt::format("{:.0f}%", 100 * *earlier) : "—"});
      }
      doc->Table({"phase", "seconds/step", "share", "earlier share"}, rows, "breakdown");
    }
  }
  dom::element h;
  if (!d["health"].get(h)) {
    doc->Heading(3, "Training health");
    std::vector<std::vector<std::string>> rows;
    auto pct = [](std::optional<double> v) {
      return v ? fmt::format("{:+.1f}%", 100 * *v) : std::string("—");
    };
    auto num = [](std::optional<double> v) { return v ? G(*v) : std::string("—"); };
    rows.push_back({"loss (recent median)", num(Num(h, "loss"))});
    rows.push_back({"loss change vs. earlier window", pct(Num(h, "loss_change"))});
    rows.push_back({"loss dispersion P(t)", num(Num(h, "dispersion"))});
    rows.push_back({"P(t) change", pct(Num(h, "dispersion_change"))});
    rows.push_back({"gradient / parameter norm", num(Num(h, "grad_param_ratio"))});
    auto af = Num(h, "alert_fraction");
    rows.push_back({"steps with alerts", af ? fmt::format("{:.1f}%", 100 * *af) : "—"});
    rows.push_back({"learning rate (now / peak)",
                    fmt::format("{} / {}", num(Num(h, "lr")), num(Num(h, "lr_peak")))});
    doc->Table({"measure", "value"}, rows, "health");
  }
}

void RenderForecast(Doc* doc, dom::element d) {
  doc->Heading(2, "Forecasts");
  dom::element f;
  if (d["forecast"].get(f)) return;
  std::vector<std::vector<std::string>> rows;
  dom::element loss;
  if (!f["loss"].get(loss) && loss.type() == dom::element_type::OBJECT) {
    dom::element fit = loss["fit"];
    bool flat = false;
    if (fit["flat"].get_bool().get(flat)) flat = false;
    rows.push_back(
        {"loss model", fmt::format("{:.4g}·(step+1)^-{:.3g} + {:.4g}{}",
                                   Num(fit, "a").value_or(NAN), Num(fit, "b").value_or(NAN),
                                   Num(fit, "c").value_or(NAN), flat ? " (flat)" : "")});
    dom::element fin;
    if (!loss["final"].get(fin) && fin.type() == dom::element_type::OBJECT) {
      rows.push_back(
          {fmt::format("loss at the planned last step ({:.0f})",
                       Num(loss, "planned_last_step").value_or(NAN)),
           fmt::format("{} (band {} – {})", G(Num(fin, "mid").value_or(NAN)),
                       G(Num(fin, "low").value_or(NAN)), G(Num(fin, "high").value_or(NAN)))});
    }
    dom::element target;
    if (!loss["target"].get(target) && target.type() == dom::element_type::OBJECT) {
      double value = Num(target, "value").value_or(NAN);
      std::string text;
      dom::element step, time;
      if (auto reached = Num(target, "reached_step")) {
        text = fmt::format("reached at step {:.0f}", *reached);
      } else if (!target["step"].get(step) && step.type() == dom::element_type::OBJECT) {
        text = fmt::format("step {:.0f} (band {:.0f} – {})", Num(step, "mid").value_or(NAN),
                           Num(step, "low").value_or(NAN),
                           Num(step, "high") ? fmt::format("{:.0f}", *Num(step, "high")) : "never");
        if (!target["time_ms"].get(time) && time.type() == dom::element_type::OBJECT) {
          text += ", " + FormatTime(static_cast<int64_t>(Num(time, "mid").value_or(0)));
        }
      } else {
        text = "not reached: below the fitted floor";
      }
      rows.push_back({fmt::format("loss {}", G(value)), text});
    }
  } else {
    rows.push_back({"loss", "no forecast: " + Str(f, "loss_error")});
  }
  if (auto sps = Num(f["pace"], "seconds_per_step")) {
    rows.push_back({"pace", fmt::format("{:.4g} s per step", *sps)});
  }
  if (auto rem = Num(f, "seconds_remaining")) {
    rows.push_back({"time remaining",
                    fmt::format("{} (ends {})", FormatDuration(*rem),
                                FormatTime(static_cast<int64_t>(Num(f, "eta_ms").value_or(0))))});
  }
  dom::element mem;
  if (!f["memory"].get(mem) && mem.type() == dom::element_type::OBJECT) {
    auto oom = Num(mem, "seconds_to_oom");
    rows.push_back({fmt::format("time to OOM (GPU {})", Str(mem, "gpu")),
                    oom ? FormatDuration(*oom) : "no growing trend"});
  }
  doc->Table({"forecast", "value"}, rows, "forecast");
}

std::string Render(const ReportFlags& f, const Report& r) {
  dom::parser p_run, p_diag, p_events;
  dom::element run, diag, events;
  bool have_run = !p_run.parse(r.run_json).get(run);
  bool have_diag = !r.diagnosis_json.empty() && !p_diag.parse(r.diagnosis_json).get(diag);
  bool have_events = !r.events_json.empty() && !p_events.parse(r.events_json).get(events);
  Doc doc(f.format == "html");
  std::string name = have_run ? Str(run, "name") : "";
  std::string title = fmt::format("vigil report: {}{}", name.empty() ? "" : name + " ", f.run);
  if (doc.html()) {
    doc.out() += fmt::format(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title>"
        "<style>{}</style></head><body>\n",
        Esc(title), kStyle);
  }
  doc.Heading(1, title);
  if (have_run) {
    int64_t created = static_cast<int64_t>(Num(run, "created_ms").value_or(0));
    int64_t finished = static_cast<int64_t>(Num(run, "finished_ms").value_or(0));
    int64_t heartbeat = static_cast<int64_t>(Num(run, "heartbeat_ms").value_or(0));
    int64_t end = finished ? finished : std::max(heartbeat, created);
    doc.Heading(2, "Run");
    std::vector<std::vector<std::string>> rows = {
        {"id", Str(run, "id")},
        {"project", Str(run, "project")},
        {"name", name},
        {"state", Str(run, "state")},
        {"created", FormatTime(created)},
        {"duration", FormatDuration(static_cast<double>(end - created) / 1000)},
    };
    if (!Str(run, "group").empty()) rows.push_back({"group", Str(run, "group")});
    if (!Str(run, "notes").empty()) rows.push_back({"notes", Str(run, "notes")});
    if (!Str(run, "message").empty()) rows.push_back({"message", Str(run, "message")});
    doc.Table({"field", "value"}, rows, "run");
    std::vector<std::pair<std::string, std::string>> summary, config;
    Flatten(run["summary"], "", &summary);
    Flatten(run["config"], "", &config);
    if (!summary.empty() && !(summary.size() == 1 && summary[0].first.empty())) {
      doc.Heading(2, "Summary");
      std::vector<std::vector<std::string>> srows;
      for (auto& [k, v] : summary) srows.push_back({k, v});
      doc.Table({"key", "value"}, srows, "summary");
    }
    doc.Heading(2, "Config");
    std::vector<std::vector<std::string>> crows;
    for (auto& [k, v] : config) {
      if (!k.empty()) crows.push_back({k, v});
    }
    if (crows.empty()) {
      doc.Para("No config was logged.", "muted");
    } else {
      doc.Table({"key", "value"}, crows, "config");
    }
  }
  if (have_diag) {
    RenderDiagnosis(&doc, diag);
    RenderForecast(&doc, diag);
  } else {
    doc.Heading(2, "Diagnosis");
    doc.Para("No diagnosis: " + r.diagnosis_error, "muted");
  }
  if (doc.html() && !r.charts.empty()) {
    doc.Heading(2, "Charts");
    for (const Chart& c : r.charts) {
      doc.Heading(3, c.title);
      doc.Raw(RenderSvg(c));
    }
  } else if (!doc.html() && !r.charts.empty()) {
    doc.Heading(2, "Charts");
    std::vector<std::vector<std::string>> rows;
    for (const Chart& c : r.charts) {
      for (const Line& l : c.lines) {
        if (l.dashed || l.y.empty()) continue;
        double lo = INFINITY, hi = -INFINITY, last = NAN;
        for (double v : l.y) {
          if (!std::isfinite(v)) continue;
          lo = std::min(lo, v);
          hi = std::max(hi, v);
          last = v;
        }
        rows.push_back({l.label, fmt::format("{:.0f}–{:.0f}", l.x.front(), l.x.back()), G(last),
                        G(lo), G(hi)});
      }
    }
    doc.Table({"series", "steps", "last", "min", "max"}, rows, "charts");
  }
  doc.Heading(2, "Alerts");
  std::vector<std::vector<std::string>> alerts;
  dom::array evs;
  if (have_events && !events["events"].get_array().get(evs)) {
    for (dom::element e : evs) {
      if (Str(e, "kind") != "alert") continue;
      alerts.push_back(
          {FormatTime(static_cast<int64_t>(Num(e, "time_ms").value_or(0))), Str(e, "message")});
    }
  }
  if (alerts.empty()) {
    doc.Para("No alerts.", "muted");
  } else {
    doc.Table({"time", "alert"}, alerts, "alerts");
  }
  if (have_diag) {
    std::vector<std::string> notes;
    dom::array arr;
    if (!diag["notes"].get_array().get(arr)) {
      for (dom::element n : arr) notes.push_back(std::string(std::string_view(n.get_string())));
    }
    if (!notes.empty()) {
      doc.Heading(2, "Notes");
      doc.List(notes, false, "notes");
    }
  }
  doc.Para(fmt::format("Generated by vigil report at {}.",
                       FormatTime(static_cast<int64_t>(std::time(nullptr)) * 1000)),
           "muted");
  if (doc.html()) doc.out() += "</body></html>\n";
  return std::move(doc.out());
}

Result<Report> Gather(const ReportFlags& f) {
  client::HttpClient http = Connect(f.server);
  Report r;
  const std::string run = PercentEncode(f.run);
  VIGIL_ASSIGN_OR_RETURN(r.run_json, Fetch(&http, "GET", "/api/v1/runs/" + run));
  VIGIL_ASSIGN_OR_RETURN(r.metrics_json, Fetch(&http, "GET", "/api/v1/runs/" + run + "/metrics"));
  std::string target = "/api/v1/runs/" + run + "/diagnosis";
  if (!f.target.empty()) target += "?target=" + PercentEncode(f.target);
  auto diagnosis = Fetch(&http, "GET", target);
  if (diagnosis.ok()) {
    r.diagnosis_json = std::move(diagnosis).value();
  } else {
    r.diagnosis_error = diagnosis.status().message();
  }
  auto events = Fetch(&http, "GET", "/api/v1/runs/" + run + "/events");
  if (events.ok()) r.events_json = std::move(events).value();

  dom::parser p_metrics, p_diag;
  dom::element metrics, diag;
  if (p_metrics.parse(r.metrics_json).get(metrics)) {
    return Status::Internal("the server's series list is not JSON");
  }
  bool have_diag = !r.diagnosis_json.empty() && !p_diag.parse(r.diagnosis_json).get(diag);
  dom::array series;
  if (metrics["series"].get_array().get(series)) return r;
  for (const char* metric : kChartMetrics) {
    Chart chart;
    chart.title = metric;
    for (dom::element s : series) {
      if (Str(s, "metric") != metric || chart.lines.size() >= 4) continue;
      std::string labels = simdjson::minify(s["labels"]);
      std::string label = metric;
      if (labels != "{}") label += labels;
      auto line = FetchLine(&http, f.run, metric, labels == "{}" ? "" : labels, f.points);
      if (!line.ok()) continue;  // the series vanished meanwhile: leave it out
      line->label = label;
      chart.lines.push_back(std::move(line).value());
    }
    if (chart.lines.empty()) continue;
    if (have_diag && chart.title == Str(diag["forecast"]["loss"], "metric")) {
      AddForecastToLossChart(diag, &chart);
    }
    r.charts.push_back(std::move(chart));
  }
  return r;
}

int RunReport(const ReportFlags& f) {
  if (f.format != "html" && f.format != "md") {
    fmt::print(stderr, "vigil report: --format {} is not html or md\n", f.format);
    return 2;
  }
  if (f.points < 4) {
    fmt::print(stderr, "vigil report: --points must be at least 4\n");
    return 2;
  }
  auto report = Gather(f);
  if (!report.ok()) {
    fmt::print(stderr, "vigil report: {}\n", report.status().message());
    return 1;
  }
  std::string text = Render(f, *report);
  if (f.out.empty() || f.out == "-") {
    std::fwrite(text.data(), 1, text.size(), stdout);
    return std::fflush(stdout) == 0 ? 0 : 1;
  }
  std::ofstream out(f.out, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) {
    fmt::print(stderr, "vigil report: cannot write {}\n", f.out);
    return 1;
  }
  fmt::print(stderr, "vigil report: wrote {} ({} bytes)\n", f.out, text.size());
  return 0;
}

}  // namespace

void AddReportCommand(CLI::App* app, int* exit_code) {
  auto f = std::make_shared<ReportFlags>();
  CLI::App* cmd = app->add_subcommand(
      "report",
      "A run as a self-contained HTML (or Markdown) report: summary, config, charts, "
      "diagnosis, suggestions, forecasts, alerts");
  cmd->add_option("run", f->run, "Run id")->required();
  cmd->add_option("--format", f->format, "html (default) or md");
  cmd->add_option("-o,--out", f->out, "File to write (default: standard output)");
  cmd->add_option("--target", f->target, "A target loss to forecast (step and time it is reached)");
  cmd->add_option("--points", f->points, "Points per chart line (default 400)");
  AddServerFlags(cmd, &f->server);
  cmd->callback([f, exit_code] { *exit_code = RunReport(*f); });
}

}  // namespace vigil::cli
