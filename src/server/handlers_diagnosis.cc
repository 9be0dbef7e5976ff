// GET /api/v1/runs/{id}/diagnosis[?target=&metric=&max_steps=]: the run's
// bottleneck, evidence, suggestions, health and forecasts, computed on
// demand from its stored series (analysis/diagnosis/diagnosis.h) and the
// hints its config gives (docs/diagnosis.md lists the keys).
#include <charconv>
#include <cmath>

#include <fmt/format.h>

#include "analysis/diagnosis/diagnosis.h"
#include "analysis/diagnosis/diagnosis_json.h"
#include "core/json_writer.h"
#include "core/names.h"
#include "query/series_query.h"
#include "server/api.h"
#include "server/json_body.h"

namespace vigil::server {
namespace {

namespace dom = simdjson::dom;

// Past this many points a series is read in part: the recent points (the
// window the rules judge), or for the loss a downsampled whole (the fit bins
// it anyway). Keeps one diagnosis well under a second on huge runs.
constexpr uint64_t kMaxPointsPerSeries = 200'000;
constexpr size_t kLossDownsamplePoints = 40'000;
constexpr int64_t kMaxAlertEvents = 10'000;

bool Relevant(std::string_view metric) {
  for (std::string_view p : {"time/", "perf/", "train/", "val/", "sys/gpu/", "sys/cpu/", "cuda/"}) {
    if (metric.rfind(p, 0) == 0) return true;
  }
  return metric == "epoch";
}

bool RankZeroOrUnranked(const Labels& labels) {
  for (const Label& l : labels) {
    if (l.name == "rank") return l.value == "0";
  }
  return true;
}

Result<std::optional<double>> DoubleParam(const HttpRequest& req, std::string_view name) {
  auto v = req.Query(name);
  if (!v) return std::optional<double>();
  double out = 0;
  auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), out);
  if (ec != std::errc() || p != v->data() + v->size() || !std::isfinite(out)) {
    return Status::InvalidArgument(fmt::format("{}: \"{}\" is not a finite number", name, *v));
  }
  return std::optional<double>(out);
}

// The first of `keys` found in the config object or one level below it
// (e.g. {"train": {"max_steps": ...}}), as a number (or a bool as 0/1).
std::optional<double> ConfigNumber(dom::object config,
                                   std::initializer_list<std::string_view> keys) {
  auto number = [](dom::element e) -> std::optional<double> {
    double d;
    if (e.get_double().get(d) == simdjson::SUCCESS) return d;
    bool b;
    if (e.get_bool().get(b) == simdjson::SUCCESS) return b ? 1.0 : 0.0;
    return std::nullopt;
  };
  for (std::string_view k : keys) {
    dom::element e;
    if (config[k].get(e) == simdjson::SUCCESS) {
      if (auto v = number(e)) return v;
    }
  }
  for (auto field : config) {
    dom::object inner;
    if (field.value.get_object().get(inner) != simdjson::SUCCESS) continue;
    for (std::string_view k : keys) {
      dom::element e;
      if (inner[k].get(e) == simdjson::SUCCESS) {
        if (auto v = number(e)) return v;
      }
    }
  }
  return std::nullopt;
}

analysis::RunHints HintsFromConfig(const std::string& config_json,
                                   const analysis::RunSeries& series) {
  analysis::RunHints h;
  auto doc = JsonDocument::Parse(config_json, "config");
  if (!doc.ok()) return h;
  dom::object config;
  if ((*doc)->root().get_object().get(config) != simdjson::SUCCESS) return h;
  h.max_steps = ConfigNumber(
      config, {"max_steps", "total_steps", "num_steps", "train_steps", "max_iters", "steps"});
  if (!h.max_steps) {
    auto epochs = ConfigNumber(config, {"epochs", "num_epochs", "max_epochs", "num_train_epochs"});
    auto per_epoch = ConfigNumber(config, {"steps_per_epoch", "iters_per_epoch"});
    if (epochs && !per_epoch) {
      // Derive steps per epoch from a logged epoch counter.
      const analysis::SeriesData* e = series.Find("epoch");
      if (e == nullptr) e = series.Find("train/epoch");
      if (e != nullptr && e->size() > 0) {
        auto last = analysis::LastValue(*e);
        if (last && *last >= 1) per_epoch = static_cast<double>(e->steps.back()) / *last;
      }
    }
    if (epochs && per_epoch) h.max_steps = *epochs * *per_epoch;
  }
  h.num_workers = ConfigNumber(config, {"num_workers", "dataloader_num_workers", "workers"});
  if (auto pin = ConfigNumber(config, {"pin_memory", "dataloader_pin_memory"})) {
    h.pin_memory = *pin != 0;
  }
  h.batch_size = ConfigNumber(config, {"batch_size", "per_device_train_batch_size",
                                       "train_batch_size", "micro_batch_size"});
  h.grad_clip = ConfigNumber(
      config, {"grad_clip", "max_grad_norm", "clip_grad_norm", "gradient_clipping", "clip_grad"});
  return h;
}

