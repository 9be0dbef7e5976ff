#include <gtest/gtest.h>

#include <cmath>

#include "analysis/detectors/detector_test_util.h"
#include "testing/testing.h"

namespace vigil::analysis {
namespace {

using testing::Feed;
using testing::Firings;
using testing::Make;

std::vector<double> StepTimes(size_t n, double base, std::mt19937_64& rng) {
  std::normal_distribution<double> z(0, 0.03);
  std::vector<double> v;
  for (size_t i = 0; i < n; ++i) v.push_back(base * std::exp(z(rng)));
  return v;
}

TEST(ThroughputDropTest, SlowerStepsFoundWithinAFewSteps) {
  auto rng = vigil::testing::SeededRng();
  auto v = StepTimes(1000, 0.4, rng);
  for (size_t i = 600; i < v.size(); ++i) v[i] *= 1.5;
  auto d = Make("throughput_drop", {}, "time/step");
  auto f = Firings(Feed(d.get(), v));
  ASSERT_EQ(f.size(), 1u);
  EXPECT_GE(f[0].index, 600u);
  EXPECT_LE(f[0].index, 615u);
  EXPECT_NE(f[0].finding.message.find("time/step changed level by +"), std::string::npos);
}

TEST(ThroughputDropTest, SingleSlowStepsAreIgnored) {
  auto rng = vigil::testing::SeededRng();
  auto v = StepTimes(5000, 0.4, rng);
  for (size_t i = 500; i < v.size(); i += 500) v[i] *= 20;  // checkpoint saves
  auto d = Make("throughput_drop");
  EXPECT_TRUE(Feed(d.get(), v).empty());
}

TEST(ThroughputDropTest, RateDirectionDown) {
  auto rng = vigil::testing::SeededRng();
  auto v = StepTimes(1000, 300, rng);
  for (size_t i = 600; i < v.size(); ++i) v[i] /= 1.5;
  auto up = Make("throughput_drop", {{"direction", "up"}});
  EXPECT_TRUE(Feed(up.get(), v).empty());
  auto down = Make("throughput_drop", {{"direction", "down"}});
  EXPECT_EQ(Firings(Feed(down.get(), v)).size(), 1u);
}

TEST(ThroughputDropTest, SmallShiftBelowMinRelIsIgnored) {
  auto rng = vigil::testing::SeededRng();
  auto v = StepTimes(3000, 0.4, rng);
  for (size_t i = 1000; i < v.size(); ++i) v[i] *= 1.05;
  auto d = Make("throughput_drop");
  EXPECT_TRUE(Feed(d.get(), v).empty());
}

TEST(ThroughputDropTest, RecoveryResolves) {
  auto rng = vigil::testing::SeededRng();
  auto v = StepTimes(1500, 0.4, rng);
  for (size_t i = 600; i < 900; ++i) v[i] *= 2;
  auto d = Make("throughput_drop");
  auto hits = Feed(d.get(), v);
  ASSERT_EQ(hits.size(), 2u);
  EXPECT_EQ(hits[1].finding.transition, Transition::kResolved);
  EXPECT_GT(hits[1].index, 900u);
  EXPECT_LT(hits[1].index, 930u);
}

TEST(ThroughputDropTest, ResumptionRelearnsTheLevel) {
  auto rng = vigil::testing::SeededRng();
  auto v = StepTimes(500, 0.4, rng);
  auto d = Make("throughput_drop");
  Feed(d.get(), v);
  auto w = StepTimes(500, 0.8, rng);  // restarted on slower hardware
  EXPECT_TRUE(Feed(d.get(), w, 200).empty());
}

}  // namespace
}  // namespace vigil::analysis
