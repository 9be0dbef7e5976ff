// Tests of the resource detectors: gpu_idle, memory_growth, throttling,
// hw_error.
#include <gtest/gtest.h>

#include <cmath>

#include "analysis/detectors/detector_test_util.h"
#include "testing/testing.h"

namespace vigil::analysis {
namespace {

using testing::Feed;
using testing::Firings;
using testing::Make;

constexpr double kGiB = 1024.0 * 1024 * 1024;

TEST(GpuIdleTest, SustainedLowUtilisationFiresAfterTheSpan) {
  std::vector<double> v(100, 95);
  v.resize(400, 2);  // idle from index 100, one sample per second
  auto d = Make("gpu_idle", {}, "sys/gpu/utilization");
  auto f = Firings(Feed(d.get(), v));
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].index, 220u);  // 120 s after the first low sample
  EXPECT_NE(f[0].finding.message.find("below 10% for 2 min"), std::string::npos);
}

TEST(GpuIdleTest, ShortDipsAndEvalPausesAreQuiet) {
  std::vector<double> v;
  for (int i = 0; i < 2000; ++i) v.push_back(i % 500 < 60 ? 3 : 90);  // 60 s pauses
  auto d = Make("gpu_idle");
  EXPECT_TRUE(Feed(d.get(), v).empty());
}

TEST(GpuIdleTest, BusyAgainResolvesWithHysteresis) {
  std::vector<double> v(200, 1);
  v.push_back(12);  // above 10 but under 10 + 5: neither low nor busy
  v.push_back(50);
  auto d = Make("gpu_idle");
  auto hits = Feed(d.get(), v);
  ASSERT_EQ(hits.size(), 2u);
  EXPECT_EQ(hits[1].finding.transition, Transition::kResolved);
  EXPECT_EQ(hits[1].index, 201u);
}

std::vector<double> Memory(size_t n, double level, double per_sample, size_t from,
                           std::mt19937_64& rng) {
  std::normal_distribution<double> z(0, 0.002);
  std::vector<double> v;
  for (size_t i = 0; i < n; ++i) {
    double x = level + (i >= from ? per_sample * static_cast<double>(i - from) : 0);
    v.push_back(x * (1 + z(rng)));
  }
  return v;
}

TEST(MemoryGrowthTest, LeakFiresWithForecast) {
  auto rng = vigil::testing::SeededRng();
  // 5 s samples, +20 GiB/h from sample 300, limit 80 GiB.
  auto v = Memory(1500, 30 * kGiB, 20 * kGiB / 3600 * 5, 300, rng);
  auto d =
      Make("memory_growth", {{"limit", std::to_string(80 * kGiB)}}, "sys/gpu/memory_used_bytes");
  auto f = Firings(Feed(d.get(), v, 0, 5000));
  ASSERT_EQ(f.size(), 1u);
  EXPECT_GT(f[0].index, 300u);
  EXPECT_LT(f[0].index, 800u);
  ASSERT_TRUE(f[0].finding.seconds_to_limit.has_value());
  double used = v[f[0].index];
  double expect = (80 * kGiB - used) / (20 * kGiB / 3600);
  EXPECT_NEAR(*f[0].finding.seconds_to_limit, expect, 0.25 * expect);
  EXPECT_NE(f[0].finding.message.find("reaches 80 GiB in"), std::string::npos);
}

TEST(MemoryGrowthTest, FlatMemoryWithStepsIsQuiet) {
  auto rng = vigil::testing::SeededRng();
  auto v = Memory(3000, 30 * kGiB, 0, 0, rng);
  for (size_t i = 0; i < v.size(); ++i) {
    if (i % 700 > 600) v[i] *= 1.08;  // evaluation allocates, then frees
    if (i > 1500) v[i] *= 1.1;        // one permanent step up
  }
  auto d = Make("memory_growth");
  EXPECT_TRUE(Feed(d.get(), v, 0, 5000).empty());
}

TEST(MemoryGrowthTest, NoLimitMeansNoForecast) {
  auto rng = vigil::testing::SeededRng();
  auto v = Memory(1500, 30 * kGiB, 20 * kGiB / 3600 * 5, 300, rng);
  auto d = Make("memory_growth", {}, "sys/gpu/memory_used_bytes");
  auto f = Firings(Feed(d.get(), v, 0, 5000));
  ASSERT_EQ(f.size(), 1u);
  EXPECT_FALSE(f[0].finding.seconds_to_limit.has_value());
}

TEST(MemoryGrowthTest, HorizonDefersFarForecasts) {
  auto rng = vigil::testing::SeededRng();
  auto v = Memory(1500, 30 * kGiB, 20 * kGiB / 3600 * 5, 300, rng);
  auto d =
      Make("memory_growth", {{"limit", std::to_string(8000 * kGiB)}, {"horizon_seconds", "3600"}});
  EXPECT_TRUE(Firings(Feed(d.get(), v, 0, 5000)).empty());
}

TEST(ThrottlingTest, FlagForThreePointsFiresAndClearsResolves) {
  auto d = Make("throttling", {}, "sys/gpu/throttle/thermal");
  auto hits = Feed(d.get(), {0, 1, 0, 1, 1, 1, 1, 0, 0, 0});
  ASSERT_EQ(hits.size(), 2u);
  EXPECT_EQ(hits[0].index, 5u);
  EXPECT_EQ(hits[1].finding.transition, Transition::kResolved);
  EXPECT_EQ(hits[1].index, 9u);
}

TEST(ThrottlingTest, BenignBitsOfAMaskAreIgnored) {
  auto d = Make("throttling", {{"ignore_mask", "0x113"}, {"for_points", "1"}});
  EXPECT_TRUE(Feed(d.get(), {1, 2, 0x10, 0x100, 0x113}).empty());
  auto hits = Feed(d.get(), {0x41});  // idle + hardware thermal slowdown
  EXPECT_EQ(hits.size(), 1u);
  EXPECT_FALSE(MakeDetector("throttling", {{"ignore_mask", "-1"}}, "s").ok());
}

TEST(HwErrorTest, CounterIncreaseFiresAndQuietResolves) {
  auto d = Make("hw_error", {{"quiet_points", "3"}}, "sys/gpu/ecc_uncorrected_total");
  auto hits = Feed(d.get(), {4, 4, 5, 5, 7, 7, 7, 7});
  ASSERT_EQ(hits.size(), 2u);
  EXPECT_EQ(hits[0].index, 2u);  // the first point is the baseline: 4 old errors are not news
  EXPECT_NE(hits[0].finding.message.find("rose by 1 to 5"), std::string::npos);
  EXPECT_EQ(hits[1].finding.transition, Transition::kResolved);
  EXPECT_EQ(hits[1].index, 7u);  // the rise at 4 restarted the quiet count
}

TEST(HwErrorTest, CounterResetIsNotAnError) {
  auto d = Make("hw_error");
  EXPECT_TRUE(Feed(d.get(), {9, 9, 0, 0}).empty());
}

TEST(HwErrorTest, XidEventFires) {
  auto d = Make("hw_error", {{"mode", "event"}}, "sys/gpu/xid");
  auto hits = Feed(d.get(), {0, 0, 79});
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_NE(hits[0].finding.message.find("XID 79"), std::string::npos);
  EXPECT_EQ(hits[0].finding.severity, Severity::kCritical);
}

}  // namespace
}  // namespace vigil::analysis
