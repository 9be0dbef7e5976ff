#include "server/api.h"

#include <charconv>

#include <fmt/format.h>

namespace vigil::server {
namespace {

// Forwards to the transport's responder and records the request's status
// and latency once it is answered.
class MeteredSink final : public Responder::Sink {
 public:
  MeteredSink(Responder inner, ServerMetrics* metrics, std::string method, std::string route,
              int64_t start_ns)
      : inner_(std::move(inner)),
        metrics_(metrics),
        method_(std::move(method)),
        route_(std::move(route)),
        start_ns_(start_ns) {}

  void Send(HttpResponse response) override {
    Record(response.status);
    inner_.Send(std::move(response));
  }
  std::shared_ptr<StreamWriter> StartStream(HttpResponse head) override {
    Record(head.status);
    return inner_.StartStream(std::move(head));
  }

 private:
  void Record(int status) {
    double seconds = static_cast<double>(MonotonicNanos() - start_ns_) / 1e9;
    metrics_->ObserveRequest(method_, route_, status, seconds);
  }
  Responder inner_;
  ServerMetrics* metrics_;
  std::string method_, route_;
  int64_t start_ns_;
};

// The API and the metrics need a token when tokens are configured; liveness
// and the dashboard's static files do not (the dashboard sends the token
// with its API calls).
bool NeedsToken(std::string_view pattern) {
  return pattern.starts_with("/api/") || pattern == "/metrics";
}

}  // namespace

void AddRoute(Router* router, ApiContext* ctx, std::string method, std::string pattern,
              Handler handler) {
  router->Add(
      method, pattern,
      [ctx, method, pattern, handler = std::move(handler)](HttpRequest& req, Responder responder) {
        auto sink = std::make_shared<MeteredSink>(std::move(responder), ctx->metrics, method,
                                                  pattern, MonotonicNanos());
        Responder res(std::move(sink));
        // Authenticate before the handler looks anything up, so that a
        // client without a valid token learns nothing (not even whether a
        // run exists: 401 either way). Handlers then check the project.
        if (ctx->tokens != nullptr && NeedsToken(pattern)) {
          auto header = req.Header("authorization");
          auto principal = ctx->tokens->Authenticate(header ? *header : std::string_view());
          if (!principal.ok()) return res.SendError(principal.status());
        }
        handler(req, std::move(res));
      });
}

Status Authorize(const ApiContext& ctx, const HttpRequest& req, std::string_view project,
                 auth::Access access) {
  if (ctx.tokens == nullptr) return Status::OK();
  auto header = req.Header("authorization");
  VIGIL_ASSIGN_OR_RETURN(auth::Principal principal,
                         ctx.tokens->Authenticate(header ? *header : std::string_view()));
  if (project.empty()) {
    if (principal.CanAccessAllProjects(access)) return Status::OK();
    return Status::PermissionDenied(
        fmt::format("token '{}' may not {} across all projects; name a project", principal.name(),
                    access == auth::Access::kRead ? "read" : "write"));
  }
  return principal.Check(project, access);
}

void Reply(Responder res, Result<HttpResponse> result) {
  if (result.ok()) {
    res.Send(std::move(result).value());
  } else {
    res.SendError(result.status());
  }
}

void RegisterApiRoutes(Router* router, ApiContext* ctx) {
  RegisterSystemRoutes(router, ctx);
  RegisterRunRoutes(router, ctx);
  RegisterLogRoutes(router, ctx);
  RegisterSeriesRoutes(router, ctx);
  RegisterDiagnosisRoutes(router, ctx);
  RegisterStreamRoutes(router, ctx);
  RegisterAlertRoutes(router, ctx);
  RegisterCommandRoutes(router, ctx);
  RegisterRankRoutes(router, ctx);
  RegisterStaticRoutes(router, ctx);
}

Result<int64_t> IntQueryParam(const HttpRequest& req, std::string_view name, int64_t def,
                              int64_t min, int64_t max) {
  auto v = req.Query(name);
  if (!v) return def;
  int64_t out;
  auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), out);
  if (ec != std::errc() || p != v->data() + v->size()) {
    return Status::InvalidArgument(fmt::format("{}: \"{}\" is not an integer", name, *v));
  }
  if (out < min || out > max) {
    return Status::InvalidArgument(fmt::format("{}: must be between {} and {}", name, min, max));
  }
  return out;
}

}  // namespace vigil::server
