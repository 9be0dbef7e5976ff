#include "codec/int_stream.h"

#include <algorithm>
#include <bit>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "codec/varint.h"
#include "testing/testing.h"

namespace vigil::codec {
namespace {

constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

std::string Encode(const std::vector<int64_t>& v, int order) {
  std::string out;
  EncodeDeltaStream(v, order, &out);
  return out;
}

// Encodes, checks the plan's size prediction, decodes and compares.
void ExpectRoundTrip(const std::vector<int64_t>& v, int order) {
  std::string bytes = Encode(v, order);
  EXPECT_EQ(PlanDeltaStream(v, order).size(), bytes.size());
  std::vector<int64_t> got(v.size());
  Status st = DecodeDeltaStream(bytes, order, v.size(), got.data());
  ASSERT_TRUE(st.ok()) << st.ToString() << " n=" << v.size() << " order=" << order;
  EXPECT_EQ(v, got) << "order=" << order;
}

void ExpectPackedRoundTrip(const std::vector<int64_t>& v) {
  std::string bytes;
  EncodePackedStream(v, &bytes);
  EXPECT_EQ(PackedStreamSize(v), bytes.size());
  std::vector<int64_t> got(v.size());
  Status st = DecodePackedStream(bytes, v.size(), got.data());
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(v, got);
}

std::vector<int64_t> RandomBits(std::mt19937_64& rng, size_t n) {
  std::vector<int64_t> v(n);
  for (auto& x : v) x = static_cast<int64_t>(rng());
  return v;
}

TEST(DeltaStream, RoundTripsRandomBitsAtManySizes) {
  auto rng = testing::SeededRng();
  for (size_t n : {1, 2, 3, 4, 9, 10, 11, 17, 18, 19, 100, 512, 1000}) {
    std::vector<int64_t> v = RandomBits(rng, n);
    ExpectRoundTrip(v, 1);
    ExpectRoundTrip(v, 2);
    ExpectPackedRoundTrip(v);
  }
}

TEST(DeltaStream, RoundTripsEveryGroupBoundary) {
  // Group counts 0..3 with partial last groups of every size, both orders.
  auto rng = testing::SeededRng();
  for (size_t n = 1; n <= 3 * 8 + 3; ++n) {
    std::vector<int64_t> v(n);
    for (size_t i = 0; i < n; ++i) v[i] = 1000 * static_cast<int64_t>(i) + (rng() % 7);
    ExpectRoundTrip(v, 1);
    ExpectRoundTrip(v, 2);
    ExpectPackedRoundTrip(v);
  }
}

TEST(DeltaStream, ExtremeValuesWrapAround) {
  std::vector<int64_t> v = {kMin, kMax, kMin, kMax, 0, kMin, -1, kMax, kMin, kMin, kMax, 1, -1};
  ExpectRoundTrip(v, 1);
  ExpectRoundTrip(v, 2);
  ExpectPackedRoundTrip(v);
  std::vector<int64_t> desc = {kMax, kMax - 1, 0, kMin + 1, kMin};
  ExpectRoundTrip(desc, 2);
  ExpectPackedRoundTrip(desc);
}

TEST(DeltaStream, OutOfOrderAndRepeatedValues) {
  std::vector<int64_t> v = {5, 5, 5, 3, 9, 9, 1, 2, 2, 100, -100, 7, 7, 7, 7, 7, 7, 7, 7, 6};
  ExpectRoundTrip(v, 1);
  ExpectRoundTrip(v, 2);
}

TEST(DeltaStream, EveryWidthBoundary) {
  // Residuals whose zigzag is just below, at and just above each power of
  // two (every width 0..64 and the edges of each), in a group of their own
  // between constant runs so that each forces its own width.
  for (int b = 0; b <= 63; ++b) {
    for (int64_t r : {int64_t{1} << b >> 1, -(int64_t{1} << b >> 1), (int64_t{1} << b >> 1) - 1,
                      -(int64_t{1} << b >> 1) - 1, static_cast<int64_t>(uint64_t{1} << b)}) {
      std::vector<int64_t> steps;  // delta-of-delta r at one index
      int64_t v = 0, d = 1;
      for (int i = 0; i < 30; ++i) {
        if (i == 13) d = static_cast<int64_t>(static_cast<uint64_t>(d) + static_cast<uint64_t>(r));
        v = static_cast<int64_t>(static_cast<uint64_t>(v) + static_cast<uint64_t>(d));
        steps.push_back(v);
      }
      ExpectRoundTrip(steps, 2);
      ExpectRoundTrip(steps, 1);
    }
  }
}

TEST(DeltaStream, RoundTripsEveryUniformWidth) {
  // Long streams whose residuals all need exactly w bits, for every w:
  // exercises each extraction path (a group per word, half a group per
  // word, a word per field, and the bounds-checked tail).
  auto rng = testing::SeededRng();
  for (int w = 1; w <= 64; ++w) {
    for (int order : {1, 2}) {
      std::vector<int64_t> v = {static_cast<int64_t>(rng())};
      if (order == 2) v.push_back(static_cast<int64_t>(rng()));
      uint64_t delta = order == 2 ? static_cast<uint64_t>(v[1]) - static_cast<uint64_t>(v[0]) : 0;
      for (int i = 0; i < 300; ++i) {
        uint64_t zz = (uint64_t{1} << (w - 1)) | (rng() & ((uint64_t{1} << (w - 1)) - 1));
        auto r = static_cast<uint64_t>(ZigZagDecode(zz));
        uint64_t last = static_cast<uint64_t>(v.back());
        if (order == 2) {
          delta += r;
          v.push_back(static_cast<int64_t>(last + delta));
        } else {
          v.push_back(static_cast<int64_t>(last + r));
        }
      }
      DeltaStreamPlan plan = PlanDeltaStream(v, order);
      EXPECT_EQ(0, plan.selector_bits) << w;
      EXPECT_EQ(w, plan.widths[0]);
      ExpectRoundTrip(v, order);
    }
  }
}

TEST(DeltaStream, ArithmeticSequencesOfEveryLength) {
  // All residuals 0: decoded without a bit stream, for every remainder.
  for (int64_t step : {int64_t{1}, int64_t{-3}, int64_t{0}, kMax, kMin}) {
    for (size_t n = 1; n <= 21; ++n) {
      std::vector<int64_t> v(n);
      for (size_t i = 0; i < n; ++i) {
        v[i] = static_cast<int64_t>(uint64_t{7} + i * static_cast<uint64_t>(step));
      }
      ExpectRoundTrip(v, 2);
      std::vector<int64_t> constant(n, step);
      ExpectRoundTrip(constant, 1);
      ExpectRoundTrip(constant, 2);
    }
  }
}

TEST(DeltaStream, ConstantStepCostsNoResidualBits) {
  std::vector<int64_t> steps(512);
  for (size_t i = 0; i < steps.size(); ++i) steps[i] = 1000 + static_cast<int64_t>(i);
  DeltaStreamPlan plan = PlanDeltaStream(steps, 2);
  EXPECT_EQ(0, plan.selector_bits);
  EXPECT_EQ(0, plan.widths[0]);
  EXPECT_EQ(0u, plan.payload_bits);
  std::string bytes = Encode(steps, 2);
  // varint(zigzag 1000) 2 bytes, varint(zigzag 1) 1, s 1, table 1.
  EXPECT_EQ(5u, bytes.size());
  ExpectRoundTrip(steps, 2);
}

TEST(DeltaStream, JitteredTimesCostAFewBitsPerPoint) {
  auto rng = testing::SeededRng();
  std::vector<int64_t> times;
  int64_t t = 1'700'000'000'000;
  for (int i = 0; i < 512; ++i) {
    t += 250 + static_cast<int64_t>(rng() % 9) - 4;  // 250 ms +- 4
    times.push_back(t);
  }
  std::string bytes = Encode(times, 2);
  // Residuals in [-8, 8]: at most 5 bits each plus the selectors.
  EXPECT_LT(bytes.size() * 8, 512u * 5);
  ExpectRoundTrip(times, 2);
}

// The size of the stream with a given table, by encoding with it.
size_t SizeWithTable(const std::vector<int64_t>& v, int order, int s,
                     const std::vector<uint8_t>& widths) {
  DeltaStreamPlan plan;
  plan.selector_bits = s;
  for (size_t j = 0; j < size_t{1} << s; ++j) {
    plan.widths[j] = widths[std::min(j, widths.size() - 1)];
  }
  std::string out;
  EncodeDeltaStream(v, order, plan, &out);
  std::vector<int64_t> got(v.size());
  EXPECT_TRUE(DecodeDeltaStream(out, order, v.size(), got.data()).ok());
  EXPECT_EQ(v, got);
  return out.size();
}

TEST(DeltaStream, PlanIsNoLargerThanAnyTable) {
  // Brute force: every table made of the groups' bit lengths (it must hold
  // the largest) for every selector width.
  auto rng = testing::SeededRng();
  for (int trial = 0; trial < 20; ++trial) {
    std::vector<int64_t> v;
    int64_t x = 0;
    for (int i = 0; i < 200; ++i) {
      int shift = static_cast<int>(rng() % 6);
      x += static_cast<int64_t>(rng() % (uint64_t{1} << shift));
      v.push_back(x);
    }
    for (int order : {1, 2}) {
      // The distinct group bit lengths.
      std::vector<uint8_t> lengths;
      for (size_t start = static_cast<size_t>(order); start < v.size(); start += 8) {
        uint64_t any = 0;
        for (size_t i = start; i < std::min(v.size(), start + 8); ++i) {
          uint64_t d1 = static_cast<uint64_t>(v[i]) - static_cast<uint64_t>(v[i - 1]);
          uint64_t r = d1;
          if (order == 2)
            r = d1 - (static_cast<uint64_t>(v[i - 1]) - static_cast<uint64_t>(v[i - 2]));
          any |= ZigZagEncode(static_cast<int64_t>(r));
        }
        lengths.push_back(static_cast<uint8_t>(std::bit_width(any)));
      }
      std::sort(lengths.begin(), lengths.end());
      lengths.erase(std::unique(lengths.begin(), lengths.end()), lengths.end());
      ASSERT_LE(lengths.size(), 12u);
      size_t best = SIZE_MAX;
      uint8_t widest = lengths.back();
      size_t others = lengths.size() - 1;
      for (uint32_t mask = 0; mask < (1u << others); ++mask) {
        std::vector<uint8_t> table;
        for (size_t j = 0; j < others; ++j) {
          if (mask & (1u << j)) table.push_back(lengths[j]);
        }
        table.push_back(widest);
        if (table.size() > 8) continue;
        int s = 0;  // the narrowest selector for the table
        while ((size_t{1} << s) < table.size()) ++s;
        best = std::min(best, SizeWithTable(v, order, s, table));
      }
      EXPECT_EQ(best, PlanDeltaStream(v, order).size()) << "trial " << trial << " order " << order;
    }
  }
}

TEST(DeltaStream, EveryTruncationIsCorruption) {
  auto rng = testing::SeededRng();
  std::vector<int64_t> v = RandomBits(rng, 40);
  for (int order : {1, 2}) {
    std::string bytes = Encode(v, order);
    std::vector<int64_t> got(v.size());
    for (size_t len = 0; len < bytes.size(); ++len) {
      Status st =
          DecodeDeltaStream(std::string_view(bytes).substr(0, len), order, v.size(), got.data());
      EXPECT_TRUE(st.IsCorruption()) << "len " << len << ": " << st.ToString();
    }
  }
}

TEST(DeltaStream, TrailingBytesAreCorruption) {
  std::vector<int64_t> v = {1, 2, 4, 8, 16, 32};
  for (size_t n : {1, 2, 6}) {
    std::vector<int64_t> head(v.begin(), v.begin() + static_cast<ptrdiff_t>(n));
    std::string bytes = Encode(head, 2) + '\0';
    std::vector<int64_t> got(n);
    EXPECT_TRUE(DecodeDeltaStream(bytes, 2, n, got.data()).IsCorruption()) << n;
  }
}

TEST(DeltaStream, InvalidSelectorWidthIsCorruption) {
  std::string bytes;
  PutVarint64(&bytes, 0);
  PutVarint64(&bytes, 0);
  bytes += '\x04';  // s = 4 > 3
  bytes += std::string(16, '\0');
  std::vector<int64_t> got(3);
  EXPECT_TRUE(DecodeDeltaStream(bytes, 2, 3, got.data()).IsCorruption());
}

TEST(DeltaStream, WidthOver64IsCorruption) {
  std::string bytes;
  PutVarint64(&bytes, 0);
  bytes += '\x00';  // s = 0
  bytes += '\x41';  // width 65
  bytes += std::string(9, '\0');
  std::vector<int64_t> got(2);
  EXPECT_TRUE(DecodeDeltaStream(bytes, 1, 2, got.data()).IsCorruption());
}

TEST(DeltaStream, CountLargerThanEncodedIsCorruption) {
  std::vector<int64_t> v(100);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<int64_t>(i * i);
  std::string bytes = Encode(v, 1);
  std::vector<int64_t> got(1000);
  EXPECT_TRUE(DecodeDeltaStream(bytes, 1, 1000, got.data()).IsCorruption());
}

TEST(PackedStream, ConstantValuesCostNoBits) {
  std::vector<int64_t> v(512, 42);
  std::string bytes;
  EncodePackedStream(v, &bytes);
  EXPECT_EQ(2u, bytes.size());  // varint(zigzag 42), width 0
  ExpectPackedRoundTrip(v);
}

TEST(PackedStream, FullRangeTakes64Bits) {
  std::vector<int64_t> v = {kMin, kMax, 0, -1, 1, kMin, kMax, 3, 4};
  std::string bytes;
  EncodePackedStream(v, &bytes);
  EXPECT_EQ(64, static_cast<uint8_t>(bytes[10]));  // after a 10-byte varint
  ExpectPackedRoundTrip(v);
}

TEST(PackedStream, EveryTruncationIsCorruption) {
  std::vector<int64_t> v = {3, 9, 27, 81, 243, 729, 2187, 6561, 19683, 59049};
  std::string bytes;
  EncodePackedStream(v, &bytes);
  std::vector<int64_t> got(v.size());
  for (size_t len = 0; len < bytes.size(); ++len) {
    EXPECT_TRUE(DecodePackedStream(std::string_view(bytes).substr(0, len), v.size(), got.data())
                    .IsCorruption())
        << len;
  }
  EXPECT_TRUE(DecodePackedStream(bytes + '\0', v.size(), got.data()).IsCorruption());
  bytes[1] = 65;  // width over 64
  EXPECT_TRUE(DecodePackedStream(bytes, v.size(), got.data()).IsCorruption());
}

// ---- integer columns ------------------------------------------------------

std::vector<int64_t> ColumnRoundTrip(const std::vector<int64_t>& v, uint8_t* kind = nullptr) {
  std::string bytes;
  EncodeIntColumn(v, &bytes);
  if (kind) *kind = static_cast<uint8_t>(bytes.at(0));
  std::vector<int64_t> out(v.size(), 12345);
  Status s = DecodeIntColumn(bytes, v.size(), out.data());
  EXPECT_TRUE(s.ok()) << s.ToString();
  return out;
}

TEST(IntColumn, JitteredClockIsLinearAndSmallerThanDeltaOfDelta) {
  auto rng = testing::SeededRng();
  std::uniform_int_distribution<int> jitter(-3, 3);
  std::vector<int64_t> times;
  for (int i = 0; i < 1024; ++i) times.push_back(1'704'067'200'123 + i * 250 + jitter(rng));
  uint8_t kind = 0;
  EXPECT_EQ(times, ColumnRoundTrip(times, &kind));
  EXPECT_EQ(static_cast<uint8_t>(format::IntColumn::kLinear), kind);
  std::string linear, dod;
  EncodeIntColumn(times, &linear);
  EncodeDeltaStream(times, 2, &dod);
  // About 3 bits a point against about 4.4.
  EXPECT_LT(linear.size() * 8, 1024 * 32 / 10);
  EXPECT_LT(linear.size(), dod.size());
}

TEST(IntColumn, DriftingIntervalsStayDeltaOfDelta) {
  // Step times that slow down steadily: the linear residuals grow with i,
  // delta-of-delta stays tiny.
  std::vector<int64_t> times;
  int64_t t = 0;
  for (int i = 0; i < 512; ++i) times.push_back(t += 100 + i);
  uint8_t kind = 9;
  EXPECT_EQ(times, ColumnRoundTrip(times, &kind));
  EXPECT_EQ(static_cast<uint8_t>(format::IntColumn::kDeltaOfDelta), kind);
}

TEST(IntColumn, ConstantStepsCostAFewBytes) {
  std::vector<int64_t> steps;
  for (int i = 0; i < 1024; ++i) steps.push_back(5000 + i);
  std::string bytes;
  EncodeIntColumn(steps, &bytes);
  EXPECT_LE(bytes.size(), 6u);
  EXPECT_EQ(steps, ColumnRoundTrip(steps));
}

TEST(IntColumn, ExtremeAndRandomValuesRoundTrip) {
  EXPECT_EQ((std::vector<int64_t>{kMin, kMax}), ColumnRoundTrip({kMin, kMax}));
  EXPECT_EQ((std::vector<int64_t>{kMax, kMin, 0, kMax}), ColumnRoundTrip({kMax, kMin, 0, kMax}));
  EXPECT_EQ((std::vector<int64_t>{7}), ColumnRoundTrip({7}));
  auto rng = testing::SeededRng();
  for (size_t n : {2u, 3u, 9u, 100u, 1000u}) {
    std::vector<int64_t> v(n);
    for (auto& x : v) x = static_cast<int64_t>(rng());
    EXPECT_EQ(v, ColumnRoundTrip(v));
  }
}

TEST(IntColumn, UnknownKindIsCorruption) {
  std::string bytes;
  EncodeIntColumn(std::vector<int64_t>{1, 2, 3}, &bytes);
  bytes[0] = 7;
  int64_t out[3];
  EXPECT_TRUE(DecodeIntColumn(bytes, 3, out).IsCorruption());
  EXPECT_TRUE(DecodeIntColumn("", 3, out).IsCorruption());
}

TEST(IntColumn, TruncatedLinearColumnIsCorruption) {
  std::vector<int64_t> times;
  for (int i = 0; i < 64; ++i) times.push_back(i * 250 + (i % 3));
  std::string bytes;
  EncodeIntColumn(times, &bytes);
  ASSERT_EQ(static_cast<uint8_t>(format::IntColumn::kLinear), static_cast<uint8_t>(bytes[0]));
  std::vector<int64_t> out(times.size());
  for (size_t len = 1; len < bytes.size(); ++len) {
    EXPECT_FALSE(
        DecodeIntColumn(std::string_view(bytes).substr(0, len), times.size(), out.data()).ok())
        << len;
  }
}

}  // namespace
}  // namespace vigil::codec
