// Read endpoints for a run's points: the series list, one series (JSON or
// CSV, full or downsampled) and the wide CSV export.
#include <charconv>

#include <fmt/format.h>

#include "core/json_writer.h"
#include "core/names.h"
#include "query/csv_export.h"
#include "query/series_query.h"
#include "server/api.h"
#include "server/json_body.h"
#include "server/run_json.h"

namespace vigil::server {
namespace {

// labels={"rank":"0"} (URL-encoded JSON object of strings).
Result<std::optional<Labels>> LabelsParam(const HttpRequest& req) {
  auto v = req.Query("labels");
  if (!v) return std::optional<Labels>();
  VIGIL_ASSIGN_OR_RETURN(auto doc, JsonDocument::Parse(*v, "labels"));
  VIGIL_ASSIGN_OR_RETURN(simdjson::dom::object obj, AsObject(doc->root(), "labels"));
  Labels labels;
  for (auto field : obj) {
    std::string_view value;
    if (field.value.get_string().get(value)) {
      return Status::InvalidArgument(fmt::format("labels[\"{}\"]: expected a string, got {}",
                                                 field.key, JsonTypeName(field.value)));
    }
    labels.push_back({std::string(field.key), std::string(value)});
  }
  SortLabels(&labels);
  return std::optional<Labels>(std::move(labels));
}

// The series a request names: metric plus labels; without labels, the only
// series of that metric or else its label-less one.
Result<storage::SeriesInfo> FindSeries(ApiContext* ctx, const std::string& run,
                                       std::string_view metric,
                                       const std::optional<Labels>& labels) {
  if (labels) {
    auto s = ctx->engine->FindSeries({run, std::string(metric), *labels});
    if (!s) {
      return Status::NotFound(
          fmt::format("run {} has no series {}", run, FormatSeriesName(metric, *labels)));
    }
    return *s;
  }
  std::vector<storage::SeriesInfo> matches;
  for (auto& s : ctx->engine->ListSeries(run)) {
    if (s.key.metric == metric) matches.push_back(std::move(s));
  }
  if (matches.empty()) return Status::NotFound(fmt::format("run {} has no metric {}", run, metric));
  if (matches.size() == 1) return matches[0];
  for (auto& s : matches) {
    if (s.key.labels.empty()) return s;
  }
  std::string some;
  for (size_t i = 0; i < matches.size() && i < 3; ++i) {
    some += (i ? ", " : "") + FormatSeriesName(metric, matches[i].key.labels);
  }
  return Status::InvalidArgument(
      fmt::format("metric {} has {} series in run {} ({}{}); choose one with labels=, e.g. "
                  "labels={{\"{}\":\"{}\"}}",
                  metric, matches.size(), run, some, matches.size() > 3 ? ", ..." : "",
                  matches[0].key.labels[0].name, matches[0].key.labels[0].value));
}

// GET /api/v1/runs/{id}/metrics
void ListMetrics(ApiContext* ctx, HttpRequest& req, Responder res) {
  Reply(std::move(res), [&]() -> Result<HttpResponse> {
    std::string id(req.PathParam("id"));
    VIGIL_ASSIGN_OR_RETURN(RunBrief run, ctx->runs->Get(id));
    VIGIL_RETURN_IF_ERROR(Authorize(*ctx, req, run.project, auth::Access::kRead));
    JsonWriter w;
    w.BeginObject().Field("run", id).Key("series").BeginArray();
    for (const auto& s : ctx->engine->ListSeries(id)) WriteSeriesInfo(&w, s);
    w.EndArray().EndObject();
    return HttpResponse::Json(200, w.Take());
  }());
}

void WriteColumn(std::string* out, const std::vector<int64_t>& v) {
  out->push_back('[');
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) out->push_back(',');
    fmt::format_to(std::back_inserter(*out), "{}", v[i]);
  }
  out->push_back(']');
}

