#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "codec/bit_reader.h"
#include "codec/bit_writer.h"
#include "testing/testing.h"

namespace vigil::codec {
namespace {

struct Field {
  uint64_t value;
  int width;
};

std::vector<Field> RandomFields(std::mt19937_64& rng, size_t count) {
  std::vector<Field> fields;
  for (size_t i = 0; i < count; ++i) {
    int w = static_cast<int>(rng() % 65);
    uint64_t v = w == 64 ? rng() : rng() & ((uint64_t{1} << w) - 1);
    fields.push_back({v, w});
  }
  return fields;
}

std::string Write(const std::vector<Field>& fields) {
  std::string out;
  BitWriter w(&out);
  for (const Field& f : fields) w.Write(f.value, f.width);
  w.Finish();
  return out;
}

TEST(BitWriter, MostSignificantBitFirst) {
  std::string out;
  BitWriter w(&out);
  w.Write(0b1, 1);
  w.Write(0b01, 2);
  w.Write(0x1f, 5);
  w.Write(0xabc, 12);
  w.Finish();
  // 1 01 11111 | 1010 1011 1100 + 4 zero bits of padding
  ASSERT_EQ(3u, out.size());
  EXPECT_EQ(0xbf, static_cast<uint8_t>(out[0]));
  EXPECT_EQ(0xab, static_cast<uint8_t>(out[1]));
  EXPECT_EQ(0xc0, static_cast<uint8_t>(out[2]));
}

TEST(BitWriter, CountsBitsAndPadsToAByte) {
  std::string out;
  BitWriter w(&out);
  w.Write(1, 1);
  w.Write(0, 0);
  w.Write(~uint64_t{0}, 64);
  EXPECT_EQ(65u, w.bit_count());
  w.Finish();
  EXPECT_EQ(9u, out.size());
}

TEST(BitWriter, AppendsAfterExistingBytes) {
  std::string out = "xy";
  BitWriter w(&out);
  w.Write(0xff, 8);
  w.Finish();
  EXPECT_EQ(std::string("xy\xff"), out);
}

TEST(BitReader, RoundTripsRandomFieldsOfEveryWidth) {
  auto rng = testing::SeededRng();
  std::vector<Field> fields = RandomFields(rng, 5000);
  std::string bytes = Write(fields);
  BitReader r(bytes);
  for (const Field& f : fields) ASSERT_EQ(f.value, r.Read(f.width)) << f.width;
  EXPECT_TRUE(r.ExactlyConsumed());
  EXPECT_FALSE(r.Overrun());
}

TEST(BitReader, ReadsZerosPastTheEndAndReportsOverrun) {
  std::string bytes = "\xff";
  BitReader r(bytes);
  EXPECT_EQ(0xffu, r.Read(8));
  EXPECT_TRUE(r.ExactlyConsumed());
  EXPECT_EQ(0u, r.Read(64));
  EXPECT_EQ(0u, r.Read(3));
  EXPECT_TRUE(r.Overrun());
  EXPECT_FALSE(r.ExactlyConsumed());
}

TEST(BitReader, DetectsTrailingBytes) {
  std::string bytes("\x80\x00", 2);
  BitReader r(bytes);
  EXPECT_TRUE(r.ReadBit());
  EXPECT_FALSE(r.ExactlyConsumed());  // a whole unread byte follows
  EXPECT_FALSE(r.Overrun());
}

TEST(BitReader, EmptyInput) {
  BitReader r(std::string_view{});
  EXPECT_TRUE(r.ExactlyConsumed());
  EXPECT_EQ(0u, r.Read(17));
  EXPECT_TRUE(r.Overrun());
}

TEST(BitSpan, RandomAccessMatchesSequentialReads) {
  auto rng = testing::SeededRng();
  std::vector<Field> fields = RandomFields(rng, 3000);
  std::string bytes = Write(fields);
  BitSpan span(bytes);
  uint64_t pos = 0;
  for (const Field& f : fields) {
    ASSERT_EQ(f.value, span.Read(pos, f.width));
    uint64_t end = pos + static_cast<uint64_t>(f.width);
    if (f.width >= 1 && f.width <= BitSpan::kMaxUncheckedBits && span.CanReadUnchecked(end)) {
      ASSERT_EQ(f.value, span.ReadUnchecked(pos, f.width));
    }
    if (f.width >= 33 && span.CanReadUnchecked(end)) {
      ASSERT_EQ(f.value, span.ReadUncheckedWide(pos, f.width));
    }
    pos = end;
  }
}

TEST(BitSpan, UncheckedRangeLeavesEightBytesToLoad) {
  std::string bytes(16, '\0');
  BitSpan span(bytes);
  EXPECT_TRUE(span.CanReadUnchecked(64));  // load at byte 8 reads bytes 8..15
  EXPECT_TRUE(span.CanReadUnchecked(71));
  EXPECT_FALSE(span.CanReadUnchecked(72));  // load at byte 9 would read byte 16
}

TEST(BitSpan, ReadsZerosPastTheEnd) {
  std::string bytes = "\xf0";
  BitSpan span(bytes);
  EXPECT_EQ(0xfu, span.Read(0, 4));
  EXPECT_EQ(0u, span.Read(4, 4));
  EXPECT_EQ(0xf0000000u, span.Read(0, 32));
  EXPECT_EQ(0u, span.Read(1000, 64));
  EXPECT_EQ(8u, span.size_bits());
}

}  // namespace
}  // namespace vigil::codec
