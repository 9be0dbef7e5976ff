// The HTTP API v1 (docs/api.md): what every endpoint needs (ApiContext) and
// the function that registers the endpoints on a Router. Each group of
// endpoints lives in its own handlers_*.cc file.
//
// Thread-safety: the context's members are thread-safe; handlers run on the
// HTTP server's I/O threads concurrently.
#pragma once

#include <limits>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "ingest/batch_decoder.h"
#include "server/auth/token_store.h"
#include "server/ingest_listener.h"
#include "server/router.h"
#include "server/run_registry.h"
#include "server/server_metrics.h"
#include "storage/engine.h"
#include "storage/metadata/metadata_store.h"

namespace vigil::alerting {
class AlertingService;  // alerting/alerting_service.h
}

namespace vigil::server {

class StreamHub;  // server/stream_hub.h

struct ApiOptions {
  ingest::IngestLimits limits;
  // Largest `points` a series query may ask for.
  size_t max_query_points = 1'000'000;
};

struct ApiContext {
  storage::Engine* engine = nullptr;
  storage::MetadataStore* metadata = nullptr;
  RunRegistry* runs = nullptr;
  ServerMetrics* metrics = nullptr;
  // Null when the server runs without tokens (every request allowed).
  const auth::TokenStore* tokens = nullptr;
  const Clock* clock = &SystemClock::Get();
  ApiOptions options;
  // Told of every stored batch (live stream, detectors); registered before
  // the HTTP server starts and never changed afterwards.
  std::vector<IngestListener*> ingest_listeners;
  // The dashboard's live stream (also in ingest_listeners); null: none.
  StreamHub* stream_hub = nullptr;
  // Detection, alerts and the command queue; null: alerting is off.
  alerting::AlertingService* alerting = nullptr;
};

void RegisterApiRoutes(Router* router, ApiContext* ctx);

// Adds a route whose requests are counted and timed in ctx->metrics (by
// route pattern, method and status).
void AddRoute(Router* router, ApiContext* ctx, std::string method, std::string pattern,
              Handler handler);

// Checks the request's bearer token against `project` (empty: a request
// not tied to one project, which needs access to all projects).
Status Authorize(const ApiContext& ctx, const HttpRequest& req, std::string_view project,
                 auth::Access access);

// The integer query parameter `name`: `def` when absent; InvalidArgument
// naming the parameter when it is not an integer or outside [min, max].
Result<int64_t> IntQueryParam(const HttpRequest& req, std::string_view name, int64_t def,
                              int64_t min = std::numeric_limits<int64_t>::min(),
                              int64_t max = std::numeric_limits<int64_t>::max());

// Sends the response, or the error's JSON form.
void Reply(Responder res, Result<HttpResponse> result);

// The groups of endpoints (handlers_*.cc).
void RegisterRunRoutes(Router* router, ApiContext* ctx);
void RegisterLogRoutes(Router* router, ApiContext* ctx);
void RegisterSeriesRoutes(Router* router, ApiContext* ctx);
void RegisterDiagnosisRoutes(Router* router, ApiContext* ctx);  // handlers_diagnosis.cc
void RegisterSystemRoutes(Router* router, ApiContext* ctx);
void RegisterStreamRoutes(Router* router, ApiContext* ctx);  // handlers_stream.cc
void RegisterStaticRoutes(Router* router, ApiContext* ctx);  // handlers_static.cc, the dashboard

void RegisterAlertRoutes(Router* router, ApiContext* ctx);    // handlers_alerts.cc
void RegisterCommandRoutes(Router* router, ApiContext* ctx);  // handlers_commands.cc
void RegisterRankRoutes(Router* router, ApiContext* ctx);     // handlers_ranks.cc

}  // namespace vigil::server
