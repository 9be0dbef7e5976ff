#include "analysis/forecast/resource_forecast.h"

#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "testing/testing.h"

namespace vigil::analysis {
namespace {

constexpr double kGiB = 1024.0 * 1024 * 1024;

TEST(EstimatePace, SteadyPace) {
  std::vector<int64_t> steps, times;
  for (int64_t s = 0; s < 100; ++s) {
    steps.push_back(s);
    times.push_back(1'000'000 + s * 500);
  }
  auto p = EstimatePace(steps, times);
  ASSERT_TRUE(p.has_value());
  EXPECT_DOUBLE_EQ(p->seconds_per_step, 0.5);
  EXPECT_EQ(p->last_step, 99);
  EXPECT_DOUBLE_EQ(SecondsToStep(*p, 199), 50.0);
  EXPECT_DOUBLE_EQ(SecondsToStep(*p, 50), 0.0);
}

TEST(EstimatePace, UsesTheRecentWindow) {
  std::vector<int64_t> steps, times;
  int64_t t = 0;
  for (int64_t s = 0; s < 1000; ++s) {
    steps.push_back(s);
    times.push_back(t);
    t += s < 500 ? 100 : 300;  // slowed down halfway
  }
  auto p = EstimatePace(steps, times);
  ASSERT_TRUE(p.has_value());
  EXPECT_NEAR(p->seconds_per_step, 0.3, 1e-9);
}

TEST(EstimatePace, NeedsTwoStepsAndElapsedTime) {
  std::vector<int64_t> one = {5}, t1 = {100};
  EXPECT_FALSE(EstimatePace(one, t1).has_value());
  std::vector<int64_t> same = {5, 5, 5}, t3 = {100, 200, 300};
  EXPECT_FALSE(EstimatePace(same, t3).has_value());
  std::vector<int64_t> two = {5, 6}, frozen = {100, 100};
  EXPECT_FALSE(EstimatePace(two, frozen).has_value());
}

TEST(ForecastMemory, LinearGrowthGivesTimeToLimit) {
  std::vector<int64_t> times;
  std::vector<double> used;
  for (int i = 0; i <= 600; ++i) {  // 10 minutes at 1 s, 1 MiB/s from 40 GiB
    times.push_back(1'700'000'000'000 + i * 1000);
    used.push_back(40 * kGiB + i * 1024.0 * 1024);
  }
  auto f = ForecastMemory(times, used, 80 * kGiB);
  ASSERT_TRUE(f.has_value());
  EXPECT_NEAR(f->slope_bytes_per_s, 1024.0 * 1024, 1);
  ASSERT_TRUE(f->seconds_to_limit.has_value());
  double truth = (80 * kGiB - used.back()) / (1024.0 * 1024);
  EXPECT_NEAR(*f->seconds_to_limit, truth, 1);
  EXPECT_DOUBLE_EQ(f->peak_bytes, used.back());
}

TEST(ForecastMemory, FlatNoisyMemoryHasNoOom) {
  auto rng = testing::SeededRng();
  std::normal_distribution<double> noise(0, 0.1 * kGiB);
  std::vector<int64_t> times;
  std::vector<double> used;
  for (int i = 0; i < 300; ++i) {
    times.push_back(i * 1000);
    used.push_back(30 * kGiB + noise(rng));
  }
  auto f = ForecastMemory(times, used, 80 * kGiB);
  ASSERT_TRUE(f.has_value());
  EXPECT_FALSE(f->seconds_to_limit.has_value());
  EXPECT_NEAR(f->used_bytes, 30 * kGiB, 0.2 * kGiB);
}

TEST(ForecastMemory, SpikesDoNotMakeATrend) {
  std::vector<int64_t> times;
  std::vector<double> used;
  for (int i = 0; i < 200; ++i) {
    times.push_back(i * 1000);
    used.push_back(i % 50 == 49 ? 70 * kGiB : 20 * kGiB);
  }
  auto f = ForecastMemory(times, used, 80 * kGiB);
  ASSERT_TRUE(f.has_value());
  EXPECT_FALSE(f->seconds_to_limit.has_value());
  EXPECT_DOUBLE_EQ(f->peak_bytes, 70 * kGiB);
}

TEST(ForecastMemory, NoLimitOrTooFewPoints) {
  std::vector<int64_t> times = {0, 1000};
  std::vector<double> used = {1, 2};
  EXPECT_FALSE(ForecastMemory(times, used, 0).has_value());
  EXPECT_FALSE(ForecastMemory(std::span(times).first(1), std::span(used).first(1), 10).has_value());
}

}  // namespace
}  // namespace vigil::analysis
