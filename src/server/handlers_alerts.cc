// Alert endpoints: GET /api/v1/alerts, an alert's webhook deliveries, and
// the rules admin routes (GET /api/v1/admin/rules, POST
// /api/v1/admin/rules/reload, the same as SIGHUP).
#include <charconv>

#include <fmt/format.h>

#include "alerting/alerting_service.h"
#include "core/json_writer.h"
#include "server/api.h"

namespace vigil::server {
namespace {

Result<alerting::AlertingService*> Service(ApiContext* ctx) {
  if (ctx->alerting == nullptr) return Status::FailedPrecondition("alerting is not enabled");
  return ctx->alerting;
}

Result<int64_t> IntParam(const HttpRequest& req, std::string_view name, int64_t def, int64_t lo,
                         int64_t hi) {
  auto v = req.Query(name);
  if (!v) return def;
  int64_t x = 0;
  auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), x);
  if (ec != std::errc() || end != v->data() + v->size() || x < lo || x > hi) {
    return Status::InvalidArgument(
        fmt::format("{} must be an integer between {} and {}, got \"{}\"", name, lo, hi, *v));
  }
  return x;
}

// GET /api/v1/alerts?run=&state=firing|resolved&project=&limit=
void ListAlerts(ApiContext* ctx, HttpRequest& req, Responder res) {
  Reply(std::move(res), [&]() -> Result<HttpResponse> {
    VIGIL_ASSIGN_OR_RETURN(auto* svc, Service(ctx));
    alerting::AlertQuery q;
    if (auto run = req.Query("run")) q.run = std::string(*run);
    if (auto state = req.Query("state")) q.state = std::string(*state);
    if (auto project = req.Query("project")) q.project = std::string(*project);
    VIGIL_ASSIGN_OR_RETURN(q.limit, IntParam(req, "limit", 100, 1, 10'000));
    if (!q.run.empty()) {
      VIGIL_ASSIGN_OR_RETURN(RunBrief r, ctx->runs->Get(q.run));
      VIGIL_RETURN_IF_ERROR(Authorize(*ctx, req, r.project, auth::Access::kRead));
    } else {
      VIGIL_RETURN_IF_ERROR(Authorize(*ctx, req, q.project, auth::Access::kRead));
    }
    VIGIL_ASSIGN_OR_RETURN(auto alerts, svc->ListAlerts(q));
    JsonWriter w;
    w.BeginObject().Key("alerts").BeginArray();
    for (const auto& a : alerts) alerting::WriteAlertJson(&w, a);
    w.EndArray().Field("firing", svc->firing()).EndObject();
    return HttpResponse::Json(200, w.Take());
  }());
}

// GET /api/v1/alerts/{id}/deliveries: every webhook attempt for the alert.
void ListDeliveries(ApiContext* ctx, HttpRequest& req, Responder res) {
  Reply(std::move(res), [&]() -> Result<HttpResponse> {
    VIGIL_ASSIGN_OR_RETURN(auto* svc, Service(ctx));
    std::string_view id_text = req.PathParam("id");
    int64_t id = 0;
    auto [end, ec] = std::from_chars(id_text.data(), id_text.data() + id_text.size(), id);
    if (ec != std::errc() || end != id_text.data() + id_text.size() || id < 1) {
      return Status::NotFound(fmt::format("alert {} does not exist", id_text));
    }
    VIGIL_ASSIGN_OR_RETURN(auto alert, svc->store()->GetAlert(id));
    VIGIL_RETURN_IF_ERROR(Authorize(*ctx, req, alert.project, auth::Access::kRead));
    VIGIL_ASSIGN_OR_RETURN(int64_t limit, IntParam(req, "limit", 1000, 1, 10'000));
    VIGIL_ASSIGN_OR_RETURN(auto deliveries, svc->store()->ListDeliveries(id, limit));
    JsonWriter w;
    w.BeginObject().Key("deliveries").BeginArray();
    for (const auto& d : deliveries) {
      w.BeginObject()
          .Field("event", d.event)
          .Field("webhook", d.webhook)
          .Field("url", d.url)
          .Field("attempt", d.attempt)
          .Field("status", d.http_status)
          .FieldBool("ok", d.ok)
          .Field("error", d.error)
          .Field("time", d.time_ms)
          .FieldBool("final", d.final)
          .EndObject();
    }
    w.EndArray().EndObject();
    return HttpResponse::Json(200, w.Take());
  }());
}

HttpResponse RulesSummary(const alerting::RuleSet& rules) {
  JsonWriter w;
  w.BeginObject()
      .Field("source", rules.source)
      .FieldBool("builtin", rules.builtin.enabled)
      .Key("rules")
      .BeginArray();
  for (const auto& r : rules.rules) {
    w.BeginObject()
        .Field("name", r.name)
        .Field("metric", r.metric)
        .Field("detector", r.detector)
        .Field("params", r.params.ToString())
        .EndObject();
  }
  w.EndArray().Key("webhooks").BeginArray();
  for (const auto& h : rules.webhooks) {
    w.BeginObject().Field("name", h.name).Field("url", h.url).EndObject();
  }
  w.EndArray().EndObject();
  return HttpResponse::Json(200, w.Take());
}

}  // namespace

void RegisterAlertRoutes(Router* router, ApiContext* ctx) {
  AddRoute(router, ctx, "GET", "/api/v1/alerts",
           [ctx](HttpRequest& req, Responder res) { ListAlerts(ctx, req, std::move(res)); });
  AddRoute(router, ctx, "GET", "/api/v1/alerts/{id}/deliveries",
           [ctx](HttpRequest& req, Responder res) { ListDeliveries(ctx, req, std::move(res)); });
  AddRoute(router, ctx, "GET", "/api/v1/admin/rules", [ctx](HttpRequest& req, Responder res) {
    Reply(std::move(res), [&]() -> Result<HttpResponse> {
      VIGIL_ASSIGN_OR_RETURN(auto* svc, Service(ctx));
      VIGIL_RETURN_IF_ERROR(Authorize(*ctx, req, "", auth::Access::kRead));
      return RulesSummary(*svc->rules());
    }());
  });
  // Re-reads the rules file; on error answers 400 with the error and the
  // rules in force stay.
  AddRoute(router, ctx, "POST", "/api/v1/admin/rules/reload",
           [ctx](HttpRequest& req, Responder res) {
             Reply(std::move(res), [&]() -> Result<HttpResponse> {
               VIGIL_ASSIGN_OR_RETURN(auto* svc, Service(ctx));
               VIGIL_RETURN_IF_ERROR(Authorize(*ctx, req, "", auth::Access::kWrite));
               VIGIL_RETURN_IF_ERROR(svc->ReloadRules());
               return RulesSummary(*svc->rules());
             }());
           });
}

}  // namespace vigil::server
