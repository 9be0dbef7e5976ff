#include "server/server_app.h"

#include <fmt/format.h>

#include "storage/file.h"

namespace vigil::server {

Result<std::unique_ptr<ServerApp>> ServerApp::Start(ServerOptions options) {
  std::unique_ptr<ServerApp> app(new ServerApp(std::move(options)));
  ServerOptions& o = app->options_;
  VIGIL_RETURN_IF_ERROR(storage::CreateDirectories(o.data_dir));
  o.engine.dir = o.data_dir;
  VIGIL_ASSIGN_OR_RETURN(app->engine_, storage::Engine::Open(o.engine));
  storage::MetadataOptions mo;
  mo.path = o.data_dir + "/metadata.sqlite";
  mo.full_sync = o.metadata_full_sync;
  VIGIL_ASSIGN_OR_RETURN(app->metadata_, storage::MetadataStore::Open(mo));
  app->runs_ = std::make_unique<RunRegistry>(app->metadata_.get());
  if (!o.tokens_file.empty()) {
    VIGIL_ASSIGN_OR_RETURN(auto tokens, auth::TokenStore::Load(o.tokens_file));
    app->tokens_ = std::make_unique<auth::TokenStore>(std::move(tokens));
  }
  ApiContext& ctx = app->ctx_;
  ctx.engine = app->engine_.get();
  ctx.metadata = app->metadata_.get();
  ctx.runs = app->runs_.get();
  ctx.metrics = &app->metrics_;
  ctx.tokens = app->tokens_.get();
  ctx.clock = o.engine.clock;
  ctx.options = o.api;
  app->stream_hub_ = std::make_unique<StreamHub>();
  ctx.stream_hub = app->stream_hub_.get();
  ctx.ingest_listeners.push_back(app->stream_hub_.get());
  {
    app->webhook_poster_ = std::make_unique<WebhookPoster>();
    alerting::AlertingOptions ao;
    ao.store_path = o.data_dir + "/alerts.sqlite";
    ao.rules_file = o.rules_file;
    ao.engine = app->engine_.get();
    VIGIL_ASSIGN_OR_RETURN(app->alerting_,
                           alerting::AlertingService::Open(ao, app->metadata_.get(),
                                                           app->webhook_poster_.get(), ctx.clock));
    app->alerting_listener_ = std::make_unique<AlertingListener>(app->alerting_.get());
    ctx.alerting = app->alerting_.get();
    ctx.ingest_listeners.push_back(app->alerting_listener_.get());
  }
  RegisterApiRoutes(&app->router_, &ctx);
  app->http_ = std::make_unique<HttpServer>(
      o.http, [router = &app->router_](HttpRequest& req, Responder res) {
        router->Dispatch(req, std::move(res));
      });
  VIGIL_RETURN_IF_ERROR(app->http_->Start());
  app->maintenance_ = std::thread([p = app.get()] { p->MaintenanceLoop(); });
  return app;
}

ServerApp::~ServerApp() {
  Stop();
}

void ServerApp::Stop() {
  std::call_once(stop_once_, [this] {
    if (stream_hub_) stream_hub_->CloseAll();  // else Stop() waits out open streams
    if (http_) http_->Stop();
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (maintenance_.joinable()) maintenance_.join();
    if (runs_) (void)runs_->FlushHeartbeats();
    if (engine_) engine_->Close();
    if (alerting_) alerting_->Stop();  // after the engine: no more batches arrive
  });
}

Status ServerApp::ReloadRules() {
  if (!alerting_) return Status::FailedPrecondition("alerting is not running");
  return alerting_->ReloadRules();
}

Status ServerApp::ReloadTokens() {
  if (options_.tokens_file.empty()) return Status::FailedPrecondition("no tokens file configured");
  if (!tokens_) return Status::FailedPrecondition("tokens were not loaded at start");
  return tokens_->Reload();
}

void ServerApp::MaintenanceLoop() {
  std::unique_lock lock(mu_);
  int64_t last_crash_check = 0;
  while (!stopping_) {
    cv_.wait_for(lock, std::chrono::seconds(2), [&] { return stopping_; });
    if (stopping_) break;
    lock.unlock();
    const int64_t now = ctx_.clock->NowMillis();
    (void)runs_->FlushHeartbeats();
    if (now - last_crash_check >= 10'000) {
      (void)runs_->MarkCrashed(now, options_.heartbeat_timeout_ms);
      last_crash_check = now;
    }
    lock.lock();
  }
}

}  // namespace vigil::server
