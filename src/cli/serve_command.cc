// `vigil serve`: the server, on its embedded storage.
#include <signal.h>

#include <charconv>
#include <cstdio>
#include <optional>

#include <fmt/format.h>
#include <toml++/toml.h>
#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "core/duration.h"
#include "server/server_app.h"

namespace vigil::cli {
namespace {

struct ServeFlags {
  std::optional<std::string> data, listen, config, fsync, fsync_interval, retention, tokens;
  std::optional<std::string> heartbeat_timeout;
  std::optional<std::string> rules;
  std::optional<int64_t> threads, max_body_bytes, max_series, max_points, flush_bytes;
};

Status ParseListen(const std::string& listen, server::HttpServerOptions* http) {
  auto colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return Status::InvalidArgument(fmt::format("--listen \"{}\" is not HOST:PORT", listen));
  }
  std::string host = listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  unsigned port = 0;
  std::string_view p(listen.data() + colon + 1, listen.size() - colon - 1);
  auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), port);
  if (ec != std::errc() || end != p.data() + p.size() || port > 65535) {
    return Status::InvalidArgument(fmt::format("--listen \"{}\": bad port", listen));
  }
  http->host = host;
  http->port = static_cast<uint16_t>(port);
  return Status::OK();
}

// Fills unset flags from the TOML config file; flags given on the command
// line win. Unknown keys are errors, so that a typo does not silently fall
// back to a default.
Status ApplyConfigFile(const std::string& path, ServeFlags* f) {
  toml::table t;
  try {
    t = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    return Status::InvalidArgument(
        fmt::format("config {} line {}: {}", path, e.source().begin.line, e.description()));
  }
  auto str = [&](std::string_view key, std::optional<std::string>* dst) -> Status {
    if (auto node = t.get(key)) {
      auto v = node->value<std::string>();
      if (!v)
        return Status::InvalidArgument(fmt::format("config {}: {} must be a string", path, key));
      if (!*dst) *dst = *v;
    }
    return Status::OK();
  };
  auto num = [&](std::string_view key, std::optional<int64_t>* dst) -> Status {
    if (auto node = t.get(key)) {
      auto v = node->value<int64_t>();
      if (!v)
        return Status::InvalidArgument(fmt::format("config {}: {} must be an integer", path, key));
      if (!*dst) *dst = *v;
    }
    return Status::OK();
  };
  static constexpr std::string_view kKeys[] = {"data",
                                               "listen",
                                               "fsync",
                                               "fsync_interval",
                                               "retention",
                                               "tokens",
                                               "heartbeat_timeout",
                                               "rules",
                                               "threads",
                                               "max_body_bytes",
                                               "max_series_per_batch",
                                               "max_points_per_batch",
                                               "flush_bytes"};
  for (const auto& [key, value] : t) {
    if (std::find(std::begin(kKeys), std::end(kKeys), key.str()) == std::end(kKeys)) {
      return Status::InvalidArgument(fmt::format("config {}: unknown key \"{}\"", path, key.str()));
    }
  }
  VIGIL_RETURN_IF_ERROR(str("data", &f->data));
  VIGIL_RETURN_IF_ERROR(str("listen", &f->listen));
  VIGIL_RETURN_IF_ERROR(str("fsync", &f->fsync));
  VIGIL_RETURN_IF_ERROR(str("fsync_interval", &f->fsync_interval));
  VIGIL_RETURN_IF_ERROR(str("retention", &f->retention));
  VIGIL_RETURN_IF_ERROR(str("tokens", &f->tokens));
  VIGIL_RETURN_IF_ERROR(str("heartbeat_timeout", &f->heartbeat_timeout));
  VIGIL_RETURN_IF_ERROR(str("rules", &f->rules));
  VIGIL_RETURN_IF_ERROR(num("threads", &f->threads));
  VIGIL_RETURN_IF_ERROR(num("max_body_bytes", &f->max_body_bytes));
  VIGIL_RETURN_IF_ERROR(num("max_series_per_batch", &f->max_series));
  VIGIL_RETURN_IF_ERROR(num("max_points_per_batch", &f->max_points));
  VIGIL_RETURN_IF_ERROR(num("flush_bytes", &f->flush_bytes));
  return Status::OK();
}