// GET /api/v1/runs/{id}/series
void GetSeries(ApiContext* ctx, HttpRequest& req, Responder res) {
  const int64_t start_ns = MonotonicNanos();
  Reply(std::move(res), [&]() -> Result<HttpResponse> {
    std::string id(req.PathParam("id"));
    VIGIL_ASSIGN_OR_RETURN(RunBrief run, ctx->runs->Get(id));
    VIGIL_RETURN_IF_ERROR(Authorize(*ctx, req, run.project, auth::Access::kRead));
    auto metric = req.Query("metric");
    if (!metric) return Status::InvalidArgument("metric: required");
    VIGIL_RETURN_IF_ERROR(ValidateMetricName(*metric).WithContext("metric"));
    VIGIL_ASSIGN_OR_RETURN(auto labels, LabelsParam(req));
    storage::ReadRange range;
    std::string_view x = req.Query("x").value_or("step");
    if (x == "time") {
      range.axis = storage::Axis::kTime;
    } else if (x != "step") {
      return Status::InvalidArgument(fmt::format("x: \"{}\" is not step or time", x));
    }
    VIGIL_ASSIGN_OR_RETURN(range.from, IntQueryParam(req, "from", range.from));
    VIGIL_ASSIGN_OR_RETURN(range.to, IntQueryParam(req, "to", range.to));
    if (range.from > range.to) return Status::InvalidArgument("from: greater than to");
    VIGIL_ASSIGN_OR_RETURN(int64_t points, IntQueryParam(req, "points", 0));
    if (req.Query("points") &&
        (points < 4 || points > static_cast<int64_t>(ctx->options.max_query_points))) {
      return Status::InvalidArgument(
          fmt::format("points: must be between 4 and {}", ctx->options.max_query_points));
    }
    std::string_view format = req.Query("format").value_or("json");
    if (format != "json" && format != "csv") {
      return Status::InvalidArgument(fmt::format("format: \"{}\" is not json or csv", format));
    }
    VIGIL_ASSIGN_OR_RETURN(storage::SeriesInfo series, FindSeries(ctx, id, *metric, labels));
    query::SeriesReadResult result;
    VIGIL_RETURN_IF_ERROR(query::ReadSeriesPoints(*ctx->engine, series.id, range,
                                                  static_cast<size_t>(points), &result));
    const SeriesColumns& p = result.points;
    HttpResponse response;
    if (format == "csv") {
      std::string body;
      query::SeriesToCsv(p, &body);
      response = HttpResponse::Text(200, std::move(body), "text/csv; charset=utf-8");
    } else {
      std::string body;
      body.reserve(64 + p.size() * 40);
      JsonWriter w(&body);
      w.BeginObject().Field("run", id).Field("metric", series.key.metric).Key("labels");
      WriteLabels(&w, series.key.labels);
      w.Field("x", x).Field("count", static_cast<uint64_t>(p.size()));
      w.FieldBool("downsampled", result.downsampled);
      w.Field("source_points",
              static_cast<uint64_t>(result.downsampled ? result.stats.source_points : p.size()));
      // The columns are written directly: this is the hot path of charts.
      body.append(",\"steps\":");
      WriteColumn(&body, p.steps);
      body.append(",\"times\":");
      WriteColumn(&body, p.times);
      body.append(",\"values\":[");
      for (size_t i = 0; i < p.values.size(); ++i) {
        if (i) body.push_back(',');
        AppendJsonDouble(&body, p.values[i]);
      }
      body.append("]}");
      response = HttpResponse::Json(200, std::move(body));
    }
    double ms = static_cast<double>(MonotonicNanos() - start_ns) / 1e6;
    response.headers.emplace_back("Server-Timing", fmt::format("total;dur={:.3f}", ms));
    return response;
  }());
}

// GET /api/v1/runs/{id}/export
void Export(ApiContext* ctx, HttpRequest& req, Responder res) {
  Reply(std::move(res), [&]() -> Result<HttpResponse> {
    std::string id(req.PathParam("id"));
    VIGIL_ASSIGN_OR_RETURN(RunBrief run, ctx->runs->Get(id));
    VIGIL_RETURN_IF_ERROR(Authorize(*ctx, req, run.project, auth::Access::kRead));
    std::string_view format = req.Query("format").value_or("csv");
    if (format != "csv") {
      return Status::InvalidArgument(fmt::format("format: \"{}\" is not supported (csv)", format));
    }
    std::string body;
    VIGIL_RETURN_IF_ERROR(query::ExportRunCsv(*ctx->engine, id, &body));
    HttpResponse r = HttpResponse::Text(200, std::move(body), "text/csv; charset=utf-8");
    r.headers.emplace_back("Content-Disposition",
                           fmt::format("attachment; filename=\"{}.csv\"", id));
    return r;
  }());
}

}  // namespace

void RegisterSeriesRoutes(Router* router, ApiContext* ctx) {
  AddRoute(router, ctx, "GET", "/api/v1/runs/{id}/metrics",
           [ctx](HttpRequest& req, Responder res) { ListMetrics(ctx, req, std::move(res)); });
  AddRoute(router, ctx, "GET", "/api/v1/runs/{id}/series",
           [ctx](HttpRequest& req, Responder res) { GetSeries(ctx, req, std::move(res)); });
  AddRoute(router, ctx, "GET", "/api/v1/runs/{id}/export",
           [ctx](HttpRequest& req, Responder res) { Export(ctx, req, std::move(res)); });
}

}  // namespace vigil::server
