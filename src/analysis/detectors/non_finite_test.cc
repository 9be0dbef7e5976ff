#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "analysis/detectors/detector_test_util.h"

namespace vigil::analysis {
namespace {

using testing::Feed;
using testing::Make;

TEST(NonFiniteTest, NanFiresAtThatStep) {
  auto d = Make("non_finite");
  auto hits = Feed(d.get(), {1, 2, NAN, 3}, 100);
  ASSERT_EQ(hits.size(), 2u);
  EXPECT_EQ(hits[0].finding.transition, Transition::kFiring);
  EXPECT_EQ(hits[0].finding.step, 102);
  EXPECT_EQ(hits[0].finding.kind, FindingKind::kNonFinite);
  EXPECT_EQ(hits[0].finding.severity, Severity::kCritical);
  EXPECT_EQ(hits[0].finding.score, 1);
  EXPECT_EQ(hits[0].finding.message, "train/loss is NaN at step 102");
  EXPECT_EQ(hits[1].finding.transition, Transition::kResolved);
  EXPECT_EQ(hits[1].finding.step, 103);
}

TEST(NonFiniteTest, InfinitiesFire) {
  auto d = Make("non_finite");
  auto hits = Feed(d.get(), {std::numeric_limits<double>::infinity()});
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_NE(hits[0].finding.message.find("+Inf"), std::string::npos);
  auto e = Make("non_finite");
  EXPECT_EQ(Feed(e.get(), {-std::numeric_limits<double>::infinity()}).size(), 1u);
}

TEST(NonFiniteTest, RunOfNansFiresOnce) {
  auto d = Make("non_finite");
  auto hits = Feed(d.get(), {NAN, NAN, NAN});
  EXPECT_EQ(hits.size(), 1u);
  EXPECT_TRUE(d->active());
  EXPECT_EQ(d->last_score(), 1);
}

TEST(NonFiniteTest, NegativeZeroAndHugeFiniteAreFine) {
  auto d = Make("non_finite");
  EXPECT_TRUE(Feed(d.get(), {-0.0, 1e308, -1e308, 5e-324}).empty());
  EXPECT_FALSE(d->active());
}

}  // namespace
}  // namespace vigil::analysis
