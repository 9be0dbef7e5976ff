#include <gtest/gtest.h>

#include <cmath>

#include "analysis/detectors/detector_test_util.h"
#include "testing/testing.h"

namespace vigil::analysis {
namespace {

using testing::Feed;
using testing::Firings;
using testing::Make;

TEST(PlateauTest, FlatCurveFiresAfterSpan) {
  auto rng = vigil::testing::SeededRng();
  std::normal_distribution<double> n(0, 1);
  std::vector<double> v;
  for (int i = 0; i < 3000; ++i) v.push_back(2 * std::exp(0.01 * n(rng)));
  auto d = Make("plateau", {{"span", "1000"}});
  auto f = Firings(Feed(d.get(), v));
  ASSERT_EQ(f.size(), 1u);
  // The best is set when the first window fills (index 30, step 30).
  EXPECT_EQ(f[0].index, 1030u);
  EXPECT_NE(f[0].finding.message.find("has not improved for 1,000 steps"), std::string::npos);
  EXPECT_EQ(f[0].finding.severity, Severity::kInfo);
}

TEST(PlateauTest, ImprovingCurveIsQuiet) {
  std::vector<double> v;
  for (int i = 0; i < 5000; ++i) v.push_back(10 * std::exp(-0.001 * i));
  auto d = Make("plateau", {{"span", "500"}});
  EXPECT_TRUE(Feed(d.get(), v).empty());
}

TEST(PlateauTest, ImprovementResolves) {
  std::vector<double> v(1500, 2.0);
  for (int i = 0; i < 500; ++i) v.push_back(1.5);
  auto d = Make("plateau", {{"span", "1000"}});
  auto hits = Feed(d.get(), v);
  ASSERT_EQ(hits.size(), 2u);
  EXPECT_EQ(hits[1].finding.transition, Transition::kResolved);
  EXPECT_GT(hits[1].index, 1500u);
}

TEST(PlateauTest, MaxModeForAccuracy) {
  std::vector<double> v;
  for (int i = 0; i < 500; ++i) v.push_back(0.5 + 0.0008 * i);  // rising accuracy
  for (int i = 0; i < 1000; ++i) v.push_back(0.9);
  auto d = Make("plateau", {{"span", "600"}, {"mode", "max"}});
  auto f = Firings(Feed(d.get(), v));
  ASSERT_EQ(f.size(), 1u);
  EXPECT_GT(f[0].index, 1000u);
  auto wrong = Make("plateau", {{"span", "600"}, {"mode", "min"}});
  EXPECT_EQ(Firings(Feed(wrong.get(), v)).size(), 1u);  // min mode: never improved
  EXPECT_FALSE(MakeDetector("plateau", {{"mode", "median"}}, "s").ok());
}

}  // namespace
}  // namespace vigil::analysis
