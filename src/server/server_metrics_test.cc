#include "server/server_metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <thread>
#include <vector>

namespace vigil::server {
namespace {

constexpr std::array<double, 3> kBounds = {0.01, 0.1, 1};

// The value of one exposition line, "" when absent.
std::string Line(const std::string& text, const std::string& prefix) {
  size_t at = text.find(prefix + " ");
  if (at == std::string::npos) return "";
  size_t end = text.find('\n', at);
  return text.substr(at + prefix.size() + 1, end - at - prefix.size() - 1);
}

TEST(HistogramTest, BucketsAreCumulativeAndUpperBoundsInclusive) {
  Histogram h(kBounds);
  h.Observe(0.01);  // on the bound: in le="0.01"
  h.Observe(0.05);
  h.Observe(1);
  h.Observe(7);  // only in +Inf
  std::string out;
  h.Render(&out, "x", "");
  EXPECT_EQ(Line(out, R"(x_bucket{le="0.01"})"), "1");
  EXPECT_EQ(Line(out, R"(x_bucket{le="0.1"})"), "2");
  EXPECT_EQ(Line(out, R"(x_bucket{le="1"})"), "3");
  EXPECT_EQ(Line(out, R"(x_bucket{le="+Inf"})"), "4");
  EXPECT_EQ(Line(out, "x_count"), "4");
  EXPECT_DOUBLE_EQ(std::stod(Line(out, "x_sum")), 8.06);
}

TEST(HistogramTest, NegativeAndNaNCountAsZero) {
  Histogram h(kBounds);
  h.Observe(-3);  // a client clock ahead of the server's
  h.Observe(std::nan(""));
  std::string out;
  h.Render(&out, "x", "");
  EXPECT_EQ(Line(out, R"(x_bucket{le="0.01"})"), "2");
  EXPECT_EQ(Line(out, "x_sum"), "0");
}

TEST(HistogramTest, LabelsPrecedeLe) {
  Histogram h(kBounds);
  h.Observe(0.5);
  std::string out;
  h.Render(&out, "x", R"(route="/a")");
  EXPECT_EQ(Line(out, R"(x_bucket{route="/a",le="1"})"), "1");
  EXPECT_EQ(Line(out, R"(x_count{route="/a"})"), "1");
}

TEST(HistogramTest, ConcurrentObservationsAllCounted) {
  Histogram h(kBounds);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&h] {
      for (int i = 0; i < 10'000; ++i) h.Observe(0.05);
    });
  }
  for (auto& t : threads) t.join();
  std::string out;
  h.Render(&out, "x", "");
  EXPECT_EQ(Line(out, R"(x_bucket{le="0.01"})"), "0");
  EXPECT_EQ(Line(out, R"(x_bucket{le="0.1"})"), "40000");
  EXPECT_EQ(Line(out, "x_count"), "40000");
}

TEST(HistogramTest, IngestLagBoundsAscendAndFit) {
  static_assert(kIngestLagBounds.size() <= Histogram::kMaxBounds);
  static_assert(LatencyHistogram::kBounds.size() <= Histogram::kMaxBounds);
  for (size_t i = 1; i < kIngestLagBounds.size(); ++i) {
    EXPECT_LT(kIngestLagBounds[i - 1], kIngestLagBounds[i]);
  }
  ServerMetrics m;
  m.ingest_lag.Observe(0.2);
  std::string out;
  m.ingest_lag.Render(&out, "vigil_ingest_lag_seconds", "");
  EXPECT_EQ(Line(out, R"(vigil_ingest_lag_seconds_bucket{le="0.1"})"), "0");
  EXPECT_EQ(Line(out, R"(vigil_ingest_lag_seconds_bucket{le="0.25"})"), "1");
  EXPECT_EQ(Line(out, R"(vigil_ingest_lag_seconds_bucket{le="3600"})"), "1");
}

}  // namespace
}  // namespace vigil::server
