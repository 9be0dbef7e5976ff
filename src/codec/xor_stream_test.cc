#include "codec/xor_stream.h"

#include <bit>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "testing/testing.h"

namespace vigil::codec {
namespace {

double FromBits(uint64_t b) {
  return std::bit_cast<double>(b);
}
uint64_t Bits(double d) {
  return std::bit_cast<uint64_t>(d);
}

void ExpectBitsEqual(const std::vector<double>& want, const std::vector<double>& got) {
  ASSERT_EQ(want.size(), got.size());
  for (size_t i = 0; i < want.size(); ++i) {
    ASSERT_EQ(Bits(want[i]), Bits(got[i])) << "index " << i;
  }
}

void ExpectXor64RoundTrip(const std::vector<double>& v) {
  std::string bytes;
  EncodeXor64(v, &bytes);
  std::vector<double> got(v.size());
  Status st = DecodeXor64(bytes, v.size(), got.data());
  ASSERT_TRUE(st.ok()) << st.ToString();
  ExpectBitsEqual(v, got);
}

void ExpectXor32RoundTrip(const std::vector<double>& v) {
  std::string bytes;
  EncodeXor32(v, &bytes);
  std::vector<double> got(v.size());
  Status st = DecodeXor32(bytes, v.size(), got.data());
  ASSERT_TRUE(st.ok()) << st.ToString();
  ExpectBitsEqual(v, got);
}

// Every special double: zeros, infinities, NaNs with payloads, subnormals,
// extremes.
std::vector<double> EdgeValues() {
  return {0.0,
          -0.0,
          std::numeric_limits<double>::infinity(),
          -std::numeric_limits<double>::infinity(),
          std::numeric_limits<double>::quiet_NaN(),
          -std::numeric_limits<double>::quiet_NaN(),
          FromBits(0x7ff0000000000001),  // signalling NaN, lowest payload
          FromBits(0x7ff8deadbeef1234),  // quiet NaN with a payload
          FromBits(0xfff7ffffffffffff),
          std::numeric_limits<double>::denorm_min(),
          -std::numeric_limits<double>::denorm_min(),
          FromBits(0x000fffffffffffff),  // largest subnormal
          std::numeric_limits<double>::min(),
          std::numeric_limits<double>::max(),
          std::numeric_limits<double>::lowest(),
          1.0,
          -1.0,
          0.1,
          1e-300,
          1e300};
}

// Float32-exact edge values (NaN payloads that survive narrowing).
std::vector<double> EdgeValues32() {
  return {0.0,
          -0.0,
          std::numeric_limits<double>::infinity(),
          -std::numeric_limits<double>::infinity(),
          std::numeric_limits<double>::quiet_NaN(),
          static_cast<double>(std::bit_cast<float>(uint32_t{0x7fc12345})),
          static_cast<double>(std::numeric_limits<float>::denorm_min()),
          static_cast<double>(-std::numeric_limits<float>::denorm_min()),
          static_cast<double>(std::numeric_limits<float>::min()),
          static_cast<double>(FLT_MAX),
          static_cast<double>(-FLT_MAX),
          static_cast<double>(0.1f),
          1.0,
          -2.5};
}

TEST(Xor64, RoundTripsRandomBitsAtManySizes) {
  auto rng = testing::SeededRng();
  for (size_t n : {1, 2, 8, 9, 10, 16, 17, 18, 100, 512, 4096}) {
    std::vector<double> v(n);
    for (auto& x : v) x = FromBits(rng());
    ExpectXor64RoundTrip(v);
  }
}

TEST(Xor64, RoundTripsEdgeValuesInEveryOrder) {
  std::vector<double> v = EdgeValues();
  ExpectXor64RoundTrip(v);
  auto rng = testing::SeededRng();
  for (int i = 0; i < 20; ++i) {
    std::shuffle(v.begin(), v.end(), rng);
    ExpectXor64RoundTrip(v);
  }
}

TEST(Xor64, RepeatedGroupsCostOneBit) {
  std::vector<double> v(1 + 8 * 10, 0.001);
  std::string bytes;
  EncodeXor64(v, &bytes);
  EXPECT_EQ((64u + 10 + 7) / 8, bytes.size());  // first value + one '0' per group
  ExpectXor64RoundTrip(v);
}

TEST(Xor64, MixedRepeatsAndChangesInOneGroup) {
  std::vector<double> v = {1.0, 1.0, 2.0, 2.0, 2.0, 1.0, 3.0, 3.0, 3.0, -0.0, 0.0, 0.0, 0.0};
  ExpectXor64RoundTrip(v);
}

TEST(Xor64, WindowReuseAndNewWindows) {
  // Slowly varying values reuse a window; a jump in magnitude forces a new,
  // wider one; a return to small changes a narrower one.
  std::vector<double> v;
  for (int i = 0; i < 40; ++i) v.push_back(1.0 + i * 1e-12);
  for (int i = 0; i < 40; ++i) v.push_back(i % 2 ? 1e10 : -3e-10);
  for (int i = 0; i < 40; ++i) v.push_back(5.0 + i * 1e-13);
  ExpectXor64RoundTrip(v);
}

TEST(Xor64, FullWidthWindow) {
  // XORs with bit 63 and bit 0 set need a 64-bit window (len stored as 63).
  std::vector<double> v = {FromBits(0), FromBits(0x8000000000000001), FromBits(0),
                           FromBits(0x8000000000000001)};
  ExpectXor64RoundTrip(v);
}

TEST(Xor64, EveryTruncationIsCorruption) {
  auto rng = testing::SeededRng();
  std::vector<double> v(30);
  for (auto& x : v) x = FromBits(rng());
  std::string bytes;
  EncodeXor64(v, &bytes);
  std::vector<double> got(v.size());
  for (size_t len = 0; len < bytes.size(); ++len) {
    EXPECT_TRUE(
        DecodeXor64(std::string_view(bytes).substr(0, len), v.size(), got.data()).IsCorruption())
        << len;
  }
  EXPECT_TRUE(DecodeXor64(bytes + '\0', v.size(), got.data()).IsCorruption());
}

TEST(Xor64, WindowPastTheWordIsCorruption) {
  // First value 0, then '11', lead 63, len - 1 = 1 (len 2): 65 bits.
  std::string bytes(8, '\0');
  // '11' 111111 000001 + padding: 1111 1111 0000 01xx
  bytes += '\xff';
  bytes += '\x04';
  bytes += std::string(2, '\0');  // the group's 2-bit field
  std::vector<double> got(2);
  EXPECT_TRUE(DecodeXor64(bytes, 2, got.data()).IsCorruption());
}

TEST(Xor32, RoundTripsRandomFloats) {
  auto rng = testing::SeededRng();
  for (size_t n : {1, 2, 9, 17, 512, 1000}) {
    std::vector<double> v(n);
    for (auto& x : v) {
      float f = std::bit_cast<float>(static_cast<uint32_t>(rng()));
      if (std::isnan(f)) f = std::bit_cast<float>(std::bit_cast<uint32_t>(f) | 0x00400000u);
      x = static_cast<double>(f);
    }
    ExpectXor32RoundTrip(v);
  }
}

TEST(Xor32, RoundTripsEdgeValues) {
  std::vector<double> v = EdgeValues32();
  for (double x : v) ASSERT_TRUE(IsFloat32Exact(x)) << x;
  ExpectXor32RoundTrip(v);
}

TEST(Xor32, WindowPastTheWordIsCorruption) {
  // First value 0, then '11', lead 31, len - 1 = 1 (len 2): 33 bits.
  std::string bytes(4, '\0');
  // '11' 11111 00001 + padding: 1111 1110 0001 xxxx
  bytes += '\xfe';
  bytes += '\x10';
  std::vector<double> got(2);
  EXPECT_TRUE(DecodeXor32(bytes, 2, got.data()).IsCorruption());
}

TEST(IsFloat32Exact, Cases) {
  EXPECT_TRUE(IsFloat32Exact(0.5));
  EXPECT_TRUE(IsFloat32Exact(static_cast<double>(0.1f)));
  EXPECT_FALSE(IsFloat32Exact(0.1));
  EXPECT_TRUE(IsFloat32Exact(-0.0));
  EXPECT_TRUE(IsFloat32Exact(std::numeric_limits<double>::infinity()));
  EXPECT_TRUE(IsFloat32Exact(static_cast<double>(std::numeric_limits<float>::denorm_min())));
  EXPECT_FALSE(IsFloat32Exact(std::numeric_limits<double>::denorm_min()));  // flushes to 0
  EXPECT_FALSE(IsFloat32Exact(1e39));                                       // beyond FLT_MAX
  EXPECT_FALSE(IsFloat32Exact(std::numeric_limits<double>::max()));
  EXPECT_TRUE(IsFloat32Exact(static_cast<double>(FLT_MAX)));
  EXPECT_TRUE(IsFloat32Exact(std::numeric_limits<double>::quiet_NaN()));
  EXPECT_FALSE(IsFloat32Exact(FromBits(0x7ff8000000000001)));  // payload bits lost
  EXPECT_FALSE(IsFloat32Exact(FromBits(0x7ff0000000000001)));  // signalling
}

}  // namespace
}  // namespace vigil::codec
