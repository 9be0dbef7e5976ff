#include <gtest/gtest.h>

#include <cmath>

#include "analysis/detectors/detector_test_util.h"
#include "testing/testing.h"

namespace vigil::analysis {
namespace {

using testing::Feed;
using testing::Firings;
using testing::Make;

TEST(SpikeTest, FiresAtTheSpikeStepWithAReadableMessage) {
  auto rng = vigil::testing::SeededRng();
  auto v = testing::LossCurve(1000, 0.01, rng);
  v[700] *= 3;
  auto d = Make("spike", {{"direction", "up"}});
  auto f = Firings(Feed(d.get(), v, 3420));
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].index, 700u);
  EXPECT_EQ(f[0].finding.step, 4120);
  EXPECT_EQ(f[0].finding.kind, FindingKind::kSpike);
  EXPECT_GE(f[0].finding.score, 0.5);
  EXPECT_LE(f[0].finding.score, 1.0);
  EXPECT_NE(f[0].finding.message.find("train/loss spiked to"), std::string::npos);
  EXPECT_NE(f[0].finding.message.find("at step 4,120"), std::string::npos);
  EXPECT_NE(f[0].finding.message.find("× its recent spread"), std::string::npos);
}

TEST(SpikeTest, ResolvesWhenBackInBand) {
  auto rng = vigil::testing::SeededRng();
  auto v = testing::LossCurve(600, 0.01, rng);
  v[400] *= 3;
  v[401] *= 2;
  auto d = Make("spike");
  auto hits = Feed(d.get(), v);
  ASSERT_EQ(hits.size(), 2u);
  EXPECT_EQ(hits[0].index, 400u);
  EXPECT_EQ(hits[1].finding.transition, Transition::kResolved);
  EXPECT_EQ(hits[1].index, 402u);
  EXPECT_FALSE(d->active());
}

TEST(SpikeTest, CleanTrendingNoisyCurveIsQuiet) {
  auto rng = vigil::testing::SeededRng();
  auto v = testing::LossCurve(20000, 0.02, rng);
  auto d = Make("spike", {{"threshold", "12"}, {"min_rel", "0.3"}});
  EXPECT_TRUE(Firings(Feed(d.get(), v)).empty());
}

TEST(SpikeTest, NoAlarmDuringWarmup) {
  auto d = Make("spike", {{"warmup", "30"}});
  std::vector<double> v(20, 1.0);
  v[10] = 100;
  EXPECT_TRUE(Feed(d.get(), v).empty());
}

TEST(SpikeTest, DirectionUpIgnoresDrops) {
  auto rng = vigil::testing::SeededRng();
  auto v = testing::LossCurve(500, 0.01, rng);
  v[300] /= 4;
  auto up = Make("spike", {{"direction", "up"}});
  EXPECT_TRUE(Feed(up.get(), v).empty());
  auto both = Make("spike");
  auto f = Firings(Feed(both.get(), v));
  ASSERT_EQ(f.size(), 1u);
  EXPECT_NE(f[0].finding.message.find("dropped"), std::string::npos);
}

TEST(SpikeTest, MinRelSuppressesSmallJumpsOnQuietSeries) {
  std::vector<double> v(200, 1.0);
  for (size_t i = 0; i < v.size(); ++i) v[i] += 0.001 * ((i * 7919) % 13 - 6.0) / 6;
  v[150] = 1.1;  // +10%: many spreads, but small
  auto strict = Make("spike", {{"min_rel", "0.3"}});
  EXPECT_TRUE(Feed(strict.get(), v).empty());
  auto loose = Make("spike");
  EXPECT_EQ(Firings(Feed(loose.get(), v)).size(), 1u);
}

TEST(SpikeTest, LevelShiftIsAdoptedAfterMaxPoints) {
  std::vector<double> v(100, 1.0);
  for (size_t i = 0; i < v.size(); ++i) v[i] *= 1 + 0.01 * std::sin(static_cast<double>(i));
  for (size_t i = 60; i < v.size(); ++i) v[i] *= 5;
  auto d = Make("spike", {{"max_points", "10"}});
  auto hits = Feed(d.get(), v);
  ASSERT_EQ(hits.size(), 2u);
  EXPECT_EQ(hits[0].index, 60u);
  EXPECT_EQ(hits[1].finding.transition, Transition::kResolved);
  EXPECT_EQ(hits[1].index, 70u);
  EXPECT_NE(hits[1].finding.message.find("new level"), std::string::npos);
}

TEST(SpikeTest, ResumptionJumpIsNotASpike) {
  auto rng = vigil::testing::SeededRng();
  auto v = testing::LossCurve(2000, 0.005, rng);
  auto d = Make("spike");
  Feed(d.get(), std::vector<double>(v.begin(), v.begin() + 1500));
  // Restart from the checkpoint at step 100: the loss is back to its
  // higher value there.
  auto hits = Feed(d.get(), std::vector<double>(v.begin() + 100, v.begin() + 400), 100);
  EXPECT_TRUE(Firings(hits).empty());
}

TEST(SpikeTest, NonFiniteValuesAreSkipped) {
  auto rng = vigil::testing::SeededRng();
  auto v = testing::LossCurve(300, 0.01, rng);
  v[200] = NAN;
  v[201] = INFINITY;
  auto d = Make("spike");
  EXPECT_TRUE(Feed(d.get(), v).empty());
}

TEST(SpikeTest, NegativeSeriesSwitchesToRaw) {
  std::vector<double> v;
  for (int i = 0; i < 200; ++i) v.push_back(-5 + 0.01 * std::sin(i));
  v[150] = 5;
  auto d = Make("spike");
  auto f = Firings(Feed(d.get(), v));
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].index, 150u);
}

TEST(SpikeTest, ConstantSeriesThenChangeFires) {
  std::vector<double> v(100, 2.0);
  v[80] = 3.0;
  auto d = Make("spike");
  EXPECT_EQ(Firings(Feed(d.get(), v)).size(), 1u);
}

TEST(SpikeTest, BadParameters) {
  EXPECT_FALSE(MakeDetector("spike", {{"threshold", "0"}}, "s").ok());
  EXPECT_FALSE(MakeDetector("spike", {{"direction", "sideways"}}, "s").ok());
  EXPECT_FALSE(MakeDetector("spike", {{"alpha", "1.5"}}, "s").ok());
  EXPECT_FALSE(MakeDetector("spike", {{"transform", "sqrt"}}, "s").ok());
}

}  // namespace
}  // namespace vigil::analysis
