// Operational endpoints: liveness, Prometheus exposition, and storage
// administration (flush, compaction, stats).
#include <iterator>

#include <fmt/format.h>

#include "alerting/alerting_service.h"
#include "core/json_writer.h"
#include "server/api.h"
#include "server/prometheus_exposition.h"

namespace vigil::server {
namespace {

HttpResponse StatsResponse(const storage::EngineStats& s) {
  JsonWriter w;
  w.BeginObject()
      .Field("series", s.series)
      .Field("head_points", s.head_points)
      .Field("head_bytes", s.head_bytes)
      .Field("blocks", s.blocks)
      .Field("block_bytes", s.block_bytes)
      .Field("block_points", s.block_points)
      .Field("wal_bytes", s.wal_bytes)
      .Field("points_appended", s.points_appended)
      .Field("batches_committed", s.batches_committed)
      .Field("group_commits", s.group_commits)
      .Field("fsyncs", s.fsyncs)
      .Field("duplicates_dropped", s.duplicates_dropped)
      .Field("flushes", s.flushes)
      .Field("compactions", s.compactions)
      .Field("pending_points", s.pending_points)
      .Field("replayed_records", s.replayed_records)
      .Field("torn_tail_bytes", s.torn_tail_bytes)
      .EndObject();
  return HttpResponse::Json(200, w.Take());
}

}  // namespace

void RegisterSystemRoutes(Router* router, ApiContext* ctx) {
  // Liveness needs no token: load balancers and supervisors probe it.
  AddRoute(router, ctx, "GET", "/healthz", [](HttpRequest&, Responder res) {
    res.Send(HttpResponse::Json(200, R"({"status":"ok"})"));
  });
  AddRoute(router, ctx, "GET", "/metrics", [ctx](HttpRequest& req, Responder res) {
    Reply(std::move(res), [&]() -> Result<HttpResponse> {
      VIGIL_RETURN_IF_ERROR(Authorize(*ctx, req, "", auth::Access::kRead));
      std::string body;
      VIGIL_RETURN_IF_ERROR(RenderPrometheus(*ctx->engine, ctx->metadata, *ctx->metrics, &body));
      if (ctx->alerting != nullptr) {
        fmt::format_to(std::back_inserter(body),
                       "# HELP vigil_alerts_firing Alerts firing now.\n"
                       "# TYPE vigil_alerts_firing gauge\nvigil_alerts_firing {}\n"
                       "# HELP vigil_alert_points_dropped_total Points the detectors skipped "
                       "because their queue was full.\n"
                       "# TYPE vigil_alert_points_dropped_total counter\n"
                       "vigil_alert_points_dropped_total {}\n",
                       ctx->alerting->firing(), ctx->alerting->points_dropped());
      }
      return HttpResponse::Text(200, std::move(body), "text/plain; version=0.0.4; charset=utf-8");
    }());
  });
  AddRoute(router, ctx, "GET", "/api/v1/admin/stats", [ctx](HttpRequest& req, Responder res) {
    Reply(std::move(res), [&]() -> Result<HttpResponse> {
      VIGIL_RETURN_IF_ERROR(Authorize(*ctx, req, "", auth::Access::kRead));
      return StatsResponse(ctx->engine->stats());
    }());
  });
  AddRoute(router, ctx, "POST", "/api/v1/admin/flush", [ctx](HttpRequest& req, Responder res) {
    Reply(std::move(res), [&]() -> Result<HttpResponse> {
      VIGIL_RETURN_IF_ERROR(Authorize(*ctx, req, "", auth::Access::kWrite));
      VIGIL_RETURN_IF_ERROR(ctx->engine->Flush());
      return StatsResponse(ctx->engine->stats());
    }());
  });
  AddRoute(router, ctx, "POST", "/api/v1/admin/compact", [ctx](HttpRequest& req, Responder res) {
    Reply(std::move(res), [&]() -> Result<HttpResponse> {
      VIGIL_RETURN_IF_ERROR(Authorize(*ctx, req, "", auth::Access::kWrite));
      VIGIL_RETURN_IF_ERROR(ctx->engine->CompactAll());
      return StatsResponse(ctx->engine->stats());
    }());
  });
}

}  // namespace vigil::server
