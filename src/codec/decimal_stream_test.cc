#include "codec/decimal_stream.h"

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "codec/chunk_format.h"
#include "testing/testing.h"

namespace vigil::codec {
namespace {

// Scans values; returns d, or -1 if they are not decimals this encoding holds.
int Scan(const std::vector<double>& values, std::vector<int64_t>* mantissas = nullptr) {
  DecimalScanner scanner(values.size());
  for (double v : values) {
    if (!scanner.Add(v)) return -1;
  }
  int d;
  std::vector<int64_t> m;
  if (!scanner.Finish(&d, &m)) return -1;
  if (mantissas) *mantissas = m;
  return d;
}

// Encodes `values` as decimals, decodes, compares bits; returns the bytes.
std::string RoundTrip(const std::vector<double>& values) {
  std::vector<int64_t> m;
  int d = Scan(values, &m);
  EXPECT_GE(d, 0);
  std::string bytes;
  EncodeDecimal(d, m, &bytes);
  std::vector<double> got(values.size());
  Status st = DecodeDecimal(bytes, values.size(), got.data());
  EXPECT_TRUE(st.ok()) << st.ToString();
  for (size_t i = 0; i < values.size(); ++i) {
    EXPECT_EQ(std::bit_cast<uint64_t>(values[i]), std::bit_cast<uint64_t>(got[i])) << i;
  }
  return bytes;
}

format::DecimalMantissa KindOf(const std::string& bytes) {
  return static_cast<format::DecimalMantissa>(static_cast<uint8_t>(bytes[0]) >>
                                              format::kDecimalKindShift);
}
int DigitsOf(const std::string& bytes) {
  return static_cast<uint8_t>(bytes[0]) & format::kDecimalDigitsMask;
}

TEST(DecimalScanner, FindsTheLeastCommonDigits) {
  std::vector<int64_t> m;
  EXPECT_EQ(4, Scan({0.8125}, &m));
  EXPECT_EQ(std::vector<int64_t>{8125}, m);
  EXPECT_EQ(0, Scan({93, 0, 100, -7}, &m));
  EXPECT_EQ((std::vector<int64_t>{93, 0, 100, -7}), m);
  EXPECT_EQ(3, Scan({0.001}));
  EXPECT_EQ(2, Scan({0.5, 0.25, 1}, &m));  // earlier mantissas are rescaled
  EXPECT_EQ((std::vector<int64_t>{50, 25, 100}), m);
}

TEST(DecimalScanner, OneValueNeedingFiveDigitsRaisesD) {
  std::vector<int64_t> m;
  EXPECT_EQ(4, Scan({0.1234, 0.5, 0.9999}));
  EXPECT_EQ(5, Scan({0.1234, 0.5, 0.99995, 0.1}, &m));
  EXPECT_EQ((std::vector<int64_t>{12340, 50000, 99995, 10000}), m);
}

TEST(DecimalScanner, RejectsNegativeZero) {
  EXPECT_EQ(-1, Scan({1.0, -0.0}));
}

TEST(DecimalScanner, AcceptsPositiveZeroAndNegatives) {
  EXPECT_EQ(1, Scan({0.0, -0.5, -3}));
}

TEST(DecimalScanner, RejectsNonFinite) {
  EXPECT_EQ(-1, Scan({1.0, std::numeric_limits<double>::quiet_NaN()}));
  EXPECT_EQ(-1, Scan({std::numeric_limits<double>::infinity()}));
  EXPECT_EQ(-1, Scan({-std::numeric_limits<double>::infinity()}));
}

TEST(DecimalScanner, RejectsTooManyDigits) {
  EXPECT_EQ(15, Scan({1e-15}));
  EXPECT_EQ(-1, Scan({1e-16}));
  EXPECT_EQ(-1, Scan({0.1 + 0.2}));  // 0.30000000000000004
  EXPECT_EQ(-1, Scan({1.0 / 3}));
  EXPECT_EQ(-1, Scan({std::numeric_limits<double>::denorm_min()}));
}

TEST(DecimalScanner, RejectsMantissasFrom2To51) {
  EXPECT_EQ(0, Scan({2251799813685247.0}));  // 2^51 - 1
  EXPECT_EQ(0, Scan({-2251799813685247.0}));
  EXPECT_EQ(-1, Scan({2251799813685248.0}));  // 2^51
  EXPECT_EQ(-1, Scan({-2251799813685248.0}));
  EXPECT_EQ(-1, Scan({1e300}));
  // Each fits alone, but at the common d = 1 the first would reach 2^51.
  EXPECT_EQ(-1, Scan({1e15, 0.5}));
  EXPECT_EQ(1, Scan({1e14, 0.5}));
}

TEST(DecimalStream, ExtremeMantissasRoundTrip) {
  RoundTrip({2251799813685247.0, -2251799813685247.0, 0, 1, -1});
  RoundTrip({0.225179981368524, -0.225179981368524, 1e-15, -1e-15});
}

TEST(DecimalStream, ConstantValuesUsePackedWithNoBits) {
  std::vector<double> v(512, 0.001);
  std::string bytes = RoundTrip(v);
  EXPECT_EQ(format::DecimalMantissa::kPacked, KindOf(bytes));
  EXPECT_EQ(3, DigitsOf(bytes));
  EXPECT_EQ(3u, bytes.size());  // header, varint(zigzag 1), width 0
}

TEST(DecimalStream, RandomWalkUsesDeltas) {
  auto rng = testing::SeededRng();
  std::vector<double> v;
  int64_t m = 5000;
  for (int i = 0; i < 512; ++i) {
    m += static_cast<int64_t>(rng() % 21) - 10;
    v.push_back(static_cast<double>(m) / 1e4);
  }
  EXPECT_EQ(format::DecimalMantissa::kDelta, KindOf(RoundTrip(v)));
}

TEST(DecimalStream, LinearRampUsesDeltaOfDelta) {
  std::vector<double> v;
  for (int i = 0; i < 512; ++i) v.push_back(static_cast<double>(100000 + 37 * i) / 1e2);
  EXPECT_EQ(format::DecimalMantissa::kDeltaOfDelta, KindOf(RoundTrip(v)));
}

TEST(DecimalStream, NoisyIntegersUsePacked) {
  auto rng = testing::SeededRng();
  std::vector<double> v;
  for (int i = 0; i < 512; ++i) v.push_back(static_cast<double>(rng() % 101));  // GPU util
  std::string bytes = RoundTrip(v);
  EXPECT_EQ(format::DecimalMantissa::kPacked, KindOf(bytes));
  EXPECT_EQ(0, DigitsOf(bytes));
}

TEST(DecimalStream, RoundTripsEveryDigitCount) {
  auto rng = testing::SeededRng();
  for (int d = 0; d <= format::kMaxDecimalDigits; ++d) {
    std::vector<double> v;
    for (int i = 0; i < 50; ++i) {
      auto m = static_cast<int64_t>(rng() % 1000000) - 500000;
      v.push_back(static_cast<double>(m) / format::kPow10[d]);
    }
    std::vector<int64_t> ms;
    EXPECT_LE(Scan(v, &ms), d);
    RoundTrip(v);
  }
}

TEST(DecimalStream, InvalidHeaderIsCorruption) {
  std::vector<double> got(1);
  std::string rest("\x02\x00", 2);  // packed: varint(zigzag 1), width 0
  // digits 16 (> 15), kind 3, reserved bit.
  for (char header : {'\x10', '\x60', '\x80'}) {
    EXPECT_TRUE(DecodeDecimal(std::string(1, header) + rest, 1, got.data()).IsCorruption())
        << static_cast<int>(header);
  }
  EXPECT_TRUE(DecodeDecimal("", 1, got.data()).IsCorruption());
  ASSERT_TRUE(DecodeDecimal(std::string(1, '\x01') + rest, 1, got.data()).ok());
  EXPECT_EQ(0.1, got[0]);
}

TEST(DecimalStream, EveryTruncationIsCorruption) {
  std::vector<double> v = {0.25, 0.5, 0.75, 1.0, 1.25, 0.125, 7.5, 0.0, 3.25, 4.5, 0.5};
  std::string bytes = RoundTrip(v);
  std::vector<double> got(v.size());
  for (size_t len = 0; len < bytes.size(); ++len) {
    EXPECT_TRUE(
        DecodeDecimal(std::string_view(bytes).substr(0, len), v.size(), got.data()).IsCorruption())
        << len;
  }
}

}  // namespace
}  // namespace vigil::codec
