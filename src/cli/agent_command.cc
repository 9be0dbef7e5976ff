// `vigil agent`: samples the host, every NVIDIA GPU and (sidecar mode) one
// process tree every --interval, and ships the samples to a vigil server as
// `sys/...` series and/or serves them on /metrics for Prometheus.
//
//   sidecar  --run ID --pid PID   into run ID; ends when PID exits
//   node     --server URL         into run node-<hostname> of project
//                                 --project (default "nodes"), created or
//                                 resumed at start, finished at exit
//   scrape   --listen HOST:PORT   /metrics (with or without a server)
//
// Threads: the main thread collects on a fixed schedule and waits for
// signals (sigtimedwait) in between; a sender thread delivers batches; the
// /metrics server runs on its own I/O thread. Delivery survives the server
// going away: batches wait in memory (bounded by --buffer-bytes), the oldest
// spill to <spool>/<run>/batches.jsonl (the SDKs' spool format,
// notes/protocol.md), and both are replayed in order when the server
// answers again. The server drops exact duplicates, so a batch sent twice
// (its answer lost) costs nothing.
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <thread>

#include <fmt/format.h>
#include <simdjson.h>
#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "cli/server_connection.h"
#include "collect/gpu_collector.h"
#include "collect/host_collector.h"
#include "collect/log_body.h"
#include "collect/prometheus_text.h"
#include "core/clock.h"
#include "core/duration.h"
#include "core/json_writer.h"
#include "core/names.h"
#include "server/http_server.h"
#include "server/router.h"

namespace vigil::cli {
namespace {

namespace fs = std::filesystem;

struct AgentFlags {
  ServerFlags server;
  std::string interval = "1s";
  std::string run;
  int pid = 0;
  std::string listen;
  std::string project = "nodes";
  std::string spool_dir;
  int64_t buffer_bytes = 64ll << 20;
  std::string duration;  // stop after this long (tests, benchmarks)
  // NAME=VALUE labels added to every series (e.g. node=<host> for the
  // ranks of a distributed run, docs/distributed.md).
  std::vector<std::string> labels;
};

// Parses --label NAME=VALUE flags; InvalidArgument naming the bad one.
Result<collect::Labels> ParseLabelFlags(const std::vector<std::string>& flags) {
  collect::Labels out;
  for (const std::string& f : flags) {
    const size_t eq = f.find('=');
    if (eq == std::string::npos || eq == 0) {
      return Status::InvalidArgument(fmt::format("--label \"{}\": expected NAME=VALUE", f));
    }
    std::string name = f.substr(0, eq), value = f.substr(eq + 1);
    if (Status s = ValidateLabelName(name); !s.ok()) return s.WithContext("--label " + f);
    if (Status s = ValidateLabelValue(value); !s.ok()) return s.WithContext("--label " + f);
    out.emplace_back(std::move(name), std::move(value));
  }
  return out;
}

void Log(const std::string& line) {
  fmt::print(stderr, "vigil agent: {}\n", line);
  std::fflush(stderr);
}

// Counters for the agent's own /metrics. Written by any thread.
struct AgentStats {
  std::atomic<uint64_t> rounds{0};
  std::atomic<uint64_t> delivered{0};
  std::atomic<uint64_t> spilled{0};
  std::atomic<uint64_t> rejected{0};
  std::atomic<uint64_t> buffered{0};
  std::atomic<uint64_t> delivery_errors{0};
  std::atomic<int64_t> last_collect_ns{0};
};

// Delivers log bodies to one run, in order, through memory then the spool.
class Sender {
 public:
  // `create_body`: POSTed to /api/v1/runs before the first batch (node
  // mode), empty for none. `run_json`: the spool's run.json.
  Sender(client::HttpClient http, std::string run, std::string create_body, std::string run_json,
         std::string spool, size_t max_bytes, AgentStats* stats)
      : http_(std::move(http)),
        run_(std::move(run)),
        create_body_(std::move(create_body)),
        run_json_(std::move(run_json)),
        spool_dir_(std::move(spool)),
        max_bytes_(max_bytes),
        stats_(stats) {
    thread_ = std::thread([this] { Loop(); });
  }
  ~Sender() { Stop(std::chrono::milliseconds(0)); }

