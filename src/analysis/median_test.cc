#include "analysis/median.h"

#include <gtest/gtest.h>

namespace vigil::analysis {
namespace {

TEST(Median, EmptyIsZero) {
  EXPECT_EQ(Median({}), 0);
}

TEST(Median, OddCountIsTheMiddleValue) {
  EXPECT_EQ(Median({5, 1, 3}), 3);
}

TEST(Median, EvenCountIsTheMeanOfTheMiddleTwo) {
  EXPECT_EQ(Median({4, 1, 3, 2}), 2.5);
}

}  // namespace
}  // namespace vigil::analysis