Result<server::ServerOptions> BuildOptions(ServeFlags f) {
  if (f.config) VIGIL_RETURN_IF_ERROR(ApplyConfigFile(*f.config, &f));
  server::ServerOptions o;
  o.data_dir = f.data.value_or("./vigil-data");
  VIGIL_RETURN_IF_ERROR(ParseListen(f.listen.value_or("127.0.0.1:7070"), &o.http));
  if (f.fsync) {
    VIGIL_ASSIGN_OR_RETURN(o.engine.fsync, storage::ParseFsyncPolicy(*f.fsync));
  }
  if (f.fsync_interval) {
    VIGIL_ASSIGN_OR_RETURN(int64_t ms, ParseDurationMillis(*f.fsync_interval));
    if (ms < 1) return Status::InvalidArgument("--fsync-interval must be at least 1ms");
    o.engine.fsync_interval = std::chrono::milliseconds(ms);
  }
  if (f.retention) {
    VIGIL_ASSIGN_OR_RETURN(o.engine.retention_ms, ParseDurationMillis(*f.retention));
  }
  if (f.heartbeat_timeout) {
    VIGIL_ASSIGN_OR_RETURN(o.heartbeat_timeout_ms, ParseDurationMillis(*f.heartbeat_timeout));
  }
  o.tokens_file = f.tokens.value_or("");
  o.rules_file = f.rules.value_or("");
  auto positive = [](std::string_view name, int64_t v) -> Status {
    if (v < 1) return Status::InvalidArgument(fmt::format("--{} must be positive", name));
    return Status::OK();
  };
  if (f.threads) {
    VIGIL_RETURN_IF_ERROR(positive("threads", *f.threads));
    o.http.threads = static_cast<int>(*f.threads);
  }
  if (f.max_body_bytes) {
    VIGIL_RETURN_IF_ERROR(positive("max-body-bytes", *f.max_body_bytes));
    o.http.max_body_bytes = static_cast<size_t>(*f.max_body_bytes);
  }
  if (f.max_series) {
    VIGIL_RETURN_IF_ERROR(positive("max-series-per-batch", *f.max_series));
    o.api.limits.max_series = static_cast<size_t>(*f.max_series);
  }
  if (f.max_points) {
    VIGIL_RETURN_IF_ERROR(positive("max-points-per-batch", *f.max_points));
    o.api.limits.max_points = static_cast<size_t>(*f.max_points);
  }
  if (f.flush_bytes) {
    VIGIL_RETURN_IF_ERROR(positive("flush-bytes", *f.flush_bytes));
    o.engine.flush_bytes = static_cast<size_t>(*f.flush_bytes);
  }
  return o;
}

int RunServe(const ServeFlags& flags) {
  auto options = BuildOptions(flags);
  if (!options.ok()) {
    fmt::print(stderr, "vigil serve: {}\n", options.status().message());
    return 2;
  }
  // Signals are taken by this thread with sigwait; every thread the server
  // starts inherits the blocked mask, so none is interrupted by them.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);

  auto app = server::ServerApp::Start(*options);
  if (!app.ok()) {
    fmt::print(stderr, "vigil serve: {}\n", app.status().message());
    return 1;
  }
  const auto& o = *options;
  fmt::print(stderr, "vigil serving on http://{}:{} (data {}, fsync {}, retention {})\n",
             o.http.host, (*app)->port(), o.data_dir, storage::FsyncPolicyName(o.engine.fsync),
             o.engine.retention_ms ? FormatDurationMillis(o.engine.retention_ms) : "none");
  std::fflush(stderr);
  for (;;) {
    int sig = 0;
    if (sigwait(&set, &sig) != 0) continue;
    if (sig == SIGHUP) {
      Status s = (*app)->ReloadTokens();
      fmt::print(stderr, "vigil serve: SIGHUP: {}\n", s.ok() ? "tokens reloaded" : s.message());
      if (!o.rules_file.empty()) {
        Status r = (*app)->ReloadRules();
        fmt::print(stderr, "vigil serve: SIGHUP: {}\n",
                   r.ok() ? "rules reloaded" : r.message() + " (the previous rules stay)");
      }
      std::fflush(stderr);
      continue;
    }
    fmt::print(stderr, "vigil serve: {}, shutting down\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    break;
  }
  (*app)->Stop();
  fmt::print(stderr, "vigil serve: stopped cleanly\n");
  return 0;
}

}  // namespace

void AddServeCommand(CLI::App* app, int* exit_code) {
  auto flags = std::make_shared<ServeFlags>();
  CLI::App* cmd = app->add_subcommand("serve", "Run the vigil server on its embedded storage");
  cmd->add_option("--data", flags->data, "Data directory (default ./vigil-data)");
  cmd->add_option("--listen", flags->listen, "HOST:PORT to listen on (default 127.0.0.1:7070)");
  cmd->add_option("--config", flags->config, "TOML file with any of these options");
  cmd->add_option("--fsync", flags->fsync, "WAL durability: batch (default), interval, off");
  cmd->add_option("--fsync-interval", flags->fsync_interval,
                  "With --fsync=interval (default 200ms)");
  cmd->add_option("--retention", flags->retention,
                  "Drop points older than this, e.g. 30d (default: keep)");
  cmd->add_option("--tokens", flags->tokens, "TOML file of API tokens; requests then need one");
  cmd->add_option("--threads", flags->threads, "HTTP I/O threads (default: one per core)");
  cmd->add_option("--max-body-bytes", flags->max_body_bytes,
                  "Largest request body (default 64 MiB)");
  cmd->add_option("--max-series-per-batch", flags->max_series,
                  "Series per log batch (default 10000)");
  cmd->add_option("--max-points-per-batch", flags->max_points,
                  "Points per log batch (default 1000000)");
  cmd->add_option("--flush-bytes", flags->flush_bytes,
                  "Head size that triggers a flush to a block");
  cmd->add_option("--rules", flags->rules,
                  "TOML file of alert rules and webhooks (reloaded on SIGHUP)");
  cmd->add_option("--heartbeat-timeout", flags->heartbeat_timeout,
                  "Mark a silent running run crashed after this long (default 120s)");
  cmd->callback([flags, exit_code] { *exit_code = RunServe(*flags); });
}

}  // namespace vigil::cli