  void Push(std::string body) {
    std::lock_guard lock(mu_);
    bytes_ += body.size();
    queue_.push_back(std::move(body));
    // Over the bound: the oldest batches go to disk (they are older than
    // anything in memory, and the spool is replayed first).
    while (bytes_ > max_bytes_ && !queue_.empty()) {
      if (!Spill(queue_.front())) break;
      bytes_ -= queue_.front().size();
      queue_.pop_front();
    }
    stats_->buffered = queue_.size();
    cv_.notify_all();
  }

  // Tries to deliver what is queued for up to `grace`, then spills the
  // rest and stops the thread.
  void Stop(std::chrono::milliseconds grace) {
    {
      std::unique_lock lock(mu_);
      if (stopped_) return;
      cv_.wait_for(lock, grace, [&] { return queue_.empty() && !SpoolHasData(); });
      stopping_ = true;
      cv_.notify_all();
    }
    thread_.join();
    std::lock_guard lock(mu_);
    for (const auto& b : queue_) Spill(b);
    if (!queue_.empty() || SpoolHasData()) {
      Log(fmt::format("undelivered samples are in {}; send them with: vigil sync {}", RunDir(),
                      RunDir()));
    }
    queue_.clear();
    stopped_ = true;
  }

 private:
  std::string RunDir() const { return spool_dir_ + "/" + run_; }
  std::string SpoolFile() const { return RunDir() + "/batches.jsonl"; }
  bool SpoolHasData() const {
    std::error_code ec;
    return fs::exists(SpoolFile(), ec) && fs::file_size(SpoolFile(), ec) > 0;
  }

  // REQUIRES: mu_ held.
  bool Spill(const std::string& body) {
    std::error_code ec;
    fs::create_directories(RunDir(), ec);
    if (!fs::exists(RunDir() + "/run.json")) {
      std::ofstream(RunDir() + "/run.json") << run_json_ << "\n";
    }
    std::ofstream out(SpoolFile(), std::ios::app);
    out << body << "\n";
    out.flush();
    if (!out) {
      if (!spill_error_reported_) Log(fmt::format("cannot write {}: samples dropped", SpoolFile()));
      spill_error_reported_ = true;
      return false;
    }
    stats_->spilled++;
    return true;
  }

  enum class Outcome { kDelivered, kRetry, kRejected };

  Outcome Post(const std::string& target, std::string body) {
    auto r = http_.Post(target, std::move(body));
    if (!r.ok()) {
      ReportDown(r.status().message());
      return Outcome::kRetry;
    }
    if (r->status >= 200 && r->status < 300) {
      if (down_) Log("server reachable again; delivering buffered samples");
      down_ = false;
      return Outcome::kDelivered;
    }
    if (r->status >= 500 || r->status == 408 || r->status == 429) {
      ReportDown(fmt::format("HTTP {}", r->status));
      return Outcome::kRetry;
    }
    Log(fmt::format("the server rejected a batch (HTTP {}): {}", r->status,
                    r->body.substr(0, 300)));
    stats_->rejected++;
    return Outcome::kRejected;
  }

  void ReportDown(const std::string& why) {
    stats_->delivery_errors++;
    if (!down_) Log(fmt::format("server unreachable ({}); buffering", why));
    down_ = true;
  }

