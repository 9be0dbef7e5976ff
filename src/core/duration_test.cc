#include "core/duration.h"

#include <gtest/gtest.h>

namespace vigil {
namespace {

TEST(Duration, ParsesUnits) {
  EXPECT_EQ(30LL * 86'400'000, *ParseDurationMillis("30d"));
  EXPECT_EQ(2 * 3'600'000, *ParseDurationMillis("2h"));
  EXPECT_EQ(90 * 60'000, *ParseDurationMillis("90m"));
  EXPECT_EQ(45'000, *ParseDurationMillis("45s"));
  EXPECT_EQ(45'000, *ParseDurationMillis("45"));
  EXPECT_EQ(250, *ParseDurationMillis("250ms"));
  EXPECT_EQ(0, *ParseDurationMillis("0"));
  EXPECT_EQ(604'800'000, *ParseDurationMillis("1w"));
}

TEST(Duration, RejectsGarbage) {
  for (const char* bad : {"", "d", "-1s", "1.5h", "10 s", "10y", "99999999999999999999d"}) {
    EXPECT_FALSE(ParseDurationMillis(bad).ok()) << bad;
  }
}

TEST(Duration, FormatsShortestExactUnit) {
  EXPECT_EQ("30d", FormatDurationMillis(30LL * 86'400'000));
  EXPECT_EQ("90m", FormatDurationMillis(90 * 60'000));
  EXPECT_EQ("1500ms", FormatDurationMillis(1500));
  EXPECT_EQ("0ms", FormatDurationMillis(0));
}

}  // namespace
}  // namespace vigil
