// Ingest endpoints: POST /api/v1/runs/{id}/log and /heartbeat.
#include <algorithm>
#include <cstdint>

#include <fmt/format.h>

#include "alerting/alerting_service.h"
#include "alerting/command_json.h"
#include "core/json_writer.h"
#include "server/api.h"
#include "server/json_body.h"

namespace vigil::server {
namespace {

// Commands queued for the run, piggybacked on log and heartbeat answers so
// that the SDK needs no second channel. Each is marked delivered as it is
// written here, so it goes out in one answer only. Runs without queued
// commands (nearly every answer) cost one hash lookup: this also runs on
// the storage engine's commit thread. A store failure leaves the commands
// queued for the next answer.
// A client that cannot act on commands (the resource agent logging into a
// run) sends `?commands=none` so that it never takes the SDK's commands.
void WriteCommands(ApiContext* ctx, const std::string& run, JsonWriter* w, bool wanted = true) {
  w->Key("commands").BeginArray();
  if (wanted && ctx->alerting != nullptr) {
    auto commands = ctx->alerting->TakeCommands(run);
    if (commands.ok()) {
      for (const auto& c : *commands) alerting::WriteDeliveredCommandJson(w, c);
    }
  }
  w->EndArray();
}

// POST /api/v1/runs/{id}/log
void Log(ApiContext* ctx, HttpRequest& req, Responder res) {
  std::string id(req.PathParam("id"));
  auto run = ctx->runs->Get(id);
  if (!run.ok()) {
    ctx->metrics->ingest_rejected.fetch_add(1, std::memory_order_relaxed);
    return res.SendError(run.status());
  }
  if (Status s = Authorize(*ctx, req, run->project, auth::Access::kWrite); !s.ok()) {
    return res.SendError(s);
  }
  ctx->metrics->ingest_bytes.fetch_add(req.body.size(), std::memory_order_relaxed);
  const int64_t now = ctx->clock->NowMillis();
  auto batch = ingest::DecodeLogBatch(&req.body, id, ctx->options.limits, now);
  if (!batch.ok()) {
    ctx->metrics->ingest_rejected.fetch_add(1, std::memory_order_relaxed);
    return res.SendError(batch.status());
  }
  ctx->runs->Touch(id, now);
  const bool wants_commands = req.Query("commands") != std::optional<std::string_view>("none");
  // The newest point time, for the ingest lag (vigil_ingest_lag_seconds).
  int64_t newest_ms = INT64_MIN;
  for (const SeriesColumns& s : batch->series) {
    for (int64_t t : s.times) newest_ms = std::max(newest_ms, t);
  }
  if (batch->series.empty()) {
    JsonWriter w;
    w.BeginObject().Field("accepted", 0).Field("duplicates", 0);
    WriteCommands(ctx, id, &w, wants_commands);
    w.EndObject();
    return res.Send(HttpResponse::Json(200, w.Take()));
  }
  // The engine's callback must be copyable; the responder is not.
  auto shared = std::make_shared<Responder>(std::move(res));
  ServerMetrics* metrics = ctx->metrics;
  // Listeners see the batch after it is durable; the engine consumes it, so
  // they get a copy (only made when someone listens).
  std::shared_ptr<const WriteBatch> copy;
  if (!ctx->ingest_listeners.empty()) copy = std::make_shared<const WriteBatch>(*batch);
  ctx->engine->Append(std::move(*batch), [shared, metrics, ctx, copy, wants_commands, newest_ms,
                                          brief = *run](Result<storage::AppendResult> r) {
    if (!r.ok()) {
      metrics->ingest_rejected.fetch_add(1, std::memory_order_relaxed);
      HttpResponse err = ErrorResponse(r.status());
      if (r.status().code() == StatusCode::kUnavailable)
        err.headers.emplace_back("Retry-After", "1");
      return shared->Send(std::move(err));
    }
    metrics->ingest_points.fetch_add(r->accepted, std::memory_order_relaxed);
    metrics->ingest_duplicates.fetch_add(r->duplicates, std::memory_order_relaxed);
    metrics->ingest_batches.fetch_add(1, std::memory_order_relaxed);
    if (newest_ms != INT64_MIN) {
      metrics->ingest_lag.Observe(static_cast<double>(ctx->clock->NowMillis() - newest_ms) / 1e3);
    }
    if (copy) {
      for (IngestListener* l : ctx->ingest_listeners) l->OnBatchCommitted(brief, *copy);
    }
    JsonWriter w;
    w.BeginObject().Field("accepted", r->accepted).Field("duplicates", r->duplicates);
    WriteCommands(ctx, brief.id, &w, wants_commands);
    w.EndObject();
    shared->Send(HttpResponse::Json(200, w.Take()));
  });
}

// A heartbeat's optional body: where a rank of a distributed run is
// (docs/api.md "Heartbeat"). nullopt rank: the body was empty or had none.
struct BeatBody {
  std::optional<int64_t> rank;
  analysis::RankBeat beat;
};

Result<BeatBody> ParseBeatBody(std::string_view body, const RunBrief& run) {
  BeatBody out;
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) return out;
  VIGIL_ASSIGN_OR_RETURN(auto doc, JsonDocument::Parse(body));
  VIGIL_ASSIGN_OR_RETURN(simdjson::dom::object obj, AsObject(doc->root(), "body"));
  VIGIL_RETURN_IF_ERROR(CheckKeys(obj, {"rank", "step", "phase", "phase_ms", "node"}, ""));
  VIGIL_ASSIGN_OR_RETURN(out.rank, OptionalInt(obj, "rank"));
  if (out.rank && (*out.rank < 0 || (run.world_size > 0 && *out.rank >= run.world_size))) {
    return Status::InvalidArgument(
        fmt::format("rank: {} is not in [0, {})", *out.rank, run.world_size));
  }
  VIGIL_ASSIGN_OR_RETURN(out.beat.step, OptionalInt(obj, "step"));
  if (out.beat.step && *out.beat.step < 0) {
    return Status::InvalidArgument("step: must be >= 0");
  }
  VIGIL_ASSIGN_OR_RETURN(out.beat.phase, OptionalString(obj, "phase"));
  if (out.beat.phase && out.beat.phase->size() > 64) {
    return Status::InvalidArgument("phase: longer than 64 bytes");
  }
  VIGIL_ASSIGN_OR_RETURN(out.beat.phase_ms, OptionalInt(obj, "phase_ms"));
  if (out.beat.phase_ms && *out.beat.phase_ms < 0) {
    return Status::InvalidArgument("phase_ms: must be >= 0");
  }
  VIGIL_ASSIGN_OR_RETURN(out.beat.node, OptionalString(obj, "node"));
  if (out.beat.node && out.beat.node->size() > 256) {
    return Status::InvalidArgument("node: longer than 256 bytes");
  }
  if (!out.rank && (out.beat.step || out.beat.phase || out.beat.phase_ms || out.beat.node)) {
    return Status::InvalidArgument("rank: required with step, phase, phase_ms or node");
  }
  return out;
}

// POST /api/v1/runs/{id}/heartbeat
void Heartbeat(ApiContext* ctx, HttpRequest& req, Responder res) {
  Reply(std::move(res), [&]() -> Result<HttpResponse> {
    std::string id(req.PathParam("id"));
    VIGIL_ASSIGN_OR_RETURN(RunBrief run, ctx->runs->Get(id));
    VIGIL_RETURN_IF_ERROR(Authorize(*ctx, req, run.project, auth::Access::kWrite));
    VIGIL_ASSIGN_OR_RETURN(BeatBody body, ParseBeatBody(req.body, run));
    ctx->runs->Touch(id, ctx->clock->NowMillis());
    if (ctx->alerting != nullptr) {
      ctx->alerting->OnActivity(run.id, run.project);
      if (body.rank) ctx->alerting->OnRankBeat(run.id, run.project, *body.rank, body.beat);
    }
    const bool wants_commands = req.Query("commands") != std::optional<std::string_view>("none");
    JsonWriter w;
    w.BeginObject().Field("state", run.state);
    WriteCommands(ctx, id, &w, wants_commands);
    w.EndObject();
    return HttpResponse::Json(200, w.Take());
  }());
}

}  // namespace

void RegisterLogRoutes(Router* router, ApiContext* ctx) {
  AddRoute(router, ctx, "POST", "/api/v1/runs/{id}/log",
           [ctx](HttpRequest& req, Responder res) { Log(ctx, req, std::move(res)); });
  AddRoute(router, ctx, "POST", "/api/v1/runs/{id}/heartbeat",
           [ctx](HttpRequest& req, Responder res) { Heartbeat(ctx, req, std::move(res)); });
}

}  // namespace vigil::server