  // Waits `backoff` unless stopping; false when stopping.
  bool Backoff(std::chrono::milliseconds* backoff) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, *backoff, [&] { return stopping_; });
    *backoff = std::min(*backoff * 2, std::chrono::milliseconds(10'000));
    return !stopping_;
  }

  void Loop() {
    std::chrono::milliseconds backoff(250);
    const std::string log_target = fmt::format("/api/v1/runs/{}/log?commands=none", run_);
    bool created = create_body_.empty();
    for (;;) {
      if (!created) {
        Outcome o = Post("/api/v1/runs", create_body_);
        if (o == Outcome::kRetry) {
          if (!Backoff(&backoff)) return;
          continue;
        }
        if (o == Outcome::kRejected) Log("could not create the node run; logging anyway");
        created = true;
      }
      // 1. The spool, oldest first.
      std::vector<std::string> lines;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return stopping_ || !queue_.empty() || SpoolHasData(); });
        if (stopping_) return;
        if (SpoolHasData()) {
          std::ifstream in(SpoolFile());
          for (std::string line; std::getline(in, line);) {
            if (!line.empty()) lines.push_back(std::move(line));
          }
          std::error_code ec;
          fs::remove(SpoolFile(), ec);
        }
      }
      if (!lines.empty()) {
        size_t i = 0;
        for (; i < lines.size(); ++i) {
          Outcome o = Post(log_target, lines[i]);
          if (o == Outcome::kRetry) break;
          if (o == Outcome::kDelivered) stats_->delivered++;
        }
        if (i < lines.size()) {
          // Put back what is left, ahead of anything spilled meanwhile.
          std::lock_guard lock(mu_);
          std::string later;
          if (std::ifstream in(SpoolFile()); in) {
            later.assign(std::istreambuf_iterator<char>(in), {});
          }
          std::ofstream out(SpoolFile(), std::ios::trunc);
          for (; i < lines.size(); ++i) out << lines[i] << "\n";
          out << later;
        }
        if (i < lines.size() && !Backoff(&backoff)) return;
        continue;
      }
      // 2. Memory, oldest first.
      std::string body;
      {
        std::lock_guard lock(mu_);
        if (queue_.empty()) continue;
        body = queue_.front();
      }
      Outcome o = Post(log_target, body);
      if (o == Outcome::kRetry) {
        if (!Backoff(&backoff)) return;
        continue;
      }
      backoff = std::chrono::milliseconds(250);
      if (o == Outcome::kDelivered) stats_->delivered++;
      std::lock_guard lock(mu_);
      // The front may have been spilled meanwhile (then it is resent from
      // the spool: a duplicate the server drops).
      if (!queue_.empty() && queue_.front() == body) {
        bytes_ -= body.size();
        queue_.pop_front();
      }
      stats_->buffered = queue_.size();
      cv_.notify_all();
    }
  }

  client::HttpClient http_;  // used by the sender thread only
  const std::string run_, create_body_, run_json_, spool_dir_;
  const size_t max_bytes_;
  AgentStats* stats_;
  std::thread thread_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;      // GUARDED_BY(mu_)
  size_t bytes_ = 0;                   // GUARDED_BY(mu_)
  bool stopping_ = false;              // GUARDED_BY(mu_)
  bool stopped_ = false;               // GUARDED_BY(mu_)
  bool spill_error_reported_ = false;  // GUARDED_BY(mu_)
  bool down_ = false;                  // sender thread only
};

// The samples of the last round, for /metrics: a series that stopped (a
// lost GPU's utilisation, a process that left the GPU) leaves the
// exposition. Sparse series (an XID seen once, a field reported unsupported
// once) keep their last value.
class Latest {
 public:
  void Update(const collect::SampleSet& set) {
    std::vector<collect::Sample> next = set.samples;
    std::lock_guard lock(mu_);
    for (auto& s : samples_) {
      if (s.metric != "sys/gpu/xid" && s.metric != "sys/gpu/unsupported") continue;
      bool again = false;
      for (const auto& n : set.samples)
        again = again || (n.metric == s.metric && n.labels == s.labels);
      if (!again) next.push_back(std::move(s));
    }
    samples_ = std::move(next);
  }
  std::vector<collect::Sample> Snapshot() const {
    std::lock_guard lock(mu_);
    return samples_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<collect::Sample> samples_;  // GUARDED_BY(mu_)
};

std::string SelfMetrics(const AgentStats& st) {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  double cpu = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
               static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  long rss_pages = 0;
  if (std::ifstream in("/proc/self/statm"); in) {
    long size = 0;
    in >> size >> rss_pages;
  }
  std::string out;
  auto metric = [&](const char* name, const char* type, const char* help, double v) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n{} {}\n", name, help, name, type, name, v);
  };
  metric("vigil_agent_rounds_total", "counter", "Collection rounds.", st.rounds.load());
  metric("vigil_agent_last_round_seconds", "gauge", "Time the last round took.",
         static_cast<double>(st.last_collect_ns.load()) / 1e9);
  metric("vigil_agent_delivered_batches_total", "counter", "Batches the server accepted.",
         st.delivered.load());
  metric("vigil_agent_spilled_batches_total", "counter", "Batches written to the spool.",
         st.spilled.load());
  metric("vigil_agent_rejected_batches_total", "counter", "Batches the server refused (4xx).",
         st.rejected.load());
  metric("vigil_agent_delivery_errors_total", "counter", "Failed delivery attempts.",
         st.delivery_errors.load());
  metric("vigil_agent_buffered_batches", "gauge", "Batches waiting in memory.", st.buffered.load());
  metric("process_cpu_seconds_total", "counter", "CPU time of the agent.", cpu);
  metric("process_resident_memory_bytes", "gauge", "Resident memory of the agent.",
         static_cast<double>(rss_pages) * static_cast<double>(sysconf(_SC_PAGESIZE)));
  return out;
}

