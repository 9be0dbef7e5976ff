// The ranks of a distributed run (docs/api.md "Ranks", docs/distributed.md):
//   GET /api/v1/runs/{id}/ranks          live state from the alerting layer's
//                                        JobMonitor: ranks, hang, stragglers,
//                                        per-step spread
//   GET /api/v1/runs/{id}/ranks/heatmap  rank × step matrix of a per-rank
//                                        metric, from stored points
#include <algorithm>
#include <charconv>
#include <cmath>
#include <set>

#include <fmt/format.h>

#include "alerting/alerting_service.h"
#include "analysis/distributed/job_monitor.h"
#include "analysis/distributed/rank_heatmap.h"
#include "core/json_writer.h"
#include "server/api.h"

namespace vigil::server {
namespace {

constexpr std::string_view kStepTime = "step_time";        // sum of a rank's phases
constexpr std::string_view kComputeTime = "compute_time";  // ... minus communication

void WriteInts(JsonWriter* w, std::string_view key, const std::vector<int64_t>& v) {
  w->Key(key).BeginArray();
  for (int64_t x : v) w->Int(x);
  w->EndArray();
}

void WriteSnapshot(JsonWriter* w, const analysis::JobSnapshot& s) {
  w->Field("known", s.known).Field("alive", s.alive).Field("finished", s.finished);
  w->Field("hang_threshold_ms", s.hang_threshold_ms);
  w->Key("hang");
  if (s.hang) {
    w->BeginObject().Field("step", s.hang->step).Field("message", s.hang->message);
    WriteInts(w, "ranks", s.hang->ranks);
    w->EndObject();
  } else {
    w->Null();
  }
  w->Key("stragglers").BeginArray();
  for (const auto& g : s.stragglers) {
    w->BeginObject().Field("subject", g.subject);
    WriteInts(w, "ranks", g.ranks);
    w->Field("node", g.node).FieldDouble("slowdown", g.slowdown);
    w->Field("since_step", g.since_step).FieldBool("firing", g.firing);
    w->Field("message", g.message).EndObject();
  }
  w->EndArray();
  w->Key("step_time").BeginObject();
  w->FieldOptionalDouble("median_s", s.step_median_s);
  w->FieldOptionalDouble("compute_median_s", s.compute_median_s);
  w->EndObject();
  w->Key("ranks").BeginArray();
  for (const auto& r : s.ranks) {
    w->BeginObject().Field("rank", r.rank).Field("node", r.node);
    w->Field("state", analysis::RankStateName(r.state)).Field("step", r.step);
    w->Field("phase", r.phase).Field("phase_ms", r.phase_ms);
    w->Field("last_seen_ms", r.last_seen_ms).Field("stuck_ms", r.stuck_ms);
    w->FieldOptionalDouble("step_s", r.step_s);
    w->FieldOptionalDouble("compute_s", r.compute_s);
    w->FieldOptionalDouble("slowdown", r.slowdown);
    w->EndObject();
  }
  w->EndArray();
  w->Key("nodes").BeginArray();
  for (const auto& n : s.nodes) {
    w->BeginObject().Field("node", n.node);
    WriteInts(w, "ranks", n.ranks);
    w->FieldOptionalDouble("slowdown", n.slowdown);
    w->EndObject();
  }
  w->EndArray();
  w->Key("spread").BeginArray();
  for (const auto& p : s.spread) {
    w->BeginObject().Field("step", p.step).Field("ranks", p.ranks);
    w->FieldDouble("min_s", p.min_s).FieldDouble("median_s", p.median_s);
    w->FieldDouble("max_s", p.max_s).Field("slowest_rank", p.slowest_rank).EndObject();
  }
  w->EndArray();
}

// GET /api/v1/runs/{id}/ranks
void Ranks(ApiContext* ctx, HttpRequest& req, Responder res) {
  Reply(std::move(res), [&]() -> Result<HttpResponse> {
    std::string id(req.PathParam("id"));
    VIGIL_ASSIGN_OR_RETURN(RunBrief run, ctx->runs->Get(id));
    VIGIL_RETURN_IF_ERROR(Authorize(*ctx, req, run.project, auth::Access::kRead));
    std::optional<analysis::JobSnapshot> snap;
    if (ctx->alerting != nullptr) snap = ctx->alerting->RanksSnapshot(id);
    if (!snap) snap.emplace();
    // The stored world size is the truth (a restarted server learns ranks
    // again from their next heartbeat or points).
    snap->world_size = std::max(run.world_size, snap->world_size);
    JsonWriter w;
    w.BeginObject().Field("run", id).Field("world_size", snap->world_size);
    WriteSnapshot(&w, *snap);
    w.EndObject();
    return HttpResponse::Json(200, w.Take());
  }());
}

int64_t RankOf(const storage::SeriesInfo& s) {
  for (const Label& l : s.key.labels) {
    if (l.name != "rank") continue;
    int64_t r = -1;
    auto [p, ec] = std::from_chars(l.value.data(), l.value.data() + l.value.size(), r);
    return ec == std::errc() && p == l.value.data() + l.value.size() ? r : -1;
  }
  return -1;
}

std::string NodeOf(const storage::SeriesInfo& s) {
  for (const Label& l : s.key.labels) {
    if (l.name == "node") return l.value;
  }
  return "";
}

// GET /api/v1/runs/{id}/ranks/heatmap?metric=&steps=&from=&to=
void Heatmap(ApiContext* ctx, HttpRequest& req, Responder res) {
  Reply(std::move(res), [&]() -> Result<HttpResponse> {
    std::string id(req.PathParam("id"));
    VIGIL_ASSIGN_OR_RETURN(RunBrief run, ctx->runs->Get(id));
    VIGIL_RETURN_IF_ERROR(Authorize(*ctx, req, run.project, auth::Access::kRead));
    VIGIL_ASSIGN_OR_RETURN(int64_t columns, IntQueryParam(req, "steps", 200, 1, 2000));
    VIGIL_ASSIGN_OR_RETURN(int64_t from, IntQueryParam(req, "from", -1, 0));
    VIGIL_ASSIGN_OR_RETURN(int64_t to, IntQueryParam(req, "to", -1, 0));
    if (from >= 0 && to >= 0 && from > to) {
      return Status::InvalidArgument(fmt::format("from: {} is after to: {}", from, to));
    }
    // The per-rank series, and the metrics one can choose.
    std::vector<storage::SeriesInfo> ranked;
    std::set<std::string> metrics;
    bool has_phases = false;
    for (auto& s : ctx->engine->ListSeries(id)) {
      if (RankOf(s) < 0 || s.stats.count == 0) continue;
      metrics.insert(s.key.metric);
      if (s.key.metric.rfind("time/", 0) == 0 && s.key.metric != "time/step") has_phases = true;
      ranked.push_back(std::move(s));
    }
    std::vector<std::string> choices;
    if (has_phases) {
      choices.emplace_back(kStepTime);
      choices.emplace_back(kComputeTime);
    }
    choices.insert(choices.end(), metrics.begin(), metrics.end());
    std::string metric(req.Query("metric").value_or(""));
    if (metric.empty()) {
      metric = metrics.count("time/step") ? "time/step"
               : has_phases               ? std::string(kStepTime)
               : choices.empty()          ? std::string()
                                          : choices.front();
    } else if (std::find(choices.begin(), choices.end(), metric) == choices.end()) {
      return Status::NotFound(
          fmt::format("metric: run {} has no per-rank series \"{}\"", id, metric));
    }
    const bool virtual_metric = metric == kStepTime || metric == kComputeTime;
    auto wanted = [&](const storage::SeriesInfo& s) {
      if (!virtual_metric) return s.key.metric == metric;
      if (s.key.metric.rfind("time/", 0) != 0 || s.key.metric == "time/step") return false;
      return metric == kStepTime || !analysis::IsCommPhase(s.key.metric.substr(5));
    };
    int64_t lo = std::numeric_limits<int64_t>::max(), hi = std::numeric_limits<int64_t>::min();
    for (const auto& s : ranked) {
      if (!wanted(s)) continue;
      lo = std::min(lo, s.stats.first_step);
      hi = std::max(hi, s.stats.last_step);
    }
    if (lo > hi) lo = hi = 0;
    if (from >= 0) lo = from;
    if (to >= 0) hi = to;
    if (lo > hi) hi = lo;
    analysis::RankHeatmapBuilder builder(lo, hi, columns,
                                         virtual_metric
                                             ? analysis::RankHeatmapBuilder::Mode::kSumPerStep
                                             : analysis::RankHeatmapBuilder::Mode::kMean);
    storage::ReadRange range;
    range.from = lo;
    range.to = hi;
    SeriesColumns points;
    for (const auto& s : ranked) {
      if (!wanted(s)) continue;
      points.steps.clear();
      points.times.clear();
      points.values.clear();
      VIGIL_RETURN_IF_ERROR(ctx->engine->ReadSeries(s.id, range, &points));
      builder.Add(RankOf(s), NodeOf(s), points.steps, points.values);
    }
    const analysis::RankHeatmap h = builder.Build();
    JsonWriter w;
    w.BeginObject().Field("run", id).Field("metric", metric);
    w.Key("metrics").BeginArray();
    for (const auto& m : choices) w.String(m);
    w.EndArray();
    WriteInts(&w, "ranks", h.ranks);
    w.Key("nodes").BeginArray();
    for (const auto& n : h.nodes) w.String(n);
    w.EndArray();
    w.Field("step_from", h.step_from).Field("step_to", h.step_to).Field("bin", h.bin);
    WriteInts(&w, "steps", h.steps);
    auto cells = [&](const std::vector<std::optional<double>>& v) {
      w.BeginArray();
      for (const auto& x : v) w.OptionalDouble(x);
      w.EndArray();
    };
    w.Key("values").BeginArray();
    for (const auto& row : h.values) cells(row);
    w.EndArray();
    w.Key("column_median");
    cells(h.column_median);
    w.Key("row_mean");
    cells(h.row_mean);
    w.EndObject();
    return HttpResponse::Json(200, w.Take());
  }());
}

}  // namespace

void RegisterRankRoutes(Router* router, ApiContext* ctx) {
  AddRoute(router, ctx, "GET", "/api/v1/runs/{id}/ranks",
           [ctx](HttpRequest& req, Responder res) { Ranks(ctx, req, std::move(res)); });
  AddRoute(router, ctx, "GET", "/api/v1/runs/{id}/ranks/heatmap",
           [ctx](HttpRequest& req, Responder res) { Heatmap(ctx, req, std::move(res)); });
}

}  // namespace vigil::server
