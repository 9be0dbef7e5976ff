// ServerApp: `vigil serve` as an object — the storage engine, the metadata
// store, tokens, the API routes and the HTTP transport, plus the
// maintenance thread that writes heartbeats and marks silent runs crashed.
// The CLI and the integration tests both start the server through it.
//
// Thread-safety: Start and Stop from one controlling thread; ReloadTokens
// from any thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "core/result.h"
#include "server/alerting_listener.h"
#include "server/api.h"
#include "server/http_server.h"
#include "server/stream_hub.h"
#include "server/webhook_poster.h"

namespace vigil::server {

struct ServerOptions {
  std::string data_dir = "./vigil-data";
  HttpServerOptions http;
  // dir is filled in from data_dir.
  storage::EngineOptions engine;
  ApiOptions api;
  std::string tokens_file;  // empty: no authentication
  bool metadata_full_sync = false;
  // A running run with no log or heartbeat for this long is marked crashed.
  int64_t heartbeat_timeout_ms = 120'000;
  // Alert rules (TOML, alerting/rules.h); empty: the built-in pack only.
  std::string rules_file;
};

class ServerApp {
 public:
  static Result<std::unique_ptr<ServerApp>> Start(ServerOptions options);
  ~ServerApp();  // Stop()
  ServerApp(const ServerApp&) = delete;
  ServerApp& operator=(const ServerApp&) = delete;

  uint16_t port() const { return http_->port(); }
  // Stops the HTTP server (in-flight requests finish), then closes the
  // engine (committing and syncing what was queued).
  void Stop();
  // Re-reads the tokens file (SIGHUP); on error the old tokens stay.
  Status ReloadTokens();
  // Re-reads the rules file (SIGHUP, POST /api/v1/admin/rules/reload); on
  // error the rules in force stay and the error is returned.
  Status ReloadRules();

  storage::Engine* engine() { return engine_.get(); }

 private:
  explicit ServerApp(ServerOptions options) : options_(std::move(options)) {}
  void MaintenanceLoop();

  ServerOptions options_;
  std::unique_ptr<storage::Engine> engine_;
  std::unique_ptr<storage::MetadataStore> metadata_;
  std::unique_ptr<RunRegistry> runs_;
  ServerMetrics metrics_;
  std::unique_ptr<auth::TokenStore> tokens_;
  std::unique_ptr<StreamHub> stream_hub_;  // the dashboard's live stream
  // Detection, alerts, webhooks and the command queue.
  std::unique_ptr<WebhookPoster> webhook_poster_;
  std::unique_ptr<alerting::AlertingService> alerting_;
  std::unique_ptr<AlertingListener> alerting_listener_;
  ApiContext ctx_;
  Router router_;
  std::unique_ptr<HttpServer> http_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // GUARDED_BY(mu_)
  std::thread maintenance_;
  std::once_flag stop_once_;
};

}  // namespace vigil::server