Status ParseHostPort(const std::string& listen, server::HttpServerOptions* http) {
  auto colon = listen.rfind(':');
  unsigned port = 0;
  if (colon == std::string::npos || colon == 0) {
    return Status::InvalidArgument(fmt::format("--listen \"{}\" is not HOST:PORT", listen));
  }
  std::string_view p(listen.data() + colon + 1, listen.size() - colon - 1);
  auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), port);
  if (ec != std::errc() || end != p.data() + p.size() || port > 65535) {
    return Status::InvalidArgument(fmt::format("--listen \"{}\": bad port", listen));
  }
  http->host = listen.substr(0, colon);
  http->port = static_cast<uint16_t>(port);
  return Status::OK();
}

// Like Connect(), with a short timeout: a hung server must neither stall
// the sampling loop nor delay the agent's exit for long.
client::HttpClient MakeClient(const ServerFlags& flags, std::chrono::milliseconds timeout) {
  std::string url = flags.server;
  if (url.empty()) {
    const char* env = std::getenv("VIGIL_SERVER");
    url = env && *env ? env : "http://127.0.0.1:7070";
  }
  client::HttpClientOptions options;
  options.timeout = timeout;
  options.bearer_token = flags.token;
  if (options.bearer_token.empty()) {
    if (const char* env = std::getenv("VIGIL_TOKEN")) options.bearer_token = env;
  }
  options.user_agent = "vigil-agent/0.1";
  return client::HttpClient(url, options);
}

std::string Hostname() {
  char buf[256] = {};
  if (gethostname(buf, sizeof(buf) - 1) != 0) return "unknown";
  return buf;
}

std::string DefaultSpoolDir() {
  if (const char* env = std::getenv("VIGIL_SPOOL_DIR"); env && *env) return env;
  const char* home = std::getenv("HOME");
  return std::string(home && *home ? home : "/tmp") + "/.cache/vigil/spool";
}

