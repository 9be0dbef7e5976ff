// Command endpoints: queue (POST /api/v1/runs/{id}/commands), list (GET) and
// the SDK's acknowledgement (POST /api/v1/runs/{id}/commands/{cid}/ack).
// Delivery happens in the log and heartbeat answers (handlers_log.cc).
#include <charconv>
#include <cmath>

#include <fmt/format.h>

#include "alerting/alerting_service.h"
#include "alerting/command_json.h"
#include "core/json_writer.h"
#include "server/api.h"
#include "server/json_body.h"

namespace vigil::server {
namespace {

namespace dom = simdjson::dom;

constexpr size_t kMaxArgsBytes = 64 * 1024;
constexpr size_t kMaxAckMessageBytes = 4096;
constexpr size_t kMaxSetNameBytes = 256;

Result<alerting::AlertingService*> Service(ApiContext* ctx) {
  if (ctx->alerting == nullptr) return Status::FailedPrecondition("alerting is not enabled");
  return ctx->alerting;
}

Status CheckNonNegativeInt(dom::object args, std::string_view key) {
  VIGIL_ASSIGN_OR_RETURN(auto v, OptionalInt(args, key));
  if (v && *v < 0) return Status::InvalidArgument(fmt::format("args.{}: must be >= 0", key));
  return Status::OK();
}

// The per-type rules for args (docs/api.md).
Status ValidateArgs(std::string_view type, dom::object args) {
  if (type == "rollback") {
    VIGIL_RETURN_IF_ERROR(CheckKeys(args, {"steps_back", "skip_batches", "step"}, "args"));
    for (std::string_view k : {"steps_back", "skip_batches", "step"}) {
      VIGIL_RETURN_IF_ERROR(CheckNonNegativeInt(args, k));
    }
    return Status::OK();
  }
  if (type == "set") {
    VIGIL_RETURN_IF_ERROR(CheckKeys(args, {"name", "value"}, "args"));
    VIGIL_ASSIGN_OR_RETURN(auto name, OptionalString(args, "name"));
    if (!name || name->empty()) return Status::InvalidArgument("args.name: required");
    if (name->size() > kMaxSetNameBytes) {
      return Status::InvalidArgument(
          fmt::format("args.name: more than {} bytes", kMaxSetNameBytes));
    }
    dom::element value;
    if (args["value"].get(value) != simdjson::SUCCESS) {
      return Status::InvalidArgument("args.value: required");
    }
    if (value.is_double()) {
      double d = value.get_double().value_unsafe();
      if (!std::isfinite(d)) return Status::InvalidArgument("args.value: must be finite");
    } else if (!value.is_int64() && !value.is_uint64() && !value.is_string() && !value.is_bool()) {
      return Status::InvalidArgument(fmt::format(
          "args.value: expected a number, string or boolean, got {}", JsonTypeName(value)));
    }
    return Status::OK();
  }
  // pause, resume, stop, checkpoint: an optional reason only.
  VIGIL_RETURN_IF_ERROR(CheckKeys(args, {"reason"}, "args"));
  VIGIL_ASSIGN_OR_RETURN(auto reason, OptionalString(args, "reason"));
  (void)reason;
  return Status::OK();
}

Result<int64_t> CommandId(const HttpRequest& req) {
  std::string_view text = req.PathParam("cid");
  int64_t id = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (ec != std::errc() || end != text.data() + text.size() || id < 1) {
    return Status::NotFound(
        fmt::format("command {} of run {} does not exist", text, req.PathParam("id")));
  }
  return id;
}

HttpResponse CommandResponse(int status, const alerting::CommandRecord& c) {
  JsonWriter w;
  alerting::WriteCommandJson(&w, c);
  return HttpResponse::Json(status, w.Take());
}

// POST /api/v1/runs/{id}/commands {"type": ..., "args": {...}}
void QueueCommand(ApiContext* ctx, HttpRequest& req, Responder res) {
  Reply(std::move(res), [&]() -> Result<HttpResponse> {
    VIGIL_ASSIGN_OR_RETURN(auto* svc, Service(ctx));
    std::string id(req.PathParam("id"));
    VIGIL_ASSIGN_OR_RETURN(RunBrief run, ctx->runs->Get(id));
    VIGIL_RETURN_IF_ERROR(Authorize(*ctx, req, run.project, auth::Access::kWrite));
    VIGIL_ASSIGN_OR_RETURN(auto doc, JsonDocument::Parse(req.body));
    VIGIL_ASSIGN_OR_RETURN(dom::object obj, AsObject(doc->root(), "body"));
    VIGIL_RETURN_IF_ERROR(CheckKeys(obj, {"type", "args"}, ""));
    VIGIL_ASSIGN_OR_RETURN(auto type, OptionalString(obj, "type"));
    if (!type) return Status::InvalidArgument("type: required");
    if (!alerting::IsValidCommandType(*type)) {
      return Status::InvalidArgument(fmt::format(
          "type: must be pause, resume, stop, checkpoint, rollback or set, got \"{}\"", *type));
    }
    std::string args_json = "{}";
    dom::element args;
    if (obj["args"].get(args) == simdjson::SUCCESS && !args.is_null()) {
      VIGIL_ASSIGN_OR_RETURN(dom::object args_obj, AsObject(args, "args"));
      VIGIL_RETURN_IF_ERROR(ValidateArgs(*type, args_obj));
      args_json = ToJson(args);
      if (args_json.size() > kMaxArgsBytes) {
        return Status::InvalidArgument(fmt::format("args: more than {} bytes", kMaxArgsBytes));
      }
    } else if (*type == "set") {
      return Status::InvalidArgument("args: set needs {\"name\": ..., \"value\": ...}");
    }
    if (run.state != "running") {
      return Status::FailedPrecondition(
          fmt::format("run {} is {}; commands go to running runs only", id, run.state));
    }
    VIGIL_ASSIGN_OR_RETURN(auto c, svc->QueueCommand(id, *type, args_json));
    return CommandResponse(201, c);
  }());
}

// GET /api/v1/runs/{id}/commands?limit=
void ListCommands(ApiContext* ctx, HttpRequest& req, Responder res) {
  Reply(std::move(res), [&]() -> Result<HttpResponse> {
    VIGIL_ASSIGN_OR_RETURN(auto* svc, Service(ctx));
    std::string id(req.PathParam("id"));
    VIGIL_ASSIGN_OR_RETURN(RunBrief run, ctx->runs->Get(id));
    VIGIL_RETURN_IF_ERROR(Authorize(*ctx, req, run.project, auth::Access::kRead));
    int64_t limit = 1000;
    if (auto l = req.Query("limit")) {
      auto [end, ec] = std::from_chars(l->data(), l->data() + l->size(), limit);
      if (ec != std::errc() || end != l->data() + l->size() || limit < 1 || limit > 10'000) {
        return Status::InvalidArgument("limit must be an integer between 1 and 10000");
      }
    }
    VIGIL_ASSIGN_OR_RETURN(auto commands, svc->ListCommands(id, limit));
    JsonWriter w;
    w.BeginObject().Key("commands").BeginArray();
    for (const auto& c : commands) alerting::WriteCommandJson(&w, c);
    w.EndArray().EndObject();
    return HttpResponse::Json(200, w.Take());
  }());
}

// POST /api/v1/runs/{id}/commands/{cid}/ack {"status": ..., "message": "..."}
void AckCommand(ApiContext* ctx, HttpRequest& req, Responder res) {
  Reply(std::move(res), [&]() -> Result<HttpResponse> {
    VIGIL_ASSIGN_OR_RETURN(auto* svc, Service(ctx));
    std::string id(req.PathParam("id"));
    VIGIL_ASSIGN_OR_RETURN(RunBrief run, ctx->runs->Get(id));
    VIGIL_RETURN_IF_ERROR(Authorize(*ctx, req, run.project, auth::Access::kWrite));
    VIGIL_ASSIGN_OR_RETURN(int64_t cid, CommandId(req));
    VIGIL_ASSIGN_OR_RETURN(auto doc, JsonDocument::Parse(req.body));
    VIGIL_ASSIGN_OR_RETURN(dom::object obj, AsObject(doc->root(), "body"));
    VIGIL_RETURN_IF_ERROR(CheckKeys(obj, {"status", "message"}, ""));
    VIGIL_ASSIGN_OR_RETURN(auto status, OptionalString(obj, "status"));
    if (!status) return Status::InvalidArgument("status: required");
    auto to = alerting::ParseCommandState(*status);
    if (!to || *to == alerting::CommandState::kQueued ||
        *to == alerting::CommandState::kDelivered) {
      return Status::InvalidArgument(
          fmt::format("status: must be acknowledged, done or failed, got \"{}\"", *status));
    }
    VIGIL_ASSIGN_OR_RETURN(auto message, OptionalString(obj, "message"));
    std::string msg = message.value_or("");
    if (msg.size() > kMaxAckMessageBytes) {
      return Status::InvalidArgument(
          fmt::format("message: more than {} bytes", kMaxAckMessageBytes));
    }
    VIGIL_ASSIGN_OR_RETURN(auto c, svc->AckCommand(id, cid, *to, msg));
    return CommandResponse(200, c);
  }());
}

}  // namespace

void RegisterCommandRoutes(Router* router, ApiContext* ctx) {
  AddRoute(router, ctx, "POST", "/api/v1/runs/{id}/commands",
           [ctx](HttpRequest& req, Responder res) { QueueCommand(ctx, req, std::move(res)); });
  AddRoute(router, ctx, "GET", "/api/v1/runs/{id}/commands",
           [ctx](HttpRequest& req, Responder res) { ListCommands(ctx, req, std::move(res)); });
  AddRoute(router, ctx, "POST", "/api/v1/runs/{id}/commands/{cid}/ack",
           [ctx](HttpRequest& req, Responder res) { AckCommand(ctx, req, std::move(res)); });
}

}  // namespace vigil::server
