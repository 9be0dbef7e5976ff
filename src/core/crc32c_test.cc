#include "core/crc32c.h"

#include <cstring>
#include <string>

#include <gtest/gtest.h>

namespace vigil::crc32c {
namespace {

// Vectors from RFC 3720 (iSCSI), appendix B.4.
TEST(Crc32c, StandardResults) {
  char buf[32];
  std::memset(buf, 0, sizeof(buf));
  EXPECT_EQ(0x8a9136aau, Value(buf, sizeof(buf)));
  std::memset(buf, 0xff, sizeof(buf));
  EXPECT_EQ(0x62a8ab43u, Value(buf, sizeof(buf)));
  for (int i = 0; i < 32; i++) buf[i] = static_cast<char>(i);
  EXPECT_EQ(0x46dd794eu, Value(buf, sizeof(buf)));
  for (int i = 0; i < 32; i++) buf[i] = static_cast<char>(31 - i);
  EXPECT_EQ(0x113fdb5cu, Value(buf, sizeof(buf)));
  EXPECT_EQ(0xe3069283u, Value("123456789"));
}

TEST(Crc32c, ExtendEqualsWhole) {
  std::string s = "hello world, a longer string that spans several 8-byte words";
  for (size_t cut = 0; cut <= s.size(); ++cut) {
    EXPECT_EQ(Value(s), Extend(Value(s.data(), cut), s.data() + cut, s.size() - cut)) << cut;
  }
}

TEST(Crc32c, MaskRoundTripsAndDiffers) {
  uint32_t crc = Value("foo");
  EXPECT_NE(crc, Mask(crc));
  EXPECT_NE(crc, Mask(Mask(crc)));
  EXPECT_EQ(crc, Unmask(Mask(crc)));
  EXPECT_EQ(crc, Unmask(Unmask(Mask(Mask(crc)))));
}

}  // namespace
}  // namespace vigil::crc32c
