#include "server/url.h"

#include <gtest/gtest.h>

namespace vigil::server {
namespace {

using Pairs = std::vector<std::pair<std::string, std::string>>;

TEST(PercentDecodeTest, Escapes) {
  EXPECT_EQ(PercentDecode("a%20b%2Fc", false), "a b/c");
  EXPECT_EQ(PercentDecode("%e2%9c%93", false), "\xe2\x9c\x93");
}

TEST(PercentDecodeTest, PlusOnlyInQueries) {
  EXPECT_EQ(PercentDecode("a+b", false), "a+b");
  EXPECT_EQ(PercentDecode("a+b", true), "a b");
  EXPECT_EQ(PercentDecode("a%2Bb", true), "a+b");
}

TEST(PercentDecodeTest, MalformedEscapesKept) {
  EXPECT_EQ(PercentDecode("100%", false), "100%");
  EXPECT_EQ(PercentDecode("%4", false), "%4");
  EXPECT_EQ(PercentDecode("%zz%41", false), "%zzA");
}

TEST(ParseQueryStringTest, PairsInOrder) {
  EXPECT_EQ(ParseQueryString("b=2&a=1&b=3"), (Pairs{{"b", "2"}, {"a", "1"}, {"b", "3"}}));
}

TEST(ParseQueryStringTest, DecodesNamesAndValues) {
  EXPECT_EQ(ParseQueryString("metric=train%2Floss&labels=rank%3D0+x"),
            (Pairs{{"metric", "train/loss"}, {"labels", "rank=0 x"}}));
}

TEST(ParseQueryStringTest, FlagsAndEmptyPieces) {
  EXPECT_EQ(ParseQueryString("&flag&&x=&=v&"), (Pairs{{"flag", ""}, {"x", ""}, {"", "v"}}));
  EXPECT_TRUE(ParseQueryString("").empty());
}

TEST(ParseQueryStringTest, ValueMayContainEquals) {
  EXPECT_EQ(ParseQueryString("q=a=b"), (Pairs{{"q", "a=b"}}));
}

TEST(SplitTargetTest, PathAndQuery) {
  EXPECT_EQ(SplitTarget("/a/b?x=1"),
            (std::pair<std::string_view, std::string_view>("/a/b", "x=1")));
  EXPECT_EQ(SplitTarget("/a"), (std::pair<std::string_view, std::string_view>("/a", "")));
  EXPECT_EQ(SplitTarget("/a?"), (std::pair<std::string_view, std::string_view>("/a", "")));
  EXPECT_EQ(SplitTarget("/a?x?y"), (std::pair<std::string_view, std::string_view>("/a", "x?y")));
}

}  // namespace
}  // namespace vigil::server
