#include "codec/varint.h"

#include <limits>
#include <vector>

#include <gtest/gtest.h>

namespace vigil::codec {
namespace {

TEST(Varint, RoundTripsEdgeValues) {
  std::vector<uint64_t> values = {0,
                                  1,
                                  127,
                                  128,
                                  16383,
                                  16384,
                                  (1ull << 32) - 1,
                                  1ull << 32,
                                  std::numeric_limits<uint64_t>::max()};
  std::string buf;
  for (uint64_t v : values) PutVarint64(&buf, v);
  std::string_view in = buf;
  for (uint64_t v : values) {
    uint64_t got;
    ASSERT_TRUE(GetVarint64(&in, &got));
    EXPECT_EQ(v, got);
  }
  EXPECT_TRUE(in.empty());
}

TEST(Varint, MaxTakesTenBytes) {
  std::string buf;
  PutVarint64(&buf, std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(10u, buf.size());
}

TEST(Varint, TruncatedFails) {
  std::string buf;
  PutVarint64(&buf, 1ull << 40);
  for (size_t n = 0; n < buf.size(); ++n) {
    std::string_view in(buf.data(), n);
    uint64_t v;
    EXPECT_FALSE(GetVarint64(&in, &v)) << n;
  }
}

TEST(Varint, OverflowingTenthByteFails) {
  std::string buf(9, '\xff');
  buf.push_back('\x02');
  std::string_view in = buf;
  uint64_t v;
  EXPECT_FALSE(GetVarint64(&in, &v));
}

TEST(ZigZag, MapsSmallMagnitudesToSmallCodes) {
  EXPECT_EQ(0u, ZigZagEncode(0));
  EXPECT_EQ(1u, ZigZagEncode(-1));
  EXPECT_EQ(2u, ZigZagEncode(1));
  for (int64_t v : {std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max(),
                    int64_t{-5}, int64_t{123456789}}) {
    EXPECT_EQ(v, ZigZagDecode(ZigZagEncode(v)));
  }
}

TEST(LengthPrefixed, RejectsLengthPastEnd) {
  std::string buf;
  PutVarint64(&buf, 10);
  buf += "abc";
  std::string_view in = buf;
  std::string_view s;
  EXPECT_FALSE(GetLengthPrefixed(&in, &s));
}

}  // namespace
}  // namespace vigil::codec
