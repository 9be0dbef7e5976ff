#include "collect/counter_rate.h"

#include <gtest/gtest.h>

namespace vigil::collect {
namespace {

constexpr int64_t kSecond = 1'000'000'000;

TEST(CounterRate, FirstReadingGivesNoRate) {
  CounterRate r;
  EXPECT_FALSE(r.Update("a", 100, 1 * kSecond).has_value());
}

TEST(CounterRate, RateIsIncreasePerSecond) {
  CounterRate r;
  r.Update("a", 100, 1 * kSecond);
  auto rate = r.Update("a", 400, 3 * kSecond);
  ASSERT_TRUE(rate.has_value());
  EXPECT_DOUBLE_EQ(*rate, 150.0);
}

TEST(CounterRate, KeysAreIndependent) {
  CounterRate r;
  r.Update("a", 0, 1 * kSecond);
  r.Update("b", 1000, 1 * kSecond);
  EXPECT_DOUBLE_EQ(*r.Update("a", 10, 2 * kSecond), 10.0);
  EXPECT_DOUBLE_EQ(*r.Update("b", 1500, 2 * kSecond), 500.0);
}

TEST(CounterRate, Wrap32) {
  CounterRate r;
  const uint64_t max32 = 0xFFFFFFFFull;
  r.Update("a", max32 - 99, 1 * kSecond);  // 100 below the top
  auto rate = r.Update("a", 50, 2 * kSecond, 32);
  ASSERT_TRUE(rate.has_value());
  EXPECT_DOUBLE_EQ(*rate, 150.0);  // 100 to reach 2^32, then 50
}

TEST(CounterRate, Wrap64IsAReset) {
  // A 64-bit counter never wraps in practice: a drop is a restart.
  CounterRate r;
  r.Update("a", ~0ull - 10, 1 * kSecond);
  EXPECT_DOUBLE_EQ(*r.Update("a", 5, 2 * kSecond), 5.0);
}

TEST(CounterRate, SmallDropOn32BitCounterIsAReset) {
  // Falling from 1000 to 200 is not a wrap (the drop is far less than half
  // the range): the counter restarted and counted 200 since.
  CounterRate r;
  r.Update("a", 1000, 1 * kSecond, 32);
  EXPECT_DOUBLE_EQ(*r.Update("a", 200, 2 * kSecond, 32), 200.0);
}

TEST(CounterRate, ResetToZero) {
  CounterRate r;
  r.Update("a", 5'000'000, 1 * kSecond);
  EXPECT_DOUBLE_EQ(*r.Update("a", 0, 2 * kSecond), 0.0);
  EXPECT_DOUBLE_EQ(*r.Update("a", 300, 3 * kSecond), 300.0);
}

TEST(CounterRate, TimeNotAdvancingGivesNoRate) {
  CounterRate r;
  r.Update("a", 1, 5 * kSecond);
  EXPECT_FALSE(r.Update("a", 2, 5 * kSecond).has_value());
  EXPECT_FALSE(r.Update("a", 3, 4 * kSecond).has_value());
  // The newest reading is the base of the next rate.
  EXPECT_DOUBLE_EQ(*r.Update("a", 13, 5 * kSecond), 10.0);
}

TEST(CounterRate, DeltaAcrossWrap16) {
  CounterRate r;
  EXPECT_FALSE(r.Delta("a", 65530, 16).has_value());
  EXPECT_EQ(*r.Delta("a", 4, 16), 10u);
}

TEST(CounterRate, SweepForgetsIdleKeys) {
  CounterRate r;
  r.Update("gone", 1, 1 * kSecond);
  r.Update("kept", 1, 1 * kSecond);
  r.Sweep();  // both were updated: both stay
  EXPECT_EQ(r.size(), 2u);
  r.Update("kept", 2, 2 * kSecond);
  r.Sweep();
  EXPECT_EQ(r.size(), 1u);
  // A key seen again after being forgotten starts over.
  EXPECT_FALSE(r.Update("gone", 100, 3 * kSecond).has_value());
}

}  // namespace
}  // namespace vigil::collect
