#include <gtest/gtest.h>

#include <algorithm>

#include "analysis/detectors/detector.h"

namespace vigil::analysis {
namespace {

std::vector<std::string> Enabled(std::string_view metric, const Labels& labels = {}) {
  std::vector<std::string> out;
  for (const auto& s : DetectorsForMetric(metric, labels)) {
    if (s.enabled) out.push_back(s.detector);
  }
  return out;
}

const DetectorSpec* Find(const std::vector<DetectorSpec>& v, std::string_view name) {
  auto it = std::find_if(v.begin(), v.end(), [&](const auto& s) { return s.detector == name; });
  return it == v.end() ? nullptr : &*it;
}

TEST(DetectorsForMetricTest, LossGetsSpikeDivergenceAndDisabledPlateau) {
  EXPECT_EQ(Enabled("train/loss"), (std::vector<std::string>{"non_finite", "spike", "divergence"}));
  auto specs = DetectorsForMetric("val/Loss", {});
  const DetectorSpec* plateau = Find(specs, "plateau");
  ASSERT_NE(plateau, nullptr);
  EXPECT_FALSE(plateau->enabled);
  EXPECT_EQ(Find(specs, "spike")->params.GetString("direction", ""), "up");
}

TEST(DetectorsForMetricTest, GradNorm) {
  EXPECT_EQ(Enabled("train/grad_norm"),
            (std::vector<std::string>{"non_finite", "grad_explosion", "spike"}));
}

TEST(DetectorsForMetricTest, ThroughputDirectionFromName) {
  auto t = DetectorsForMetric("time/step", {});
  ASSERT_NE(Find(t, "throughput_drop"), nullptr);
  EXPECT_EQ(Find(t, "throughput_drop")->params.GetString("direction", ""), "up");
  auto r = DetectorsForMetric("perf/samples_per_s", {});
  EXPECT_EQ(Find(r, "throughput_drop")->params.GetString("direction", ""), "down");
  auto s = DetectorsForMetric("perf/tokens/s", {});
  EXPECT_EQ(Find(s, "throughput_drop")->params.GetString("direction", ""), "down");
}

TEST(DetectorsForMetricTest, SystemSeries) {
  EXPECT_EQ(Enabled("sys/gpu/utilization"), (std::vector<std::string>{"non_finite", "gpu_idle"}));
  EXPECT_EQ(Enabled("sys/gpu/memory_used_bytes"),
            (std::vector<std::string>{"non_finite", "memory_growth"}));
  EXPECT_EQ(Enabled("sys/gpu/throttle/thermal"),
            (std::vector<std::string>{"non_finite", "throttling"}));
  EXPECT_EQ(Enabled("sys/gpu/xid"), (std::vector<std::string>{"non_finite", "hw_error"}));
  auto ecc = DetectorsForMetric("sys/gpu/ecc_corrected_total", {});
  EXPECT_EQ(Find(ecc, "hw_error")->params.GetString("severity", ""), "warning");
  auto unc = DetectorsForMetric("sys/gpu/ecc_uncorrected_total", {});
  EXPECT_FALSE(Find(unc, "hw_error")->params.Has("severity"));
}

TEST(DetectorsForMetricTest, BenignThrottleReasonGetsNothing) {
  EXPECT_EQ(Enabled("sys/gpu/throttle", {{"reason", "idle"}}),
            (std::vector<std::string>{"non_finite"}));
  auto mask = DetectorsForMetric("sys/gpu/clock_event_reasons", {});
  EXPECT_EQ(Find(mask, "throttling")->params.GetString("ignore_mask", ""), "0x113");
}

TEST(DetectorsForMetricTest, EverythingGetsNonFinite) {
  EXPECT_EQ(Enabled("eval/accuracy"), (std::vector<std::string>{"non_finite"}));
  EXPECT_EQ(Enabled(""), (std::vector<std::string>{"non_finite"}));
}

TEST(DetectorsForMetricTest, EverySpecBuilds) {
  for (std::string_view m :
       {"train/loss", "train/grad_norm", "time/step", "perf/mfu", "sys/gpu/utilization",
        "sys/gpu/memory_used_bytes", "sys/gpu/clock_event_reasons", "sys/gpu/xid",
        "sys/gpu/ecc_corrected_total"}) {
    for (const auto& s : DetectorsForMetric(m, {})) {
      auto d = MakeDetector(s.detector, s.params, m);
      EXPECT_TRUE(d.ok()) << m << " " << s.detector << ": " << d.status().ToString();
    }
  }
}

}  // namespace
}  // namespace vigil::analysis