int RunAgent(const AgentFlags& f) {
  auto interval_ms = ParseDurationMillis(f.interval);
  if (!interval_ms.ok() || *interval_ms < 10) {
    Log(fmt::format("--interval \"{}\": expected a duration of at least 10ms", f.interval));
    return 2;
  }
  std::optional<int64_t> duration_ms;
  if (!f.duration.empty()) {
    auto d = ParseDurationMillis(f.duration);
    if (!d.ok()) {
      Log(fmt::format("--duration: {}", d.status().message()));
      return 2;
    }
    duration_ms = *d;
  }
  if (!f.run.empty() && f.pid <= 0) {
    Log("--run needs --pid (the process whose tree to watch)");
    return 2;
  }
  if (f.run.empty() && f.pid > 0) {
    Log("--pid needs --run");
    return 2;
  }
  if (!f.run.empty()) {
    if (Status s = ValidateRunId(f.run); !s.ok()) {
      Log(fmt::format("--run: {}", s.message()));
      return 2;
    }
  }
  const bool sidecar = !f.run.empty();
  const bool has_server = sidecar || !f.server.server.empty() || std::getenv("VIGIL_SERVER");
  if (!has_server && f.listen.empty()) {
    Log("nothing to do: give --server URL (node mode), --run ID --pid PID (sidecar) or --listen");
    return 2;
  }

  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);

  auto extra_labels = ParseLabelFlags(f.labels);
  if (!extra_labels.ok()) {
    Log(extra_labels.status().message());
    return 2;
  }
  const std::string host = Hostname();
  collect::HostCollector host_collector;
  std::optional<collect::ProcessTreeCollector> tree;
  if (sidecar) {
    tree.emplace(f.pid);
    if (!collect::ProcFs().Exists(f.pid)) {
      Log(fmt::format("process {} does not exist", f.pid));
      return 1;
    }
  }
  std::unique_ptr<collect::GpuCollector> gpus;
  if (auto g = collect::GpuCollector::Open(); g.ok()) {
    gpus = std::move(*g);
    Log(fmt::format("{} NVIDIA GPU(s), driver {}", gpus->gpu_count(), gpus->driver_version()));
  } else {
    Log(fmt::format("{}; host metrics only", g.status().message()));
  }

  AgentStats stats;
  Latest latest;
  std::unique_ptr<server::HttpServer> http;
  server::Router router;
  if (!f.listen.empty()) {
    server::HttpServerOptions o;
    if (Status s = ParseHostPort(f.listen, &o); !s.ok()) {
      Log(s.message());
      return 2;
    }
    o.threads = 1;
    o.max_connections = 64;
    o.max_body_bytes = 1 << 16;
    collect::Labels extra{{"Hostname", host}};
    if (sidecar) extra.emplace_back("run", f.run);
    router.Add("GET", "/metrics",
               [&latest, &stats, extra](server::HttpRequest&, server::Responder r) {
                 std::string body =
                     collect::RenderPrometheus(latest.Snapshot(), extra) + SelfMetrics(stats);
                 r.Send(server::HttpResponse::Text(200, std::move(body),
                                                   "text/plain; version=0.0.4; charset=utf-8"));
               });
    http = std::make_unique<server::HttpServer>(
        o, [&router](server::HttpRequest& req, server::Responder res) {
          router.Dispatch(req, std::move(res));
        });
    if (Status s = http->Start(); !s.ok()) {
      Log(fmt::format("--listen {}: {}", f.listen, s.message()));
      return 1;
    }
    Log(fmt::format("serving /metrics on http://{}:{}/metrics", o.host, http->port()));
  }

  std::unique_ptr<Sender> sender;
  std::string run_id = sidecar ? f.run : collect::NodeRunId(host);
  client::HttpClient info_http = MakeClient(f.server, std::chrono::milliseconds(2000));
  if (has_server) {
    std::string create, run_json;
    if (!sidecar) {
      JsonWriter w;
      w.BeginObject().Field("project", f.project).Field("id", run_id).Field("name", host);
      w.Key("tags").BeginArray().String("node").EndArray();
      w.Key("config").BeginObject().Field("hostname", host).EndObject();
      w.EndObject();
      create = run_json = w.Take();
    } else {
      // The spool's run.json needs the run's project (for `vigil sync`).
      std::string project = "default";
      auto r = info_http.Get(fmt::format("/api/v1/runs/{}", run_id));
      if (r.ok() && r->status == 200) {
        simdjson::dom::parser parser;
        std::string_view p;
        if (parser.parse(r->body)["project"].get_string().get(p) == simdjson::SUCCESS) {
          project = std::string(p);
        }
      }
      JsonWriter w;
      w.BeginObject().Field("project", project).Field("id", run_id).EndObject();
      run_json = w.Take();
    }
    sender = std::make_unique<Sender>(MakeClient(f.server, std::chrono::milliseconds(5000)), run_id,
                                      create, run_json,
                                      f.spool_dir.empty() ? DefaultSpoolDir() : f.spool_dir,
                                      static_cast<size_t>(f.buffer_bytes), &stats);
    Log(fmt::format("{} mode: logging into run {} every {}", sidecar ? "sidecar" : "node", run_id,
                    f.interval));
  }

  const int64_t start_ns = MonotonicNanos();
  int64_t next_ns = start_ns;
  bool info_sent = false;
  int info_tries = 0;
  int exit_code = 0;
  for (;;) {
    const int64_t t0 = MonotonicNanos();
    collect::SampleSet samples;
    samples.time_ms = UnixMillis();
    if (Status s = host_collector.Collect(t0, &samples); !s.ok()) {
      Log(fmt::format("host metrics: {}", s.message()));
    }
    const std::vector<int>* pids = nullptr;
    if (tree) {
      Status s = tree->Collect(t0, &samples);
      if (s.code() == StatusCode::kNotFound) {
        Log(fmt::format("process {} exited; stopping", f.pid));
        break;
      }
      pids = &tree->pids();
    }
    if (gpus) gpus->Collect(t0, pids, &samples);
    for (collect::Sample& sample : samples.samples) {
      sample.labels.insert(sample.labels.end(), extra_labels->begin(), extra_labels->end());
    }
    for (const auto& n : samples.notices) Log(n);
    stats.rounds++;
    stats.last_collect_ns = MonotonicNanos() - t0;
    latest.Update(samples);
    if (sender) {
      // Once the server has taken a batch (the run exists), a few tries.
      if (!info_sent && gpus && stats.delivered > 0 && info_tries++ < 5) {
        // GPU names and driver version as run info: config {"sys": {...}}.
        JsonWriter w;
        w.BeginObject().Key("config").BeginObject().Key("sys").BeginObject();
        for (const auto& [k, v] : gpus->Info()) w.Field(k, v);
        w.EndObject().EndObject().EndObject();
        auto r = info_http.Request("PATCH", fmt::format("/api/v1/runs/{}", run_id), w.Take());
        info_sent = r.ok() && r->status < 300;
      }
      sender->Push(collect::EncodeLogBody(samples));
    }
    if (duration_ms && MonotonicNanos() - start_ns >= *duration_ms * 1'000'000) break;
    next_ns += *interval_ms * 1'000'000;
    const int64_t now = MonotonicNanos();
    if (next_ns < now) next_ns = now;  // fell behind: do not burst
    const int64_t wait = next_ns - now;
    timespec ts{static_cast<time_t>(wait / 1'000'000'000), static_cast<long>(wait % 1'000'000'000)};
    int sig = sigtimedwait(&set, nullptr, &ts);
    if (sig == SIGINT || sig == SIGTERM) {
      Log(fmt::format("{}, stopping", sig == SIGINT ? "SIGINT" : "SIGTERM"));
      break;
    }
  }
  if (sender) {
    sender->Stop(std::chrono::milliseconds(3000));
    if (!sidecar) {
      auto r = info_http.Request("PATCH", fmt::format("/api/v1/runs/{}", run_id),
                                 R"({"state":"finished"})");
      (void)r;
    }
  }
  if (http) http->Stop(std::chrono::milliseconds(1000));
  return exit_code;
}

}  // namespace

