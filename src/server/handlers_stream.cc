// GET /api/v1/stream?run=ID: the run's committed points as server-sent
// events (see stream_hub.h for the format). The stream opens with
// `retry: 2000` and an `event: hello` carrying the run id, so a client
// knows the subscription is in place before it reads the series it shows.
#include <fmt/format.h>

#include "core/json_writer.h"
#include "server/api.h"
#include "server/stream_hub.h"

namespace vigil::server {
namespace {

void Stream(ApiContext* ctx, HttpRequest& req, Responder res) {
  if (ctx->stream_hub == nullptr) {
    res.SendError(Status::NotSupported("this server has no live stream"));
    return;
  }
  auto run_param = req.Query("run");
  if (!run_param || run_param->empty()) {
    res.SendError(Status::InvalidArgument("run: required"));
    return;
  }
  std::string id(*run_param);
  auto run = ctx->runs->Get(id);
  if (!run.ok()) {
    res.SendError(run.status());
    return;
  }
  if (Status s = Authorize(*ctx, req, run->project, auth::Access::kRead); !s.ok()) {
    res.SendError(s);
    return;
  }
  if (!ctx->stream_hub->CanSubscribe()) {
    HttpResponse r = ErrorResponse(Status::Unavailable("too many open streams"));
    r.headers.emplace_back("Retry-After", "5");
    res.Send(std::move(r));
    return;
  }
  HttpResponse head;
  head.status = 200;
  head.content_type = "text/event-stream";
  head.headers.emplace_back("X-Accel-Buffering", "no");
  std::shared_ptr<StreamWriter> writer = res.StartStream(std::move(head));
  std::string hello;
  JsonWriter w(&hello);
  w.BeginObject().Field("run", id).Field("state", run->state).EndObject();
  if (!writer->Write(fmt::format("retry: 2000\nevent: hello\ndata: {}\n\n", hello))) return;
  ctx->stream_hub->Subscribe(id, std::move(writer));
}

}  // namespace

void RegisterStreamRoutes(Router* router, ApiContext* ctx) {
  AddRoute(router, ctx, "GET", "/api/v1/stream",
           [ctx](HttpRequest& req, Responder res) { Stream(ctx, req, std::move(res)); });
}

}  // namespace vigil::server
