// Tests of the typed WAL records: exact layout, bit-exact round trips and
// robustness of the decoder against truncated and garbled bytes.
#include "storage/record/wal_record.h"

#include <bit>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "testing/testing.h"

namespace vigil::storage {
namespace {

constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

SeriesColumns Column(std::vector<int64_t> steps, std::vector<int64_t> times,
                     std::vector<double> values) {
  SeriesColumns c;
  c.steps = std::move(steps);
  c.times = std::move(times);
  c.values = std::move(values);
  return c;
}

NewSeries Def(uint64_t id, std::string run, std::string metric, Labels labels = {}) {
  NewSeries n;
  n.id = id;
  n.key.run = std::move(run);
  n.key.metric = std::move(metric);
  n.key.labels = std::move(labels);
  return n;
}

std::vector<uint64_t> Bits(const std::vector<double>& v) {
  std::vector<uint64_t> b;
  for (double d : v) b.push_back(std::bit_cast<uint64_t>(d));
  return b;
}

BatchRecord RoundTrip(const std::vector<NewSeries>& defs, const WriteBatch& batch,
                      const std::vector<uint64_t>& ids) {
  std::string bytes;
  EncodeBatchRecord(defs, batch, ids, &bytes);
  Result<WalRecord> r = DecodeWalRecord(bytes);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  if (!r.ok() || !std::holds_alternative<BatchRecord>(*r)) {
    ADD_FAILURE() << "not a batch record";
    return {};
  }
  return std::get<BatchRecord>(std::move(r).value());
}

// Compares a decoded batch with what was encoded, values bit for bit.
void ExpectSame(const std::vector<NewSeries>& defs, const WriteBatch& batch,
                const std::vector<uint64_t>& ids, const BatchRecord& got) {
  EXPECT_EQ(defs, got.new_series);
  ASSERT_EQ(batch.series.size(), got.samples.size());
  for (size_t i = 0; i < got.samples.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(ids[i], got.samples[i].id);
    EXPECT_EQ(batch.series[i].steps, got.samples[i].steps);
    EXPECT_EQ(batch.series[i].times, got.samples[i].times);
    EXPECT_EQ(Bits(batch.series[i].values), Bits(got.samples[i].values));
  }
}

std::string Hex(const std::string& s) {
  static const char* d = "0123456789abcdef";
  std::string h;
  for (unsigned char c : s) {
    h.push_back(d[c >> 4]);
    h.push_back(d[c & 15]);
  }
  return h;
}

TEST(WalRecordTest, BatchLayoutMatchesDocumentedExample) {
  // The worked example of docs/format/wal.md ("Records"), byte for byte.
  std::vector<NewSeries> defs = {Def(7, "r1", "loss", {{"rank", "0"}})};
  WriteBatch batch;
  batch.run = "r1";
  batch.series.push_back(Column({10, 11}, {1000, 1250}, {0.5, -2.0}));
  std::string out;
  EncodeBatchRecord(defs, batch, std::vector<uint64_t>{7}, &out);
  EXPECT_EQ(
      "01"  // type kBatch
      "01"  // 1 new series
      "07"
      "027231"
      "046c6f7373"  // id 7, run "r1", metric "loss"
      "01"
      "0472616e6b"
      "0130"  // 1 label: rank=0
      "01"    // 1 series of samples
      "07"
      "02"  // id 7, 2 points
      "14"
      "02"  // steps 10, 11: zigzag(10)=20, zigzag(1)=2
      "d00f"
      "f403"               // times 1000, 1250: zigzag(1000)=2000, zigzag(250)=500
      "000000000000e03f"   // 0.5
      "00000000000000c0",  // -2.0
      Hex(out));
}

TEST(WalRecordTest, DeleteRunLayout) {
  std::string out;
  EncodeDeleteRunRecord({"run-a", 300}, &out);
  EXPECT_EQ(
      "02"
      "0572756e2d61"
      "ac02",
      Hex(out));  // 300 = 0b10_0101100
}

TEST(WalRecordTest, EmptyBatch) {
  WriteBatch batch;
  BatchRecord got = RoundTrip({}, batch, {});
  EXPECT_TRUE(got.new_series.empty());
  EXPECT_TRUE(got.samples.empty());
}

TEST(WalRecordTest, BatchRoundTrip) {
  std::vector<NewSeries> defs = {Def(1, "run", "train/loss"),
                                 Def(2, "run", "gpu/util", {{"gpu", "0"}, {"host", "a"}})};
  WriteBatch batch;
  batch.run = "run";
  batch.series.push_back(Column({0, 1, 2}, {100, 200, 300}, {3.0, 2.5, 2.25}));
  batch.series.push_back(Column({5}, {1732800000123}, {97.5}));
  batch.series.push_back(Column({9, 7, 8}, {5, 4, 3}, {1, 2, 3}));  // out of order is kept
  std::vector<uint64_t> ids = {1, 2, 99};
  ExpectSame(defs, batch, ids, RoundTrip(defs, batch, ids));
}

TEST(WalRecordTest, SpecialFloatsAreBitExact) {
  std::vector<double> values = {
      std::bit_cast<double>(0x7ff8000000000001ull),  // quiet NaN with payload
      std::bit_cast<double>(0x7ff0000000000001ull),  // signalling NaN
      std::bit_cast<double>(0xfff8000000000000ull),  // negative NaN
      -0.0,
      0.0,
      std::numeric_limits<double>::infinity(),
      -std::numeric_limits<double>::infinity(),
      std::numeric_limits<double>::denorm_min(),
      std::numeric_limits<double>::max(),
      std::numeric_limits<double>::lowest(),
  };
  std::vector<int64_t> steps(values.size()), times(values.size());
  for (size_t i = 0; i < values.size(); ++i) steps[i] = times[i] = static_cast<int64_t>(i);
  WriteBatch batch;
  batch.series.push_back(Column(steps, times, values));
  BatchRecord got = RoundTrip({}, batch, {4});
  ASSERT_EQ(1u, got.samples.size());
  EXPECT_EQ(Bits(values), Bits(got.samples[0].values));
  EXPECT_TRUE(std::signbit(got.samples[0].values[3]));
}

TEST(WalRecordTest, Int64Extremes) {
  std::vector<int64_t> v = {kMax, kMin, 0, -1, kMax, kMax, kMin, 1, kMin};
  WriteBatch batch;
  batch.series.push_back(Column(v, v, std::vector<double>(v.size(), 1.0)));
  batch.series.push_back(Column({kMin}, {kMax}, {2.0}));
  std::vector<uint64_t> ids = {std::numeric_limits<uint64_t>::max(), 0};
  ExpectSame({Def(std::numeric_limits<uint64_t>::max(), "r", "m")}, batch, ids,
             RoundTrip({Def(std::numeric_limits<uint64_t>::max(), "r", "m")}, batch, ids));
}

TEST(WalRecordTest, ManyLabelsAndLongStrings) {
  Labels labels;
  for (int i = 0; i < 1000; ++i) {
    labels.push_back({"label" + std::to_string(i), std::string(static_cast<size_t>(i), 'v')});
  }
  std::vector<NewSeries> defs = {Def(3, std::string(100000, 'r'), "m", labels)};
  WriteBatch batch;
  batch.series.push_back(Column({1}, {2}, {3}));
  ExpectSame(defs, batch, {3}, RoundTrip(defs, batch, {3}));
}

TEST(WalRecordTest, UnicodeNames) {
  std::vector<NewSeries> defs = {Def(1, "實驗-α", "损失/λ", {{"模型", "🚀"}, {"ñ", "ü\u00e9"}})};
  WriteBatch batch;
  batch.series.push_back(Column({1}, {2}, {3}));
  ExpectSame(defs, batch, {1}, RoundTrip(defs, batch, {1}));
}

TEST(WalRecordTest, LargeRandomBatch) {
  auto rng = vigil::testing::SeededRng();
  WriteBatch batch;
  std::vector<uint64_t> ids;
  for (int s = 0; s < 20; ++s) {
    SeriesColumns c;
    int64_t step = static_cast<int64_t>(rng() % 1000), time = 1732800000000;
    for (int i = 0; i < 5000; ++i) {
      step += static_cast<int64_t>(rng() % 3);
      time += static_cast<int64_t>(rng() % 100000) - 1000;
      c.steps.push_back(step);
      c.times.push_back(time);
      c.values.push_back(std::bit_cast<double>(rng()));
    }
    batch.series.push_back(std::move(c));
    ids.push_back(rng() >> (rng() % 64));
  }
  ExpectSame({}, batch, ids, RoundTrip({}, batch, ids));
}

TEST(WalRecordTest, EncodeAppendsToExistingOutput) {
  WriteBatch batch;
  batch.series.push_back(Column({1}, {2}, {3}));
  std::string out = "prefix";
  EncodeBatchRecord({}, batch, std::vector<uint64_t>{5}, &out);
  std::string alone;
  EncodeBatchRecord({}, batch, std::vector<uint64_t>{5}, &alone);
  EXPECT_EQ("prefix" + alone, out);
}

TEST(WalRecordTest, DeleteRunRoundTrip) {
  std::string out;
  EncodeDeleteRunRecord({"run-ü", std::numeric_limits<uint64_t>::max()}, &out);
  Result<WalRecord> r = DecodeWalRecord(out);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_TRUE(std::holds_alternative<DeleteRunRecord>(*r));
  EXPECT_EQ("run-ü", std::get<DeleteRunRecord>(*r).run);
  EXPECT_EQ(std::numeric_limits<uint64_t>::max(), std::get<DeleteRunRecord>(*r).max_series_id);
}

TEST(WalRecordTest, EmptyInputIsCorruption) {
  EXPECT_TRUE(DecodeWalRecord("").status().IsCorruption());
}

TEST(WalRecordTest, UnknownTypeIsCorruption) {
  for (int t : {0, 3, 255}) {
    Result<WalRecord> r = DecodeWalRecord(std::string(1, static_cast<char>(t)) + "\x00\x00");
    EXPECT_TRUE(r.status().IsCorruption()) << t;
  }
}

TEST(WalRecordTest, TruncatedBatchIsCorruptionAtEveryLength) {
  std::vector<NewSeries> defs = {Def(1, "run", "loss", {{"a", "b"}})};
  WriteBatch batch;
  batch.series.push_back(Column({1, 2, 300}, {10, 20, 70000}, {1, 2, 3}));
  std::string bytes;
  EncodeBatchRecord(defs, batch, std::vector<uint64_t>{1}, &bytes);
  for (size_t n = 0; n < bytes.size(); ++n) {
    Result<WalRecord> r = DecodeWalRecord(std::string_view(bytes).substr(0, n));
    EXPECT_TRUE(r.status().IsCorruption()) << n;
  }
}

TEST(WalRecordTest, TruncatedDeleteRunIsCorruptionAtEveryLength) {
  std::string bytes;
  EncodeDeleteRunRecord({"some-run", 1u << 20}, &bytes);
  for (size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_TRUE(DecodeWalRecord(std::string_view(bytes).substr(0, n)).status().IsCorruption()) << n;
  }
}

TEST(WalRecordTest, TrailingBytesAreCorruption) {
  std::string batch_bytes;
  EncodeBatchRecord({}, WriteBatch{}, {}, &batch_bytes);
  EXPECT_TRUE(DecodeWalRecord(batch_bytes + "x").status().IsCorruption());
  std::string del;
  EncodeDeleteRunRecord({"r", 1}, &del);
  Result<WalRecord> r = DecodeWalRecord(del + "x");
  EXPECT_TRUE(r.status().IsCorruption());
  EXPECT_NE(std::string::npos, r.status().message().find("trailing")) << r.status().ToString();
}

TEST(WalRecordTest, HugeCountsAreRejectedBeforeAllocating) {
  // A count of 2^62 items would need exabytes; the decoder must refuse it
  // from the bytes left, not try to allocate.
  const std::string huge = "\x80\x80\x80\x80\x80\x80\x80\x80\x40";  // 2^62
  EXPECT_TRUE(DecodeWalRecord("\x01" + huge).status().IsCorruption()) << "new series count";
  EXPECT_TRUE(DecodeWalRecord(std::string("\x01\x00", 2) + huge).status().IsCorruption())
      << "series count";
  EXPECT_TRUE(
      DecodeWalRecord(std::string("\x01\x01\x01\x00\x00", 5) + huge).status().IsCorruption())
      << "label count";
  Result<WalRecord> points =
      DecodeWalRecord(std::string("\x01\x00\x01\x05", 4) + huge + std::string(100, '\0'));
  EXPECT_TRUE(points.status().IsCorruption()) << "point count";
  EXPECT_NE(std::string::npos, points.status().message().find("point count"));
}

TEST(WalRecordTest, OverlongVarintIsCorruption) {
  // 11 continuation bytes: longer than any 64-bit varint.
  EXPECT_TRUE(DecodeWalRecord("\x02\x01r" + std::string(11, '\xff')).status().IsCorruption());
}

TEST(WalRecordTest, GarbledBytesNeverCrash) {
  auto rng = vigil::testing::SeededRng();
  std::vector<NewSeries> defs = {Def(1, "run", "loss", {{"a", "b"}}), Def(2, "run", "acc")};
  WriteBatch batch;
  batch.series.push_back(Column({1, 2, 3}, {10, 20, 30}, {1, 2, 3}));
  batch.series.push_back(Column({1}, {10}, {0.5}));
  std::string clean;
  EncodeBatchRecord(defs, batch, std::vector<uint64_t>{1, 2}, &clean);
  int corrupt = 0;
  for (int trial = 0; trial < 5000; ++trial) {
    std::string b = clean;
    int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f) b[rng() % b.size()] = static_cast<char>(rng());
    Result<WalRecord> r = DecodeWalRecord(b);
    // Values are raw bits, so a flip there decodes fine; anything else that
    // does not parse must be Corruption, never a crash or another code.
    if (!r.ok()) {
      ASSERT_TRUE(r.status().IsCorruption()) << r.status().ToString();
      ++corrupt;
    }
  }
  EXPECT_GT(corrupt, 0);
}

}  // namespace
}  // namespace vigil::storage
