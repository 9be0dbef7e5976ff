#include "analysis/diagnosis/allocator.h"

#include <cmath>

#include <gtest/gtest.h>

#include "analysis/diagnosis/diagnosis_test_util.h"

namespace vigil::analysis {
namespace {

using testutil::AddPerStepLabeled;
using testutil::kGiB;

const Labels kGpu0 = {{"device", "0"}};
const Labels kGpu1 = {{"device", "1"}};

TEST(AllocatorStats, NoCudaSeriesNoStats) {
  RunSeries run;
  AddPerStepLabeled(&run, "train/loss", {}, 100, 0.1, [](int64_t) { return 1.0; });
  EXPECT_TRUE(ComputeAllocatorStats(run).empty());
}

TEST(AllocatorStats, RetriesCountedInTheRecentWindow) {
  // One retry every 10 steps over 1,000 steps; the window is the last 20%
  // (steps 800–999): 20 retries.
  RunSeries run;
  AddPerStepLabeled(&run, "cuda/num_alloc_retries", kGpu0, 1000, 0.1,
                    [](int64_t s) { return static_cast<double>(s / 10); });
  auto stats = ComputeAllocatorStats(run);
  ASSERT_EQ(stats.size(), 1u);
  EXPECT_EQ(stats[0].device, "0");
  EXPECT_EQ(stats[0].window_from, 800);
  EXPECT_EQ(stats[0].window_to, 999);
  EXPECT_EQ(stats[0].window_steps(), 200);
  ASSERT_TRUE(stats[0].retries.has_value());
  EXPECT_EQ(*stats[0].retries, 20);
  EXPECT_FALSE(stats[0].fragmentation.has_value());
}

TEST(AllocatorStats, CounterRestartCountsItsNewValue) {
  // The process restarted at step 900: the counter fell from 80 to 0 and
  // then counted 5 more.
  RunSeries run;
  AddPerStepLabeled(&run, "cuda/num_alloc_retries", kGpu0, 1000, 0.1, [](int64_t s) {
    if (s < 900) return s < 850 ? 70.0 : 80.0;
    return s < 950 ? 0.0 : 5.0;
  });
  auto stats = ComputeAllocatorStats(run);
  ASSERT_EQ(stats.size(), 1u);
  EXPECT_EQ(*stats[0].retries, 10 + 0 + 5);
}

TEST(AllocatorStats, FirstPointHasNoBaseline) {
  // 15 steps, all inside the (20-step minimum) window: the first point has
  // no predecessor and counts nothing, whatever its value.
  RunSeries run;
  AddPerStepLabeled(&run, "cuda/num_alloc_retries", kGpu0, 15, 0.1,
                    [](int64_t s) { return 100.0 + static_cast<double>(s); });
  auto stats = ComputeAllocatorStats(run);
  ASSERT_EQ(stats.size(), 1u);
  EXPECT_EQ(stats[0].window_from, 0);
  EXPECT_EQ(stats[0].window_steps(), 15);
  EXPECT_EQ(*stats[0].retries, 14);
}

TEST(AllocatorStats, FragmentationFromReservedAndPeakAtTheSameSteps) {
  // Reserved 50 GiB until step 800, then 72 GiB; the peak of live tensors
  // stays at 45 GiB: 10% unused before, 37.5% now.
  RunSeries run;
  AddPerStepLabeled(&run, "cuda/memory_reserved_bytes", kGpu0, 1000, 0.1,
                    [](int64_t s) { return (s < 800 ? 50 : 72) * kGiB; });
  AddPerStepLabeled(&run, "cuda/max_memory_allocated_bytes", kGpu0, 1000, 0.1,
                    [](int64_t) { return 45 * kGiB; });
  auto stats = ComputeAllocatorStats(run);
  ASSERT_EQ(stats.size(), 1u);
  ASSERT_TRUE(stats[0].fragmentation.has_value());
  ASSERT_TRUE(stats[0].earlier_fragmentation.has_value());
  EXPECT_NEAR(*stats[0].fragmentation, 1 - 45.0 / 72, 1e-12);
  EXPECT_NEAR(*stats[0].earlier_fragmentation, 1 - 45.0 / 50, 1e-12);
  EXPECT_DOUBLE_EQ(*stats[0].reserved_bytes, 72 * kGiB);
  EXPECT_DOUBLE_EQ(*stats[0].peak_allocated_bytes, 45 * kGiB);
  EXPECT_FALSE(stats[0].retries.has_value());
}

TEST(AllocatorStats, EmptiedCacheIsNoNegativeFragmentation) {
  // After torch.cuda.empty_cache() the reserved bytes may fall below the
  // all-time peak: fragmentation is 0, not negative.
  RunSeries run;
  AddPerStepLabeled(&run, "cuda/memory_reserved_bytes", kGpu0, 100, 0.1,
                    [](int64_t) { return 20 * kGiB; });
  AddPerStepLabeled(&run, "cuda/max_memory_allocated_bytes", kGpu0, 100, 0.1,
                    [](int64_t) { return 30 * kGiB; });
  auto stats = ComputeAllocatorStats(run);
  ASSERT_EQ(stats.size(), 1u);
  EXPECT_EQ(*stats[0].fragmentation, 0);
}

TEST(AllocatorStats, DevicesAreJudgedApart) {
  RunSeries run;
  AddPerStepLabeled(&run, "cuda/num_alloc_retries", kGpu0, 1000, 0.1, [](int64_t) { return 0.0; });
  AddPerStepLabeled(&run, "cuda/num_alloc_retries", kGpu1, 1000, 0.1,
                    [](int64_t s) { return static_cast<double>(s / 4); });
  auto stats = ComputeAllocatorStats(run);
  ASSERT_EQ(stats.size(), 2u);
  EXPECT_EQ(stats[0].device, "0");
  EXPECT_EQ(*stats[0].retries, 0);
  EXPECT_EQ(stats[1].device, "1");
  EXPECT_EQ(*stats[1].retries, 50);
}

TEST(AllocatorStats, NonFiniteCounterValuesAreSkipped) {
  RunSeries run;
  AddPerStepLabeled(&run, "cuda/num_alloc_retries", kGpu0, 1000, 0.1, [](int64_t s) {
    return s == 900 ? std::nan("") : static_cast<double>(s / 10);
  });
  auto stats = ComputeAllocatorStats(run);
  ASSERT_EQ(stats.size(), 1u);
  EXPECT_EQ(*stats[0].retries, 20);
}

}  // namespace
}  // namespace vigil::analysis
