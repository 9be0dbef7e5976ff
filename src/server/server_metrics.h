// ServerMetrics: the server's own metrics (requests, latencies, ingest
// volume, rejections), kept as lock-free counters and rendered in the
// Prometheus text format by GET /metrics together with storage gauges and
// the latest values of live runs (prometheus_exposition.h).
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <span>
#include <string>
#include <string_view>

namespace vigil::server {

// A Prometheus histogram of seconds with fixed buckets; observations are
// lock-free (one relaxed atomic add per bucket count and one for the sum).
class Histogram {
 public:
  static constexpr size_t kMaxBounds = 24;
  // Upper bounds in seconds, ascending (the +Inf bucket is implicit).
  // REQUIRES: bounds.size() <= kMaxBounds; the bounds outlive the histogram.
  explicit Histogram(std::span<const double> bounds) : bounds_(bounds) {}
  // Negative values count as 0.
  void Observe(double seconds);
  // Appends `name_bucket{labels,le=...}`, `_sum` and `_count` lines.
  void Render(std::string* out, std::string_view name, std::string_view labels) const;

 private:
  const std::span<const double> bounds_;
  std::array<std::atomic<uint64_t>, kMaxBounds + 1> counts_{};
  std::atomic<uint64_t> sum_nanos_{0};
};

// Request latencies.
class LatencyHistogram : public Histogram {
 public:
  static constexpr std::array<double, 14> kBounds = {
      0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5};
  LatencyHistogram() : Histogram(kBounds) {}
};

// Ingest lag (ServerMetrics::ingest_lag): from milliseconds (a batch sent
// as soon as it was logged) to minutes (a spool replayed after an outage).
inline constexpr std::array<double, 15> kIngestLagBounds = {
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600};

class ServerMetrics {
 public:
  ServerMetrics();

  // One finished request of `route` (the route pattern, so that the label
  // set stays bounded) answered with `status`.
  void ObserveRequest(std::string_view method, std::string_view route, int status, double seconds);

  std::atomic<uint64_t> ingest_points{0};
  std::atomic<uint64_t> ingest_duplicates{0};
  std::atomic<uint64_t> ingest_batches{0};
  std::atomic<uint64_t> ingest_bytes{0};
  std::atomic<uint64_t> ingest_rejected{0};  // batches refused (bad input, limits, overload)
  // Per acknowledged batch: commit time minus the newest point time in it
  // (the client's clock: skew shifts it; replayed spools count in full).
  Histogram ingest_lag{kIngestLagBounds};

  // Appends the families above plus process metrics to `out`.
  void Render(std::string* out) const;

  int64_t start_time_ms() const { return start_time_ms_; }

 private:
  struct RouteStats {
    std::map<int, uint64_t> by_status;  // GUARDED_BY(ServerMetrics::mu_)
    LatencyHistogram latency;
  };
  int64_t start_time_ms_;
  mutable std::mutex mu_;
  // Keyed by "METHOD route"; entries are never removed, so references to
  // a RouteStats stay valid.
  std::map<std::string, RouteStats, std::less<>> routes_;  // GUARDED_BY(mu_)
};

// Appends a sample value in the Prometheus text format (NaN, +Inf, -Inf).
void AppendPrometheusValue(std::string* out, double v);
// Appends `"value"` escaped per the exposition format (\\, \", \n).
void AppendPrometheusLabelValue(std::string* out, std::string_view v);

}  // namespace vigil::server