Status ReadRunSeries(ApiContext* ctx, const std::string& run, const std::string& loss_metric,
                     analysis::RunSeries* out) {
  for (const storage::SeriesInfo& info : ctx->engine->ListSeries(run)) {
    if (!Relevant(info.key.metric) || info.stats.count == 0) continue;
    // A distributed run is diagnosed from rank 0 (the run-level view; the
    // ranks routes compare ranks): reading every rank's series of a
    // 1,024-rank job would cost seconds and say nothing more here.
    if (!RankZeroOrUnranked(info.key.labels)) continue;
    storage::ReadRange range;
    size_t max_points = 0;
    const storage::SeriesStats& st = info.stats;
    if (st.count > kMaxPointsPerSeries) {
      if (info.key.metric == loss_metric) {
        max_points = kLossDownsamplePoints;
      } else if (info.key.metric.rfind("sys/", 0) == 0) {
        range.axis = storage::Axis::kTime;
        double keep = static_cast<double>(kMaxPointsPerSeries) / static_cast<double>(st.count);
        range.from = st.last_time -
                     static_cast<int64_t>(keep * static_cast<double>(st.last_time - st.first_time));
      } else {
        double keep = static_cast<double>(kMaxPointsPerSeries) / static_cast<double>(st.count);
        range.from =
            st.max_step_seen -
            static_cast<int64_t>(keep * static_cast<double>(st.max_step_seen - st.first_step));
      }
    }
    query::SeriesReadResult r;
    VIGIL_RETURN_IF_ERROR(query::ReadSeriesPoints(*ctx->engine, info.id, range, max_points, &r));
    analysis::SeriesData s;
    s.metric = info.key.metric;
    s.labels = info.key.labels;
    s.steps = std::move(r.points.steps);
    s.times = std::move(r.points.times);
    s.values = std::move(r.points.values);
    out->Add(std::move(s));
  }
  return Status::OK();
}

// Steps of the run's alert events (data.step), for the health section.
std::vector<int64_t> AlertSteps(ApiContext* ctx, const std::string& run) {
  std::vector<int64_t> steps;
  auto events = ctx->metadata->ListEvents(run, 0, kMaxAlertEvents);
  if (!events.ok()) return steps;
  for (const storage::EventRecord& e : *events) {
    if (e.kind != "alert") continue;
    auto doc = JsonDocument::Parse(e.data_json, "event data");
    if (!doc.ok()) continue;
    int64_t step;
    if ((*doc)->root()["step"].get_int64().get(step) == simdjson::SUCCESS) steps.push_back(step);
  }
  return steps;
}

// GET /api/v1/runs/{id}/diagnosis
void GetDiagnosis(ApiContext* ctx, HttpRequest& req, Responder res) {
  const int64_t start_ns = MonotonicNanos();
  Reply(std::move(res), [&]() -> Result<HttpResponse> {
    std::string id(req.PathParam("id"));
    VIGIL_ASSIGN_OR_RETURN(RunBrief brief, ctx->runs->Get(id));
    VIGIL_RETURN_IF_ERROR(Authorize(*ctx, req, brief.project, auth::Access::kRead));
    analysis::DiagnosisInput in;
    if (auto m = req.Query("metric")) {
      VIGIL_RETURN_IF_ERROR(ValidateMetricName(*m).WithContext("metric"));
      in.loss_metric = std::string(*m);
    }
    VIGIL_ASSIGN_OR_RETURN(in.target, DoubleParam(req, "target"));
    VIGIL_ASSIGN_OR_RETURN(auto max_steps, DoubleParam(req, "max_steps"));
    if (max_steps && *max_steps <= 0) return Status::InvalidArgument("max_steps: must be > 0");
    VIGIL_ASSIGN_OR_RETURN(storage::RunRecord run, ctx->metadata->GetRun(id));
    VIGIL_RETURN_IF_ERROR(ReadRunSeries(ctx, id, in.loss_metric, &in.series));
    in.hints = HintsFromConfig(run.config_json, in.series);
    if (max_steps) in.hints.max_steps = max_steps;
    in.alert_steps = AlertSteps(ctx, id);
    analysis::Diagnosis d = analysis::Diagnose(in);
    std::string body;
    JsonWriter w(&body);
    analysis::WriteDiagnosisJson(d, &w);
    // The run's id and state lead the object.
    std::string head = "{\"run\":";
    AppendJsonString(&head, id);
    head += ",\"state\":";
    AppendJsonString(&head, run.state);
    head += fmt::format(",\"computed_ms\":{},", ctx->clock->NowMillis());
    body.replace(0, 1, head);
    HttpResponse response = HttpResponse::Json(200, std::move(body));
    double ms = static_cast<double>(MonotonicNanos() - start_ns) / 1e6;
    response.headers.emplace_back("Server-Timing", fmt::format("total;dur={:.3f}", ms));
    return response;
  }());
}

}  // namespace

void RegisterDiagnosisRoutes(Router* router, ApiContext* ctx) {
  AddRoute(router, ctx, "GET", "/api/v1/runs/{id}/diagnosis",
           [ctx](HttpRequest& req, Responder res) { GetDiagnosis(ctx, req, std::move(res)); });
}

}  // namespace vigil::server
