#include "analysis/distributed/rank_heatmap.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace vigil::analysis {
namespace {

TEST(RankHeatmap, BinsStepsIntoEqualColumns) {
  RankHeatmapBuilder b(0, 99, 10, RankHeatmapBuilder::Mode::kMean);
  std::vector<int64_t> steps;
  std::vector<double> values;
  for (int64_t s = 0; s < 100; ++s) {
    steps.push_back(s);
    values.push_back(static_cast<double>(s));
  }
  b.Add(3, "n0", steps, values);
  RankHeatmap h = b.Build();
  EXPECT_EQ(h.bin, 10);
  ASSERT_EQ(h.steps.size(), 10u);
  EXPECT_EQ(h.steps[9], 90);
  ASSERT_EQ(h.ranks, std::vector<int64_t>{3});
  EXPECT_EQ(h.nodes[0], "n0");
  EXPECT_DOUBLE_EQ(*h.values[0][0], 4.5);  // mean of 0..9
  EXPECT_DOUBLE_EQ(*h.values[0][9], 94.5);
  EXPECT_DOUBLE_EQ(*h.row_mean[0], 49.5);
}

TEST(RankHeatmap, MissingCellsAreEmptyAndMediansSkipThem) {
  RankHeatmapBuilder b(0, 9, 2, RankHeatmapBuilder::Mode::kMean);
  std::vector<int64_t> s0{0, 1}, s1{0, 6}, s2{1};
  b.Add(0, "", s0, std::vector<double>{1, 3});
  b.Add(1, "", s1, std::vector<double>{5, 7});
  b.Add(2, "", s2, std::vector<double>{NAN});
  RankHeatmap h = b.Build();
  ASSERT_EQ(h.ranks.size(), 3u);
  EXPECT_FALSE(h.values[0][1].has_value());
  EXPECT_DOUBLE_EQ(*h.values[1][1], 7);
  EXPECT_FALSE(h.values[2][0].has_value());  // NaN ignored
  EXPECT_FALSE(h.row_mean[2].has_value());
  EXPECT_DOUBLE_EQ(*h.column_median[0], 3.5);  // median of 2 and 5
  EXPECT_DOUBLE_EQ(*h.column_median[1], 7);
}

TEST(RankHeatmap, SumPerStepAddsPhasesOfOneStep) {
  RankHeatmapBuilder b(0, 3, 1, RankHeatmapBuilder::Mode::kSumPerStep);
  std::vector<int64_t> steps{0, 1, 2, 3};
  b.Add(0, "", steps, std::vector<double>{0.01, 0.01, 0.01, 0.01});  // data
  b.Add(0, "", steps, std::vector<double>{0.03, 0.03, 0.03, 0.03});  // forward
  RankHeatmap h = b.Build();
  EXPECT_NEAR(*h.values[0][0], 0.04, 1e-12);
}

TEST(RankHeatmap, OutOfRangeStepsAreIgnored) {
  RankHeatmapBuilder b(10, 19, 5, RankHeatmapBuilder::Mode::kMean);
  std::vector<int64_t> steps{5, 10, 25};
  b.Add(0, "", steps, std::vector<double>{100, 1, 100});
  RankHeatmap h = b.Build();
  EXPECT_DOUBLE_EQ(*h.values[0][0], 1);
  EXPECT_EQ(h.steps.back(), 18);
}

}  // namespace
}  // namespace vigil::analysis
