#include <gtest/gtest.h>

#include <cmath>

#include "analysis/detectors/detector_test_util.h"
#include "testing/testing.h"

namespace vigil::analysis {
namespace {

using testing::Feed;
using testing::Firings;
using testing::Make;

std::vector<double> Diverging(double rate, size_t at, std::mt19937_64& rng) {
  auto v = testing::LossCurve(at + 300, 0.01, rng);
  for (size_t k = 0; at + k < v.size(); ++k) v[at + k] *= std::exp(rate * static_cast<double>(k));
  return v;
}

TEST(DivergenceTest, SlowRiseFoundWithin50Steps) {
  auto rng = vigil::testing::SeededRng();
  auto v = Diverging(0.003, 2000, rng);
  auto d = Make("divergence");
  auto f = Firings(Feed(d.get(), v));
  ASSERT_EQ(f.size(), 1u);
  EXPECT_GE(f[0].index, 2000u);
  EXPECT_LE(f[0].index, 2050u);
  EXPECT_NE(f[0].finding.message.find("is diverging"), std::string::npos);
  EXPECT_EQ(f[0].finding.severity, Severity::kCritical);
}

TEST(DivergenceTest, FastRiseFoundSooner) {
  auto rng = vigil::testing::SeededRng();
  auto v = Diverging(0.01, 2000, rng);
  auto d = Make("divergence");
  auto f = Firings(Feed(d.get(), v));
  ASSERT_EQ(f.size(), 1u);
  EXPECT_LE(f[0].index, 2035u);
}

TEST(DivergenceTest, DecreasingCurveIsQuiet) {
  auto rng = vigil::testing::SeededRng();
  auto v = testing::LossCurve(20000, 0.02, rng);
  auto d = Make("divergence");
  EXPECT_TRUE(Feed(d.get(), v).empty());
}

TEST(DivergenceTest, ShortSpikeIsNotADivergence) {
  auto rng = vigil::testing::SeededRng();
  auto v = testing::LossCurve(2000, 0.01, rng);
  for (size_t k = 0; k < 5; ++k) v[1500 + k] *= 5;
  auto d = Make("divergence");
  EXPECT_TRUE(Feed(d.get(), v).empty());
}

TEST(DivergenceTest, RecoveryResolves) {
  auto rng = vigil::testing::SeededRng();
  auto v = testing::LossCurve(2000, 0.005, rng);
  for (size_t k = 0; k < 100; ++k) v[1000 + k] *= std::exp(0.01 * static_cast<double>(k));
  auto d = Make("divergence");
  auto hits = Feed(d.get(), v);
  ASSERT_EQ(hits.size(), 2u);
  EXPECT_EQ(hits[0].finding.transition, Transition::kFiring);
  EXPECT_EQ(hits[1].finding.transition, Transition::kResolved);
  EXPECT_GT(hits[1].index, 1100u);
}

TEST(DivergenceTest, ResumptionResolvesAndRelearns) {
  auto rng = vigil::testing::SeededRng();
  auto v = Diverging(0.01, 1000, rng);
  auto d = Make("divergence");
  auto f = Firings(Feed(d.get(), v));
  ASSERT_EQ(f.size(), 1u);
  // Rolled back to step 900: the detector resolves, then watches again.
  auto hits = Feed(d.get(), std::vector<double>(v.begin() + 900, v.begin() + 1000), 900);
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].finding.transition, Transition::kResolved);
  EXPECT_EQ(hits[0].index, 0u);
  EXPECT_FALSE(d->active());
}

TEST(DivergenceTest, NoAlarmBeforeWarmup) {
  std::vector<double> v;
  for (int i = 0; i < 150; ++i) v.push_back(1 + 0.01 * i);  // rising from the start
  auto d = Make("divergence", {{"warmup", "200"}});
  EXPECT_TRUE(Feed(d.get(), v).empty());
}

TEST(DivergenceTest, BadParameters) {
  EXPECT_FALSE(MakeDetector("divergence", {{"window", "2"}}, "s").ok());
  EXPECT_FALSE(MakeDetector("divergence", {{"window", "100000"}}, "s").ok());
  EXPECT_FALSE(MakeDetector("divergence", {{"min_rise", "-1"}}, "s").ok());
}

}  // namespace
}  // namespace vigil::analysis
