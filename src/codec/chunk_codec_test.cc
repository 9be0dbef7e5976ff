#include "codec/chunk_codec.h"

#include <bit>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "codec/chunk_format.h"
#include "codec/varint.h"
#include "testing/testing.h"

namespace vigil::codec {
namespace {

constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

struct Points {
  std::vector<int64_t> steps, times;
  std::vector<double> values;
  size_t size() const { return values.size(); }
};

uint64_t Bits(double d) {
  return std::bit_cast<uint64_t>(d);
}

Points Typical(size_t n, const std::vector<double>& values) {
  Points p;
  for (size_t i = 0; i < n; ++i) {
    p.steps.push_back(static_cast<int64_t>(i));
    p.times.push_back(1'700'000'000'000 + 250 * static_cast<int64_t>(i));
    p.values.push_back(values[i % values.size()]);
  }
  return p;
}

Points RandomPoints(std::mt19937_64& rng, size_t n) {
  Points p;
  for (size_t i = 0; i < n; ++i) {
    p.steps.push_back(static_cast<int64_t>(rng()));
    p.times.push_back(static_cast<int64_t>(rng()));
    p.values.push_back(std::bit_cast<double>(rng()));
  }
  return p;
}

void ExpectDecodesTo(const std::string& chunk, const Points& p) {
  std::vector<int64_t> steps, times;
  std::vector<double> values;
  Status st = DecodeChunk(chunk, &steps, &times, &values);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(p.steps, steps);
  EXPECT_EQ(p.times, times);
  ASSERT_EQ(p.values.size(), values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    ASSERT_EQ(Bits(p.values[i]), Bits(values[i])) << "value " << i;
  }
}

std::string Encode(const Points& p) {
  std::string chunk;
  EncodeChunk(p.steps, p.times, p.values, &chunk);
  return chunk;
}

ValueEncoding EncodingOf(const std::string& chunk) {
  Result<ChunkInfo> info = PeekChunk(chunk);
  EXPECT_TRUE(info.ok()) << info.status().ToString();
  return info.ok() ? info->encoding : ValueEncoding::kXor64;
}

// Encodes with each encoding that accepts the points, checks each
// decodes, and checks EncodeChunk picked one of the smallest.
void ExpectAllEncodingsRoundTrip(const Points& p) {
  std::string automatic = Encode(p);
  ExpectDecodesTo(automatic, p);
  size_t smallest = SIZE_MAX;
  for (auto e : {ValueEncoding::kXor64, ValueEncoding::kXor32, ValueEncoding::kDecimal}) {
    std::string chunk;
    Status st = EncodeChunkWith(e, p.steps, p.times, p.values, &chunk);
    if (!st.ok()) {
      ASSERT_EQ(StatusCode::kNotSupported, st.code()) << st.ToString();
      continue;
    }
    EXPECT_EQ(e, EncodingOf(chunk));
    ExpectDecodesTo(chunk, p);
    smallest = std::min(smallest, chunk.size());
  }
  EXPECT_EQ(smallest, automatic.size());
}

TEST(ChunkCodec, RoundTripsRandomBitsAtManySizes) {
  auto rng = testing::SeededRng();
  for (size_t n : {size_t{1}, size_t{2}, size_t{3}, size_t{8}, size_t{9}, size_t{10}, size_t{17},
                   size_t{511}, size_t{512}, size_t{513}, size_t{4097}, kMaxChunkPoints}) {
    Points p = RandomPoints(rng, n);
    ExpectAllEncodingsRoundTrip(p);
  }
}

TEST(ChunkCodec, RoundTripsRandomFloat32AndDecimalValuesAtManySizes) {
  auto rng = testing::SeededRng();
  for (size_t n : {size_t{1}, size_t{2}, size_t{9}, size_t{100}, size_t{512}, kMaxChunkPoints}) {
    Points f32 = RandomPoints(rng, n);
    Points dec = f32;
    for (size_t i = 0; i < n; ++i) {
      f32.values[i] = static_cast<double>(static_cast<float>(
          std::ldexp(static_cast<double>(rng() % 1000000), static_cast<int>(rng() % 40) - 20)));
      dec.values[i] = static_cast<double>(static_cast<int64_t>(rng() % 2000001) - 1000000) / 1e4;
    }
    ExpectAllEncodingsRoundTrip(f32);
    EXPECT_EQ(ValueEncoding::kXor32, EncodingOf(Encode(f32)));
    ExpectAllEncodingsRoundTrip(dec);
    EXPECT_EQ(ValueEncoding::kDecimal, EncodingOf(Encode(dec)));
  }
}

TEST(ChunkCodec, EdgeValuesRoundTrip) {
  Points p = Typical(1, {0.0});
  p.values = {0.0,
              -0.0,
              std::numeric_limits<double>::infinity(),
              -std::numeric_limits<double>::infinity(),
              std::numeric_limits<double>::quiet_NaN(),
              std::bit_cast<double>(uint64_t{0x7ff0000000000001}),
              std::bit_cast<double>(uint64_t{0xfff8000000abcdef}),
              std::numeric_limits<double>::denorm_min(),
              std::numeric_limits<double>::max(),
              std::numeric_limits<double>::lowest()};
  p.steps = {kMin, kMax, kMin, 0, -1, kMax, kMax, 5, 5, kMin};
  p.times = {kMax, kMin, 0, kMax, kMin, 1, -1, kMin, kMin, kMax};
  ExpectAllEncodingsRoundTrip(p);
}

TEST(ChunkCodec, OutOfOrderAndRepeatedStepsRoundTrip) {
  Points p = Typical(12, {1.5});
  p.steps = {10, 9, 9, 9, 20, 1, 1, 100000000000, -5, 3, 3, 2};
  ExpectAllEncodingsRoundTrip(p);
}

TEST(ChunkCodec, Float32ValuesPickXor32) {
  Points p = Typical(100, {static_cast<double>(0.7f), static_cast<double>(0.6931472f)});
  EXPECT_EQ(ValueEncoding::kXor32, EncodingOf(Encode(p)));
  ExpectAllEncodingsRoundTrip(p);
}

TEST(ChunkCodec, OneNonFloat32ValueForcesXor64) {
  Points p = Typical(100, {static_cast<double>(0.7f), static_cast<double>(0.6931472f)});
  p.values[57] = 0.6931471805599453;  // ln 2 in float64
  EXPECT_EQ(ValueEncoding::kXor64, EncodingOf(Encode(p)));
  std::string chunk;
  EXPECT_EQ(StatusCode::kNotSupported,
            EncodeChunkWith(ValueEncoding::kXor32, p.steps, p.times, p.values, &chunk).code());
  EXPECT_TRUE(chunk.empty());
  ExpectAllEncodingsRoundTrip(p);
}

TEST(ChunkCodec, OneSubnormalForcesXor64) {
  Points p = Typical(20, {1.0f, 2.0f});
  p.values[3] = std::numeric_limits<double>::denorm_min();
  EXPECT_EQ(ValueEncoding::kXor64, EncodingOf(Encode(p)));
  ExpectAllEncodingsRoundTrip(p);
}

TEST(ChunkCodec, FourDecimalsPickDecimal) {
  Points p = Typical(512, {0.8125, 0.8126, 0.8131, 0.8127, 0.8119});
  std::string chunk = Encode(p);
  EXPECT_EQ(ValueEncoding::kDecimal, EncodingOf(chunk));
  ExpectAllEncodingsRoundTrip(p);
}

TEST(ChunkCodec, OneValueNeedingFiveDigitsStaysDecimal) {
  Points p = Typical(512, {0.8125, 0.8126, 0.8131, 0.8127, 0.8119});
  std::string d4 = Encode(p);
  p.values[300] = 0.81275;
  std::string d5 = Encode(p);
  EXPECT_EQ(ValueEncoding::kDecimal, EncodingOf(d5));
  EXPECT_GT(d5.size(), d4.size());
  ExpectAllEncodingsRoundTrip(p);
}

TEST(ChunkCodec, NegativeZeroRulesOutDecimal) {
  Points p = Typical(64, {0.25, 0.5});
  p.values[10] = -0.0;
  std::string chunk;
  EXPECT_EQ(StatusCode::kNotSupported,
            EncodeChunkWith(ValueEncoding::kDecimal, p.steps, p.times, p.values, &chunk).code());
  EXPECT_NE(ValueEncoding::kDecimal, EncodingOf(Encode(p)));
  ExpectAllEncodingsRoundTrip(p);
}

TEST(ChunkCodec, NaNRulesOutDecimal) {
  Points p = Typical(64, {93, 94, 95});
  EXPECT_EQ(ValueEncoding::kDecimal, EncodingOf(Encode(p)));
  p.values[63] = std::numeric_limits<double>::quiet_NaN();
  std::string chunk;
  EXPECT_EQ(StatusCode::kNotSupported,
            EncodeChunkWith(ValueEncoding::kDecimal, p.steps, p.times, p.values, &chunk).code());
  EXPECT_EQ(ValueEncoding::kXor32, EncodingOf(Encode(p)));  // integers and NaN: float32
  ExpectAllEncodingsRoundTrip(p);
}

TEST(ChunkCodec, StepsPlusOneCostAlmostNothing) {
  Points p = Typical(512, {1.0});
  std::string chunk = Encode(p);
  std::string_view in = chunk;
  in.remove_prefix(1);
  uint64_t count, steps_len;
  ASSERT_TRUE(GetVarint64(&in, &count));
  ASSERT_TRUE(GetVarint64(&in, &steps_len));
  EXPECT_EQ(512u, count);
  EXPECT_LE(steps_len * 8, 512u);  // <= 1 bit per point (in fact a few bytes)
}

TEST(ChunkCodec, PeekReadsTheHeader) {
  Points p = Typical(300, {0.001});
  Result<ChunkInfo> info = PeekChunk(Encode(p));
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(300u, info->count);
  EXPECT_EQ(ValueEncoding::kDecimal, info->encoding);
  EXPECT_EQ("decimal", ValueEncodingName(info->encoding));
  EXPECT_EQ("xor64", ValueEncodingName(ValueEncoding::kXor64));
  EXPECT_EQ("xor32", ValueEncodingName(ValueEncoding::kXor32));
}

TEST(ChunkCodec, SkipsColumnsGivenNull) {
  Points p = Typical(100, {1.25, 2.5});
  std::string chunk = Encode(p);
  std::vector<int64_t> steps;
  std::vector<double> values;
  ASSERT_TRUE(DecodeChunk(chunk, &steps, nullptr, &values).ok());
  EXPECT_EQ(p.steps, steps);
  EXPECT_EQ(p.values, values);
  std::vector<int64_t> times;
  ASSERT_TRUE(DecodeChunk(chunk, nullptr, &times, nullptr).ok());
  EXPECT_EQ(p.times, times);
  ASSERT_TRUE(DecodeChunk(chunk, nullptr, nullptr, nullptr).ok());
}

TEST(ChunkCodec, SkippedColumnIsNotDecoded) {
  // Damage the times stream only (its first byte, a varint that now never
  // ends): reading times fails, reading the other columns does not.
  Points p = Typical(100, {1.25, 2.5});
  std::string chunk = Encode(p);
  std::string_view in = chunk;
  in.remove_prefix(1);
  uint64_t count, steps_len, times_len;
  ASSERT_TRUE(GetVarint64(&in, &count) && GetVarint64(&in, &steps_len) &&
              GetVarint64(&in, &times_len));
  size_t times_at = chunk.size() - in.size() + steps_len;
  for (size_t i = 0; i < times_len; ++i) chunk[times_at + i] = '\xff';
  std::vector<int64_t> steps, times;
  std::vector<double> values;
  EXPECT_TRUE(DecodeChunk(chunk, &steps, nullptr, &values).ok());
  EXPECT_EQ(p.steps, steps);
  EXPECT_TRUE(DecodeChunk(chunk, nullptr, &times, nullptr).IsCorruption());
}

TEST(ChunkCodec, AppendsToExistingVectors) {
  Points a = Typical(10, {1.0, 2.0});
  Points b = Typical(20, {0.5});
  std::vector<int64_t> steps, times;
  std::vector<double> values;
  ASSERT_TRUE(DecodeChunk(Encode(a), &steps, &times, &values).ok());
  ASSERT_TRUE(DecodeChunk(Encode(b), &steps, &times, &values).ok());
  ASSERT_EQ(30u, values.size());
  EXPECT_EQ(1.0, values[0]);
  EXPECT_EQ(0.5, values[29]);
  EXPECT_EQ(b.times[19], times[29]);
}

TEST(ChunkCodec, FailedDecodeLeavesVectorsUnchanged) {
  Points p = Typical(50, {1.0, 3.0});
  std::string chunk = Encode(p);
  chunk.back() ^= 0x01;  // a padding or value bit: may or may not be detected
  chunk += '\x07';       // trailing byte in the values stream: always detected
  std::vector<int64_t> steps = {1}, times = {2};
  std::vector<double> values = {3.0};
  EXPECT_TRUE(DecodeChunk(chunk, &steps, &times, &values).IsCorruption());
  EXPECT_EQ(std::vector<int64_t>{1}, steps);
  EXPECT_EQ(std::vector<int64_t>{2}, times);
  EXPECT_EQ(std::vector<double>{3.0}, values);
}

TEST(ChunkCodec, EveryTruncationIsCorruption) {
  auto rng = testing::SeededRng();
  for (const Points& p : {RandomPoints(rng, 40), Typical(40, {0.8125, 0.25}),
                          Typical(40, {static_cast<double>(0.3f), 1.0})}) {
    std::string chunk = Encode(p);
    for (size_t len = 0; len < chunk.size(); ++len) {
      std::vector<int64_t> steps, times;
      std::vector<double> values;
      Status st = DecodeChunk(std::string_view(chunk).substr(0, len), &steps, &times, &values);
      EXPECT_TRUE(st.IsCorruption()) << len << ": " << st.ToString();
      EXPECT_FALSE(PeekChunk(std::string_view(chunk).substr(0, len)).ok() && len < 2) << len;
    }
  }
}

TEST(ChunkCodec, BadVersionIsCorruption) {
  std::string chunk = Encode(Typical(5, {1.0}));
  chunk[0] = static_cast<char>((2 << format::kVersionShift) | (chunk[0] & format::kEncodingMask));
  EXPECT_TRUE(PeekChunk(chunk).status().IsCorruption());
  EXPECT_TRUE(DecodeChunk(chunk, nullptr, nullptr, nullptr).IsCorruption());
  chunk[0] = 0;  // version 0
  EXPECT_TRUE(DecodeChunk(chunk, nullptr, nullptr, nullptr).IsCorruption());
}

TEST(ChunkCodec, BadEncodingIsCorruption) {
  std::string chunk = Encode(Typical(5, {1.0}));
  chunk[0] = static_cast<char>((format::kChunkVersion << format::kVersionShift) | 3);
  EXPECT_TRUE(PeekChunk(chunk).status().IsCorruption());
  EXPECT_TRUE(DecodeChunk(chunk, nullptr, nullptr, nullptr).IsCorruption());
}

std::string Header(uint64_t count, uint64_t steps_len, uint64_t times_len) {
  std::string h(1, static_cast<char>(format::kChunkVersion << format::kVersionShift));
  PutVarint64(&h, count);
  PutVarint64(&h, steps_len);
  PutVarint64(&h, times_len);
  return h;
}

TEST(ChunkCodec, ZeroCountIsCorruption) {
  std::string chunk = Header(0, 0, 0);
  EXPECT_TRUE(PeekChunk(chunk).status().IsCorruption());
  EXPECT_TRUE(DecodeChunk(chunk, nullptr, nullptr, nullptr).IsCorruption());
}

TEST(ChunkCodec, CountOverTheMaximumIsCorruption) {
  std::string chunk = Header(kMaxChunkPoints + 1, 0, 0);
  EXPECT_TRUE(PeekChunk(chunk).status().IsCorruption());
  chunk = Header(uint64_t{1} << 40, 0, 0);  // must not allocate 8 TB
  std::vector<int64_t> steps;
  EXPECT_TRUE(DecodeChunk(chunk, &steps, nullptr, nullptr).IsCorruption());
}

TEST(ChunkCodec, LargeCountWithShortStreamsIsCorruption) {
  // A count the streams do not hold: the decoders run out of bits.
  Points p = Typical(10, {0.5, 1.5});
  std::string chunk = Encode(p);
  chunk[1] = '\x70';  // count 10 -> 112 (one-byte varint)
  std::vector<int64_t> steps, times;
  std::vector<double> values;
  EXPECT_TRUE(DecodeChunk(chunk, &steps, &times, &values).IsCorruption());
  EXPECT_TRUE(values.empty());
}

TEST(ChunkCodec, StreamLengthsPastTheEndAreCorruption) {
  std::string body(10, '\0');
  EXPECT_TRUE(DecodeChunk(Header(1, 11, 0) + body, nullptr, nullptr, nullptr).IsCorruption());
  EXPECT_TRUE(DecodeChunk(Header(1, 5, 6) + body, nullptr, nullptr, nullptr).IsCorruption());
  EXPECT_TRUE(
      DecodeChunk(Header(1, ~uint64_t{0}, 2) + body, nullptr, nullptr, nullptr).IsCorruption());
  EXPECT_TRUE(
      DecodeChunk(Header(1, 2, ~uint64_t{0} - 1) + body, nullptr, nullptr, nullptr).IsCorruption());
}

TEST(ChunkCodec, RandomByteDamageNeverCrashes) {
  // Every outcome is fine except a crash, an overread (under ASan) or a
  // success with the wrong number of points.
  auto rng = testing::SeededRng();
  Points typical = Typical(200, {0.8125, 0.8126, 0.5});
  Points f32 = Typical(200, {static_cast<double>(0.3f), 1.0});
  Points random = RandomPoints(rng, 200);
  for (const Points* p : {&typical, &f32, &random}) {
    std::string chunk = Encode(*p);
    for (int trial = 0; trial < 2000; ++trial) {
      std::string damaged = chunk;
      int flips = 1 + static_cast<int>(rng() % 3);
      for (int f = 0; f < flips; ++f) {
        damaged[rng() % damaged.size()] ^= static_cast<char>(1 << (rng() % 8));
      }
      std::vector<int64_t> steps, times;
      std::vector<double> values;
      Status st = DecodeChunk(damaged, &steps, &times, &values);
      if (st.ok()) {
        Result<ChunkInfo> info = PeekChunk(damaged);
        ASSERT_TRUE(info.ok());
        EXPECT_EQ(info->count, values.size());
        EXPECT_EQ(info->count, steps.size());
      } else {
        EXPECT_TRUE(st.IsCorruption()) << st.ToString();
        EXPECT_TRUE(values.empty());
      }
    }
  }
}

TEST(ChunkCodec, EncodeChunkWithRejectsBadSizes) {
  std::vector<int64_t> two = {1, 2};
  std::vector<int64_t> one = {1};
  std::vector<double> v2 = {1.0, 2.0};
  std::string chunk;
  EXPECT_TRUE(EncodeChunkWith(ValueEncoding::kXor64, two, one, v2, &chunk).IsInvalidArgument());
  EXPECT_TRUE(EncodeChunkWith(ValueEncoding::kXor64, {}, {}, {}, &chunk).IsInvalidArgument());
  std::vector<int64_t> big(kMaxChunkPoints + 1);
  std::vector<double> bigv(kMaxChunkPoints + 1);
  EXPECT_TRUE(EncodeChunkWith(ValueEncoding::kXor64, big, big, bigv, &chunk).IsInvalidArgument());
  EXPECT_TRUE(chunk.empty());
}

TEST(ChunkCodec, EncodeAppendsToOutput) {
  Points p = Typical(3, {1.0});
  std::string out = "prefix";
  EncodeChunk(p.steps, p.times, p.values, &out);
  ASSERT_EQ("prefix", out.substr(0, 6));
  ExpectDecodesTo(out.substr(6), p);
}

}  // namespace
}  // namespace vigil::codec

namespace vigil::codec {
namespace {

// The worked example of docs/format/chunks.md, byte for byte: if this test
// changes, the document must change with it.
TEST(ChunkFormatDoc, WorkedExampleBytes) {
  std::vector<int64_t> steps, times;
  const int deltas[] = {250, 251, 248, 251, 252, 248, 251, 248, 251, 250};
  int64_t t = 1'700'000'000'000;
  for (int i = 0; i <= 10; ++i) {
    steps.push_back(100 + i);
    times.push_back(t);
    if (i < 10) t += deltas[i];
  }
  std::vector<double> values = {0.81, 0.82, 0.82, 0.83, 0.85, 0.84, 0.86, 0.86, 0.87, 0.88, 0.88};
  std::string chunk;
  EncodeChunk(steps, times, values, &chunk);
  std::string hex;
  for (unsigned char c : chunk) hex += fmt::format("{:02x} ", c);
  hex.pop_back();
  EXPECT_EQ(
      "12 0b 05 0d 01 02 c8 01 00 01 f4 03 fe 9f ab fe f9 62 02 58 "
      "76 14 02 a2 01 03 04 a8 ed df 80",
      hex);
}

}  // namespace
}  // namespace vigil::codec
