#include "analysis/diagnosis/step_breakdown.h"

#include <gtest/gtest.h>

#include "analysis/diagnosis/diagnosis_test_util.h"

namespace vigil::analysis {
namespace {

using testutil::AddPerStep;
using testutil::Const;

TEST(StepBreakdown, NoPhaseSeriesIsNullopt) {
  RunSeries run;
  AddPerStep(&run, "train/loss", 100, 0.1, Const(1.0));
  EXPECT_FALSE(ComputeStepBreakdown(run).has_value());
}

TEST(StepBreakdown, SharesAgainstTheWallClock) {
  RunSeries run;
  AddPerStep(&run, "time/data", 500, 0.25, Const(0.05));
  AddPerStep(&run, "time/forward", 500, 0.25, Const(0.05));
  AddPerStep(&run, "time/backward", 500, 0.25, Const(0.10));
  auto b = ComputeStepBreakdown(run);
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(b->step_source, "wall_clock");
  EXPECT_NEAR(b->step_seconds, 0.25, 1e-9);
  EXPECT_NEAR(b->Share("data"), 0.2, 1e-9);
  EXPECT_NEAR(b->Share("backward"), 0.4, 1e-9);
  EXPECT_NEAR(b->Share("unaccounted"), 0.2, 1e-9);
  EXPECT_NEAR(b->Seconds("unaccounted"), 0.05, 1e-9);
  // Window: the last 20% of 500 steps.
  EXPECT_EQ(b->window_from, 400);
  EXPECT_EQ(b->window_to, 499);
  EXPECT_EQ(b->steps, 100u);
  ASSERT_EQ(b->phases.size(), 4u);
  EXPECT_EQ(b->phases[0].phase, "data");
  EXPECT_EQ(b->phases[3].phase, "unaccounted");
  ASSERT_EQ(b->per_step_steps.size(), 100u);
  EXPECT_NEAR(b->per_step_seconds[3][50], 0.05, 1e-9);
}

TEST(StepBreakdown, TimeStepSeriesIsPreferred) {
  RunSeries run;
  AddPerStep(&run, "time/data", 100, 1.0, Const(0.1));
  AddPerStep(&run, "time/step", 100, 1.0, Const(0.4));
  auto b = ComputeStepBreakdown(run);
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(b->step_source, "time/step");
  EXPECT_NEAR(b->Share("data"), 0.25, 1e-9);
  EXPECT_NEAR(b->Share("unaccounted"), 0.75, 1e-9);
}

TEST(StepBreakdown, PhasesAloneWhenTheClockDoesNotMove) {
  RunSeries run;
  AddPerStep(&run, "time/data", 100, 0.0, Const(0.3));
  AddPerStep(&run, "time/forward", 100, 0.0, Const(0.1));
  auto b = ComputeStepBreakdown(run);
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(b->step_source, "phases");
  EXPECT_NEAR(b->step_seconds, 0.4, 1e-9);
  EXPECT_NEAR(b->Share("data"), 0.75, 1e-9);
  EXPECT_NEAR(b->Share("unaccounted"), 0.0, 1e-9);
}

TEST(StepBreakdown, WallClockBelowPhasesIsRaisedToTheirSum) {
  RunSeries run;
  AddPerStep(&run, "time/data", 100, 0.1, Const(0.15));  // logged 0.1 s apart
  auto b = ComputeStepBreakdown(run);
  ASSERT_TRUE(b.has_value());
  EXPECT_NEAR(b->step_seconds, 0.15, 1e-9);
  EXPECT_NEAR(b->Share("data"), 1.0, 1e-9);
}

TEST(StepBreakdown, TrendAgainstTheEarlierWindow) {
  RunSeries run;
  // Data loading doubles in the second half.
  AddPerStep(&run, "time/data", 1000, 0.0, [](int64_t s) { return s < 500 ? 0.1 : 0.2; });
  AddPerStep(&run, "time/forward", 1000, 0.0, Const(0.2));
  auto b = ComputeStepBreakdown(run);
  ASSERT_TRUE(b.has_value());
  ASSERT_TRUE(b->earlier_step_seconds.has_value());
  EXPECT_NEAR(*b->earlier_step_seconds, 0.4, 1e-9);
  ASSERT_TRUE(b->phases[0].earlier_share.has_value());
  EXPECT_NEAR(b->phases[0].share, 0.5, 1e-9);
  EXPECT_NEAR(*b->phases[0].earlier_share, 0.5, 1e-9);  // steps 600-799: already doubled
  BreakdownOptions narrow;
  narrow.window_fraction = 0.5;
  narrow.max_window_steps = 500;
  auto half = ComputeStepBreakdown(run, narrow);
  ASSERT_TRUE(half.has_value());
  EXPECT_NEAR(*half->phases[0].earlier_share, 0.1 / 0.3, 1e-9);
}

TEST(StepBreakdown, UserPhasesFollowTheKnownOnes) {
  RunSeries run;
  AddPerStep(&run, "time/zeta", 100, 0.0, Const(0.1));
  AddPerStep(&run, "time/alpha", 100, 0.0, Const(0.1));
  AddPerStep(&run, "time/comm", 100, 0.0, Const(0.2));
  auto b = ComputeStepBreakdown(run);
  ASSERT_TRUE(b.has_value());
  ASSERT_EQ(b->phases.size(), 4u);
  EXPECT_EQ(b->phases[0].phase, "comm");
  EXPECT_EQ(b->phases[1].phase, "alpha");
  EXPECT_EQ(b->phases[2].phase, "zeta");
  EXPECT_NEAR(b->Share("comm"), 0.5, 1e-9);
}

TEST(StepBreakdown, ShortRunUsesTheMinimumWindow) {
  RunSeries run;
  AddPerStep(&run, "time/data", 30, 0.0, Const(0.1));
  auto b = ComputeStepBreakdown(run);
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(b->window_from, 10);  // 20 steps at least
  EXPECT_EQ(b->steps, 20u);
}

TEST(StepBreakdown, SeveralPointsPerStepAreSummed) {
  RunSeries run;
  SeriesData s;
  s.metric = "time/data";
  for (int64_t i = 0; i < 50; ++i) {
    for (int k = 0; k < 2; ++k) {
      s.steps.push_back(i);
      s.times.push_back(testutil::kT0);
      s.values.push_back(0.05);
    }
  }
  run.Add(std::move(s));
  auto b = ComputeStepBreakdown(run);
  ASSERT_TRUE(b.has_value());
  EXPECT_NEAR(b->Seconds("data"), 0.1, 1e-9);
}

}  // namespace
}  // namespace vigil::analysis
