#include <gtest/gtest.h>

#include <cmath>

#include "analysis/detectors/detector_test_util.h"
#include "testing/testing.h"

namespace vigil::analysis {
namespace {

using testing::Feed;
using testing::Firings;
using testing::Make;

std::vector<double> Norms(size_t n, std::mt19937_64& rng) {
  std::normal_distribution<double> z(0, 0.1);
  std::vector<double> v;
  for (size_t i = 0; i < n; ++i) v.push_back(1.5 * std::exp(z(rng)));
  return v;
}

TEST(GradExplosionTest, ExponentialRiseFiresWhenPastAnOrderOfMagnitude) {
  auto rng = vigil::testing::SeededRng();
  auto v = Norms(500, rng);
  for (size_t k = 0; 300 + k < v.size(); ++k)
    v[300 + k] *= std::pow(3.0, std::min<double>(k + 1, 10));
  auto d = Make("grad_explosion", {}, "train/grad_norm");
  auto f = Firings(Feed(d.get(), v));
  ASSERT_EQ(f.size(), 1u);
  // ×9 at k=1, ×27 at k=2 (> 10×), two points above: k=3.
  EXPECT_EQ(f[0].index, 303u);
  EXPECT_NE(f[0].finding.message.find("train/grad_norm exploded to"), std::string::npos);
}

TEST(GradExplosionTest, HugeSingleJumpFiresAtOnce) {
  auto rng = vigil::testing::SeededRng();
  auto v = Norms(200, rng);
  v[150] *= 1000;
  auto d = Make("grad_explosion");
  auto hits = Feed(d.get(), v);
  ASSERT_GE(hits.size(), 1u);
  EXPECT_EQ(hits[0].index, 150u);
}

TEST(GradExplosionTest, SingleTenfoldBlipIsNotAnExplosion) {
  auto rng = vigil::testing::SeededRng();
  auto v = Norms(200, rng);
  v[150] *= 15;
  auto d = Make("grad_explosion");
  EXPECT_TRUE(Feed(d.get(), v).empty());
}

TEST(GradExplosionTest, ResolvesWhenBack) {
  auto rng = vigil::testing::SeededRng();
  auto v = Norms(300, rng);
  for (size_t k = 100; k < 120; ++k) v[k] *= 1000;
  auto d = Make("grad_explosion");
  auto hits = Feed(d.get(), v);
  ASSERT_EQ(hits.size(), 2u);
  EXPECT_EQ(hits[0].index, 100u);
  EXPECT_EQ(hits[1].finding.transition, Transition::kResolved);
  EXPECT_EQ(hits[1].index, 121u);
}

TEST(GradExplosionTest, ZeroAndNegativeAreSkipped) {
  auto rng = vigil::testing::SeededRng();
  auto v = Norms(100, rng);
  v[50] = 0;
  v[51] = -3;
  auto d = Make("grad_explosion");
  EXPECT_TRUE(Feed(d.get(), v).empty());
}

TEST(GradExplosionTest, SlowDecayDuringTrainingIsQuiet) {
  std::vector<double> v;
  for (int i = 0; i < 5000; ++i) v.push_back(20 * std::exp(-0.001 * i));
  auto d = Make("grad_explosion");
  EXPECT_TRUE(Feed(d.get(), v).empty());
}

}  // namespace
}  // namespace vigil::analysis
