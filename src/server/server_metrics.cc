#include "server/server_metrics.h"

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

#include <fmt/format.h>

#include "core/clock.h"

namespace vigil::server {

void AppendPrometheusValue(std::string* out, double v) {
  if (std::isnan(v)) {
    out->append("NaN");
  } else if (std::isinf(v)) {
    out->append(v > 0 ? "+Inf" : "-Inf");
  } else {
    fmt::format_to(std::back_inserter(*out), "{}", v);
  }
}

void AppendPrometheusLabelValue(std::string* out, std::string_view v) {
  out->push_back('"');
  for (char c : v) {
    if (c == '\\') {
      out->append("\\\\");
    } else if (c == '"') {
      out->append("\\\"");
    } else if (c == '\n') {
      out->append("\\n");
    } else {
      out->push_back(c);
    }
  }
  out->push_back('"');
}

void Histogram::Observe(double seconds) {
  seconds = std::max(0.0, seconds);
  size_t i = 0;
  while (i < bounds_.size() && seconds > bounds_[i]) ++i;
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  sum_nanos_.fetch_add(static_cast<uint64_t>(seconds * 1e9), std::memory_order_relaxed);
}

void Histogram::Render(std::string* out, std::string_view name, std::string_view labels) const {
  uint64_t cumulative = 0;
  std::string sep = labels.empty() ? "" : ",";
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    cumulative += counts_[i].load(std::memory_order_relaxed);
    std::string le = i < bounds_.size() ? fmt::format("{}", bounds_[i]) : "+Inf";
    fmt::format_to(std::back_inserter(*out), "{}_bucket{{{}{}le=\"{}\"}} {}\n", name, labels, sep,
                   le, cumulative);
  }
  std::string braces = labels.empty() ? "" : fmt::format("{{{}}}", labels);
  fmt::format_to(std::back_inserter(*out), "{}_sum{} {}\n{}_count{} {}\n", name, braces,
                 static_cast<double>(sum_nanos_.load(std::memory_order_relaxed)) / 1e9, name,
                 braces, cumulative);
}

ServerMetrics::ServerMetrics() : start_time_ms_(UnixMillis()) {}

void ServerMetrics::ObserveRequest(std::string_view method, std::string_view route, int status,
                                   double seconds) {
  RouteStats* stats;
  {
    std::lock_guard lock(mu_);
    std::string key = fmt::format("{} {}", method, route);
    auto it = routes_.find(key);
    if (it == routes_.end()) it = routes_.try_emplace(std::move(key)).first;
    stats = &it->second;
    ++stats->by_status[status];
  }
  stats->latency.Observe(seconds);
}

namespace {

// Process metrics in the form of client libraries' process collectors.
void RenderProcess(std::string* out, int64_t start_time_ms) {
  double cpu = 0;
  uint64_t rss = 0, vsize = 0;
  std::ifstream stat("/proc/self/stat");
  std::string line;
  if (std::getline(stat, line)) {
    // Fields after the command name, which is in parentheses and may hold spaces.
    auto close = line.rfind(')');
    std::istringstream rest(line.substr(close + 2));
    std::string f;
    uint64_t utime = 0, stime = 0;
    for (int i = 3; rest >> f; ++i) {
      if (i == 14) utime = std::stoull(f);
      if (i == 15) stime = std::stoull(f);
      if (i == 23) vsize = std::stoull(f);
      if (i == 24) {
        rss = std::stoull(f) * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
        break;
      }
    }
    cpu = static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
  }
  uint64_t fds = 0;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    ++fds;
  }
  fmt::format_to(
      std::back_inserter(*out),
      "# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.\n"
      "# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total {}\n"
      "# HELP process_resident_memory_bytes Resident memory size in bytes.\n"
      "# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes {}\n"
      "# HELP process_virtual_memory_bytes Virtual memory size in bytes.\n"
      "# TYPE process_virtual_memory_bytes gauge\nprocess_virtual_memory_bytes {}\n"
      "# HELP process_open_fds Number of open file descriptors.\n"
      "# TYPE process_open_fds gauge\nprocess_open_fds {}\n"
      "# HELP process_start_time_seconds Start time of the process since unix epoch in seconds.\n"
      "# TYPE process_start_time_seconds gauge\nprocess_start_time_seconds {}\n",
      cpu, rss, vsize, fds, static_cast<double>(start_time_ms) / 1000.0);
}

}  // namespace

void ServerMetrics::Render(std::string* out) const {
  auto counter = [&](std::string_view name, std::string_view help, uint64_t v) {
    fmt::format_to(std::back_inserter(*out), "# HELP {} {}\n# TYPE {} counter\n{} {}\n", name, help,
                   name, name, v);
  };
  counter("vigil_ingest_points_total", "Points stored by the log endpoint.", ingest_points.load());
  counter("vigil_ingest_duplicate_points_total",
          "Points dropped because they repeated a stored point exactly.", ingest_duplicates.load());
  counter("vigil_ingest_batches_total", "Batches stored by the log endpoint.",
          ingest_batches.load());
  counter("vigil_ingest_bytes_total", "Request body bytes received by the log endpoint.",
          ingest_bytes.load());
  counter("vigil_ingest_rejected_batches_total",
          "Batches refused: invalid input, limits exceeded, or overload.", ingest_rejected.load());

  std::lock_guard lock(mu_);
  out->append(
      "# HELP vigil_http_requests_total HTTP requests answered, by method, route and status code.\n"
      "# TYPE vigil_http_requests_total counter\n");
  for (const auto& [key, stats] : routes_) {
    auto space = key.find(' ');
    std::string labels = "method=\"" + key.substr(0, space) + "\",route=";
    AppendPrometheusLabelValue(&labels, key.substr(space + 1));
    for (const auto& [status, n] : stats.by_status) {
      fmt::format_to(std::back_inserter(*out), "vigil_http_requests_total{{{},code=\"{}\"}} {}\n",
                     labels, status, n);
    }
  }
  out->append(
      "# HELP vigil_http_request_duration_seconds Time from a request's arrival to its answer.\n"
      "# TYPE vigil_http_request_duration_seconds histogram\n");
  for (const auto& [key, stats] : routes_) {
    auto space = key.find(' ');
    std::string labels = "method=\"" + key.substr(0, space) + "\",route=";
    AppendPrometheusLabelValue(&labels, key.substr(space + 1));
    stats.latency.Render(out, "vigil_http_request_duration_seconds", labels);
  }
  RenderProcess(out, start_time_ms_);
}

}  // namespace vigil::server