void AddAgentCommand(CLI::App* app, int* exit_code) {
  auto flags = std::make_shared<AgentFlags>();
  CLI::App* cmd = app->add_subcommand(
      "agent",
      "Sample GPUs (NVML), the host and a process tree; log them to a server and/or "
      "serve /metrics");
  AddServerFlags(cmd, &flags->server);
  cmd->add_option("--interval", flags->interval, "Sampling interval (default 1s)");
  cmd->add_option("--run", flags->run, "Sidecar mode: log into this run (needs --pid)");
  cmd->add_option("--pid", flags->pid,
                  "Sidecar mode: the process whose tree to watch; the "
                  "agent exits when it exits");
  cmd->add_option("--listen", flags->listen, "Serve /metrics on HOST:PORT (e.g. 127.0.0.1:9400)");
  cmd->add_option("--project", flags->project,
                  "Node mode: the project of the node run "
                  "(default nodes)");
  cmd->add_option("--spool", flags->spool_dir,
                  "Where undeliverable samples spill (default $VIGIL_SPOOL_DIR, else "
                  "~/.cache/vigil/spool)");
  cmd->add_option("--buffer-bytes", flags->buffer_bytes,
                  "Samples kept in memory while the server is away before spilling "
                  "(default 64 MiB)");
  cmd->add_option("--duration", flags->duration, "Stop after this long (e.g. 20s)");
  cmd->add_option("--label", flags->labels,
                  "NAME=VALUE added to every series (repeatable; e.g. node=gpu-07)");
  cmd->callback([flags, exit_code] { *exit_code = RunAgent(*flags); });
}

}  // namespace vigil::cli
