// Tests of the user-named detectors (threshold, absence) and of the
// run-level stall check.
#include <gtest/gtest.h>

#include <cmath>

#include "analysis/detectors/detector_test_util.h"

namespace vigil::analysis {
namespace {

using testing::Feed;
using testing::Make;

TEST(ThresholdTest, AboveForPointsFiresThenResolves) {
  auto d = Make("threshold", {{"above", "85"}, {"for_points", "2"}}, "sys/gpu/temperature");
  auto hits = Feed(d.get(), {80, 90, 80, 90, 91, 92, 80, 70});
  ASSERT_EQ(hits.size(), 2u);
  EXPECT_EQ(hits[0].index, 4u);
  EXPECT_EQ(hits[0].finding.message, "sys/gpu/temperature is above 85 (91) at step 4 for 2 points");
  EXPECT_EQ(hits[1].index, 7u);
  EXPECT_EQ(hits[1].finding.transition, Transition::kResolved);
}

TEST(ThresholdTest, BelowAndNan) {
  auto d = Make("threshold", {{"below", "0.5"}});
  auto hits = Feed(d.get(), {1, 0.4});
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_NE(hits[0].finding.message.find("below 0.5"), std::string::npos);
  auto n = Make("threshold", {{"above", "1"}});
  EXPECT_EQ(Feed(n.get(), {NAN}).size(), 1u);
}

TEST(ThresholdTest, NeedsABound) {
  EXPECT_FALSE(MakeDetector("threshold", {}, "s").ok());
  EXPECT_FALSE(MakeDetector("threshold", {{"above", "x"}}, "s").ok());
}

TEST(AbsenceTest, SilenceFiresOnTickAndNextPointResolves) {
  auto d = Make("absence", {{"for_seconds", "60"}}, "train/loss");
  ASSERT_FALSE(d->Observe({10, 1'000'000, 1.0}).has_value());
  EXPECT_FALSE(d->Tick(1'050'000).has_value());
  auto f = d->Tick(1'070'000);
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->kind, FindingKind::kAbsence);
  EXPECT_EQ(f->step, 10);
  EXPECT_EQ(f->time_ms, 1'070'000);
  EXPECT_EQ(f->message, "train/loss has reported nothing for 70 s (since step 10)");
  EXPECT_FALSE(d->Tick(1'080'000).has_value());  // fires once
  auto r = d->Observe({11, 1'090'000, 1.0});
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->transition, Transition::kResolved);
}

TEST(AbsenceTest, NeverSeenCountsFromFirstTick) {
  auto d = Make("absence", {{"for_seconds", "60"}});
  EXPECT_FALSE(d->Tick(0).has_value());
  auto f = d->Tick(61'000);
  ASSERT_TRUE(f.has_value());
  EXPECT_NE(f->message.find("since watching began"), std::string::npos);
}

TEST(AbsenceTest, OutOfOrderPointDoesNotRewindTheClock) {
  auto d = Make("absence", {{"for_seconds", "60"}});
  ASSERT_FALSE(d->Observe({1, 100'000, 1}).has_value());
  ASSERT_FALSE(d->Observe({2, 10'000, 1}).has_value());
  EXPECT_FALSE(d->Tick(150'000).has_value());
}

TEST(ActivityTrackerTest, LearnsTheUsualInterval) {
  ActivityTracker t;
  EXPECT_EQ(t.usual_interval_ms(), 0);
  for (int i = 0; i < 100; ++i) t.Observe(1'000'000 + i * 2000);
  EXPECT_NEAR(t.usual_interval_ms(), 2000, 1);
  EXPECT_GE(t.high_interval_ms(), t.usual_interval_ms());
  EXPECT_EQ(t.last_activity_ms(), 1'000'000 + 99 * 2000);
  EXPECT_EQ(t.intervals_seen(), 99);
  ActivityTracker u;
  ASSERT_TRUE(u.RestoreState(t.SaveState()).ok());
  EXPECT_EQ(u.usual_interval_ms(), t.usual_interval_ms());
  EXPECT_FALSE(u.RestoreState("junk").ok());
}

TEST(ActivityTrackerTest, OutOfOrderTimesAreIgnored) {
  ActivityTracker t;
  t.Observe(5000);
  t.Observe(4000);
  t.Observe(5000);
  EXPECT_EQ(t.intervals_seen(), 0);
  EXPECT_EQ(t.last_activity_ms(), 5000);
}

TEST(StallTest, SilenceBeyondUsualRhythmFires) {
  StallParams p;  // 10× the usual interval, at least 60 s
  EXPECT_FALSE(CheckStall(100'000, 50'000, 1000, p, "r1").has_value());
  auto f = CheckStall(200'000, 50'000, 1000, p, "r1");
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->kind, FindingKind::kStall);
  EXPECT_EQ(f->value, 150);
  EXPECT_EQ(f->message, "run r1 has reported nothing for 2 min (it usually reports every 1 s)");
}

TEST(StallTest, SlowHeartbeatsGetMoreRoom) {
  StallParams p;
  EXPECT_FALSE(CheckStall(250'000, 0 + 1, 30'000, p, "r").has_value());  // 250 s < 300 s
  EXPECT_TRUE(CheckStall(320'000, 1, 30'000, p, "r").has_value());
}

TEST(StallTest, NothingSeenOrClockBehind) {
  StallParams p;
  EXPECT_FALSE(CheckStall(1'000'000, 0, 1000, p, "r").has_value());
  EXPECT_FALSE(CheckStall(1'000, 2'000, 1000, p, "r").has_value());
}

}  // namespace
}  // namespace vigil::analysis
