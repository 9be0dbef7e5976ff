// Tests of the WAL framing: LogWriter and LogReader, one named test per edge
// case of the format (after leveldb's db/log_test.cc), plus the torn-tail vs
// corruption classification.
#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "codec/varint.h"
#include "core/crc32c.h"
#include "storage/file.h"
#include "storage/wal/log_format.h"
#include "storage/wal/log_reader.h"
#include "storage/wal/log_writer.h"
#include "testing/testing.h"

namespace vigil::storage {
namespace {

using log::kBlockSize;
using log::kHeaderSize;

// `partial` repeated to length n.
std::string BigString(const std::string& partial, size_t n) {
  std::string s;
  while (s.size() < n) s.append(partial);
  s.resize(n);
  return s;
}

std::string NumberString(int n) {
  return std::to_string(n) + ".";
}

// One fragment built by hand from the format's definition (not with
// LogWriter), for sequences the writer never produces.
std::string Fragment(log::FragmentType type, const std::string& payload) {
  std::string f;
  std::string covered = std::string(1, static_cast<char>(type)) + payload;
  codec::PutFixed32(&f, crc32c::Mask(crc32c::Value(covered)));
  f.push_back(static_cast<char>(payload.size() & 0xff));
  f.push_back(static_cast<char>(payload.size() >> 8));
  f.push_back(static_cast<char>(type));
  f.append(payload);
  return f;
}

struct ReadResult {
  std::vector<std::string> records;
  LogReader::End end = LogReader::End::kNotYet;
  uint64_t valid_end = 0;
  uint64_t damage = 0;
  Status status;
};

ReadResult ReadAll(std::string_view data) {
  LogReader reader(data, "seg.wal");
  ReadResult r;
  std::string_view rec;
  while (reader.ReadRecord(&rec)) r.records.emplace_back(rec);
  EXPECT_FALSE(reader.ReadRecord(&rec)) << "a reader that has stopped stays stopped";
  r.end = reader.end();
  r.valid_end = reader.valid_end();
  r.damage = reader.damage_offset();
  r.status = reader.status();
  return r;
}

class LogTest : public ::testing::Test {
 protected:
  LogTest() : path_(dir_.Join("seg.wal")) {
    auto f = WritableFile::Open(path_, /*truncate=*/true);
    EXPECT_TRUE(f.ok()) << f.status().ToString();
    file_ = std::move(f).value();
    writer_ = std::make_unique<LogWriter>(file_.get());
  }

  // Appends a record and returns the offset of its first header.
  uint64_t Write(const std::string& record) {
    uint64_t pos = file_->size();
    if (kBlockSize - pos % kBlockSize < kHeaderSize) pos += kBlockSize - pos % kBlockSize;
    Status s = writer_->AddRecord(record);
    EXPECT_TRUE(s.ok()) << s.ToString();
    written_.push_back(record);
    starts_.push_back(pos);
    ends_.push_back(file_->size());
    return pos;
  }
  uint64_t WrittenBytes() const { return file_->size(); }
  std::string Contents() {
    EXPECT_TRUE(file_->Flush().ok());
    return vigil::testing::ReadFileOrDie(path_);
  }
  std::vector<std::string> WrittenPrefix(size_t n) const {
    return {written_.begin(), written_.begin() + static_cast<ptrdiff_t>(n)};
  }

  vigil::testing::TempDir dir_;
  std::string path_;
  std::unique_ptr<WritableFile> file_;
  std::unique_ptr<LogWriter> writer_;
  std::vector<std::string> written_;
  std::vector<uint64_t> starts_;  // offset of each record's first header
  std::vector<uint64_t> ends_;    // offset just past each record
};

TEST_F(LogTest, Empty) {
  ReadResult r = ReadAll(Contents());
  EXPECT_TRUE(r.records.empty());
  EXPECT_EQ(LogReader::End::kClean, r.end);
  EXPECT_EQ(0u, r.valid_end);
  EXPECT_TRUE(r.status.ok());
}

TEST_F(LogTest, ReadWrite) {
  Write("foo");
  Write("bar");
  Write("");
  Write("xxxx");
  ReadResult r = ReadAll(Contents());
  EXPECT_EQ(written_, r.records);
  EXPECT_EQ(LogReader::End::kClean, r.end);
  EXPECT_EQ(WrittenBytes(), r.valid_end);
}

TEST_F(LogTest, EmptyRecordIsOneHeader) {
  Write("");
  EXPECT_EQ(kHeaderSize, WrittenBytes());
  std::string c = Contents();
  EXPECT_EQ(Fragment(log::kFullType, ""), c);
  EXPECT_EQ(std::vector<std::string>{""}, ReadAll(c).records);
}

TEST_F(LogTest, HeaderLayoutMatchesFormat) {
  Write("hello");
  // crc(LE) | length 5 (LE) | type FULL | "hello", built independently.
  EXPECT_EQ(Fragment(log::kFullType, "hello"), Contents());
}

TEST_F(LogTest, ManyBlocks) {
  for (int i = 0; i < 100000; i++) Write(NumberString(i));
  ASSERT_GT(WrittenBytes(), 10 * kBlockSize);
  ReadResult r = ReadAll(Contents());
  EXPECT_EQ(written_, r.records);
  EXPECT_EQ(LogReader::End::kClean, r.end);
}

TEST_F(LogTest, Fragmentation) {
  Write("small");
  Write(BigString("medium", 50000));
  Write(BigString("large", 100000));
  ReadResult r = ReadAll(Contents());
  EXPECT_EQ(written_, r.records);
  EXPECT_EQ(LogReader::End::kClean, r.end);
}

TEST_F(LogTest, HugeRecordSpansHundredsOfBlocks) {
  auto rng = vigil::testing::SeededRng();
  std::string big(20 << 20, '\0');
  for (char& c : big) c = static_cast<char>(rng());
  Write("before");
  Write(big);
  Write("after");
  ReadResult r = ReadAll(Contents());
  ASSERT_EQ(3u, r.records.size());
  EXPECT_TRUE(r.records[1] == big);
  EXPECT_EQ("after", r.records[2]);
  EXPECT_EQ(LogReader::End::kClean, r.end);
}

TEST_F(LogTest, RecordExactlyFillsBlock) {
  Write(BigString("fill", kBlockSize - kHeaderSize));
  EXPECT_EQ(kBlockSize, WrittenBytes());
  EXPECT_EQ(kBlockSize, Write("next"));  // no trailer: next header opens block 1
  std::string c = Contents();
  EXPECT_EQ(log::kFullType, c[6]);
  ReadResult r = ReadAll(c);
  EXPECT_EQ(written_, r.records);
  EXPECT_EQ(LogReader::End::kClean, r.end);
}

TEST_F(LogTest, RecordOneByteTooLongForBlock) {
  Write(BigString("fill", kBlockSize - kHeaderSize + 1));
  // FIRST fills block 0, LAST holds the last byte at the start of block 1.
  EXPECT_EQ(kBlockSize + kHeaderSize + 1, WrittenBytes());
  std::string c = Contents();
  EXPECT_EQ(log::kFirstType, c[6]);
  EXPECT_EQ(log::kLastType, c[kBlockSize + 6]);
  EXPECT_EQ(written_, ReadAll(c).records);
}

TEST_F(LogTest, MarginalTrailer) {
  // Leaves exactly one header's room: the empty record fits there.
  const size_t n = kBlockSize - 2 * kHeaderSize;
  Write(BigString("foo", n));
  EXPECT_EQ(kBlockSize - kHeaderSize, WrittenBytes());
  Write("");
  Write("bar");
  ReadResult r = ReadAll(Contents());
  EXPECT_EQ(written_, r.records);
  EXPECT_EQ(LogReader::End::kClean, r.end);
}

TEST_F(LogTest, MarginalTrailer2) {
  // A non-empty record at a marginal trailer starts with an empty FIRST.
  const size_t n = kBlockSize - 2 * kHeaderSize;
  Write(BigString("foo", n));
  Write("bar");
  std::string c = Contents();
  EXPECT_EQ(Fragment(log::kFirstType, ""), c.substr(kBlockSize - kHeaderSize, kHeaderSize));
  EXPECT_EQ(Fragment(log::kLastType, "bar"), c.substr(kBlockSize));
  ReadResult r = ReadAll(c);
  EXPECT_EQ(written_, r.records);
  EXPECT_EQ(LogReader::End::kClean, r.end);
}

TEST_F(LogTest, ShortTrailer) {
  const size_t n = kBlockSize - 2 * kHeaderSize + 4;
  Write(BigString("foo", n));
  EXPECT_EQ(kBlockSize - kHeaderSize + 4, WrittenBytes());
  Write("");
  Write("bar");
  ReadResult r = ReadAll(Contents());
  EXPECT_EQ(written_, r.records);
  EXPECT_EQ(LogReader::End::kClean, r.end);
}

TEST_F(LogTest, TrailerOfEverySize) {
  for (size_t pad = 0; pad < kHeaderSize; ++pad) {
    SCOPED_TRACE(pad);
    vigil::testing::TempDir dir;
    auto file = WritableFile::Open(dir.Join("t.wal"), true);
    ASSERT_TRUE(file.ok());
    LogWriter writer(file->get());
    const std::string first = BigString("pad", kBlockSize - kHeaderSize - pad);
    ASSERT_TRUE(writer.AddRecord(first).ok());
    ASSERT_TRUE(writer.AddRecord("next").ok());
    ASSERT_TRUE((*file)->Flush().ok());
    std::string c = vigil::testing::ReadFileOrDie(dir.Join("t.wal"));
    ASSERT_EQ(kBlockSize + kHeaderSize + 4, c.size());
    EXPECT_EQ(std::string(pad, '\0'), c.substr(kBlockSize - pad, pad)) << "trailer is zero-filled";
    EXPECT_EQ(Fragment(log::kFullType, "next"), c.substr(kBlockSize));
    ReadResult r = ReadAll(c);
    EXPECT_EQ((std::vector<std::string>{first, "next"}), r.records);
    EXPECT_EQ(LogReader::End::kClean, r.end);
  }
}

TEST_F(LogTest, AlignedEof) {
  // The file ends inside a block, with less than a header's room left: that
  // is a clean end, not a torn one.
  const size_t n = kBlockSize - 2 * kHeaderSize + 4;
  Write(BigString("foo", n));
  EXPECT_EQ(kBlockSize - kHeaderSize + 4, WrittenBytes());
  ReadResult r = ReadAll(Contents());
  EXPECT_EQ(written_, r.records);
  EXPECT_EQ(LogReader::End::kClean, r.end);
}

TEST_F(LogTest, EofInsideTrailerPaddingIsTornTail) {
  Write(BigString("foo", kBlockSize - 2 * kHeaderSize + 4));  // leaves 3 bytes
  const uint64_t end0 = WrittenBytes();
  Write("bar");
  // The padding and the next header were one write; cut after the padding.
  ReadResult r = ReadAll(Contents().substr(0, kBlockSize));
  EXPECT_EQ(WrittenPrefix(1), r.records);
  EXPECT_EQ(LogReader::End::kTornTail, r.end);
  EXPECT_EQ(end0, r.valid_end);
}

TEST_F(LogTest, ContinuesFramingOfExistingFile) {
  Write(BigString("a", 40000));
  ASSERT_TRUE(file_->Close().ok());
  auto f = WritableFile::Open(path_, /*truncate=*/false);
  ASSERT_TRUE(f.ok());
  file_ = std::move(f).value();
  writer_ = std::make_unique<LogWriter>(file_.get());
  Write(BigString("b", 40000));
  ReadResult r = ReadAll(Contents());
  EXPECT_EQ(written_, r.records);
  EXPECT_EQ(LogReader::End::kClean, r.end);
}

TEST_F(LogTest, BadCrcInMiddleIsCorruption) {
  Write("first");
  const uint64_t second = Write("second");
  Write("third");
  std::string c = Contents();
  c[second + kHeaderSize + 2] ^= 0x01;  // a payload byte of "second"
  ReadResult r = ReadAll(c);
  EXPECT_EQ(WrittenPrefix(1), r.records);
  EXPECT_EQ(LogReader::End::kCorruption, r.end);
  EXPECT_EQ(second, r.damage);
  EXPECT_TRUE(r.status.IsCorruption());
  EXPECT_NE(std::string::npos, r.status.message().find("seg.wal")) << r.status.ToString();
  EXPECT_NE(std::string::npos, r.status.message().find("offset " + std::to_string(second)))
      << r.status.ToString();
  EXPECT_NE(std::string::npos, r.status.message().find("checksum")) << r.status.ToString();
}

TEST_F(LogTest, BadCrcInLastRecordIsTornTail) {
  Write("first");
  Write("second");
  const uint64_t third = Write("third");
  std::string c = Contents();
  c[third + kHeaderSize] ^= 0x40;
  ReadResult r = ReadAll(c);
  EXPECT_EQ(WrittenPrefix(2), r.records);
  EXPECT_EQ(LogReader::End::kTornTail, r.end);
  EXPECT_EQ(third, r.valid_end);
  EXPECT_EQ(third, r.damage);
}

TEST_F(LogTest, BadLengthInMiddleIsCorruption) {
  // The damaged length loses the fragment boundaries of the block; the
  // records after it in the same block must still be found.
  Write("first");
  const uint64_t second = Write("second");
  Write("third");
  std::string c = Contents();
  c[second + 4] = static_cast<char>(0xff);
  ReadResult r = ReadAll(c);
  EXPECT_EQ(WrittenPrefix(1), r.records);
  EXPECT_EQ(LogReader::End::kCorruption, r.end);
  EXPECT_EQ(second, r.damage);
}

TEST_F(LogTest, LengthCrossingBlockBoundaryIsRejected) {
  std::string c = Fragment(log::kFullType, "x");
  c[4] = static_cast<char>(0xfa);  // 0x7ffa = kMaxFragmentPayload + 1
  c[5] = static_cast<char>(0x7f);
  c.resize(2 * kBlockSize, 'z');
  ReadResult r = ReadAll(c);
  EXPECT_TRUE(r.records.empty());
  EXPECT_EQ(LogReader::End::kTornTail, r.end);
  EXPECT_NE(std::string::npos, r.status.message().find("block boundary")) << r.status.ToString();
}

TEST_F(LogTest, UnknownTypeInMiddleIsCorruption) {
  std::string c = Fragment(log::kFullType, "a") + Fragment(log::FragmentType{9}, "b") +
                  Fragment(log::kFullType, "c");
  ReadResult r = ReadAll(c);
  EXPECT_EQ(std::vector<std::string>{"a"}, r.records);
  EXPECT_EQ(LogReader::End::kCorruption, r.end);
  EXPECT_EQ(8u, r.damage);
}

TEST_F(LogTest, MiddleWithoutFirstIsCorruption) {
  ReadResult r = ReadAll(Fragment(log::kMiddleType, "x") + Fragment(log::kFullType, "y"));
  EXPECT_TRUE(r.records.empty());
  EXPECT_EQ(LogReader::End::kCorruption, r.end);
  EXPECT_EQ(0u, r.damage);
}

TEST_F(LogTest, LastWithoutFirstIsCorruption) {
  ReadResult r = ReadAll(Fragment(log::kLastType, "x") + Fragment(log::kFullType, "y"));
  EXPECT_TRUE(r.records.empty());
  EXPECT_EQ(LogReader::End::kCorruption, r.end);
}

TEST_F(LogTest, FirstFollowedByFullIsCorruption) {
  // A record lost its end, and a whole record follows: not a crash's mark.
  std::string a = Fragment(log::kFullType, "a");
  ReadResult r = ReadAll(a + Fragment(log::kFirstType, "b1") + Fragment(log::kFullType, "c"));
  EXPECT_EQ(std::vector<std::string>{"a"}, r.records);
  EXPECT_EQ(LogReader::End::kCorruption, r.end);
  EXPECT_EQ(a.size(), r.damage) << "the damage is the record without its end";
}

TEST_F(LogTest, FirstWithoutLastAtEndIsNeverDelivered) {
  std::string a = Fragment(log::kFullType, "a");
  ReadResult r = ReadAll(a + Fragment(log::kFirstType, "b1") + Fragment(log::kMiddleType, "b2"));
  EXPECT_EQ(std::vector<std::string>{"a"}, r.records);
  EXPECT_EQ(LogReader::End::kTornTail, r.end);
  EXPECT_EQ(a.size(), r.valid_end);
}

TEST_F(LogTest, FirstFollowedByFirstAtEndIsTornTail) {
  std::string a = Fragment(log::kFullType, "a");
  ReadResult r = ReadAll(a + Fragment(log::kFirstType, "b") + Fragment(log::kFirstType, "c"));
  EXPECT_EQ(std::vector<std::string>{"a"}, r.records);
  EXPECT_EQ(LogReader::End::kTornTail, r.end);
  EXPECT_EQ(a.size(), r.valid_end);
}

TEST_F(LogTest, TornTailAtEveryOffsetOfLastRecord) {
  // The last record spans a block boundary (FIRST + LAST), so the cuts cross
  // both headers, both payloads and the boundary.
  Write("one");
  Write(BigString("two", kBlockSize - 300));
  const uint64_t last = Write(BigString("three", 600));
  const std::string c = Contents();
  ASSERT_LT(last, kBlockSize);
  ASSERT_GT(c.size(), kBlockSize);
  for (uint64_t cut = last; cut < c.size(); ++cut) {
    SCOPED_TRACE(cut);
    ReadResult r = ReadAll(std::string_view(c).substr(0, cut));
    ASSERT_EQ(WrittenPrefix(2), r.records);
    ASSERT_EQ(last, r.valid_end);
    ASSERT_EQ(cut == last ? LogReader::End::kClean : LogReader::End::kTornTail, r.end);
  }
  EXPECT_EQ(written_, ReadAll(c).records);
}

TEST_F(LogTest, TornTailOfHugeRecordNearEveryFragmentBoundary) {
  Write("small");
  const uint64_t last = Write(BigString("huge", 5 * kBlockSize));
  const std::string c = Contents();
  for (uint64_t block = kBlockSize; block < c.size(); block += kBlockSize) {
    for (uint64_t cut = block - 10; cut < block + 10; ++cut) {
      SCOPED_TRACE(cut);
      ReadResult r = ReadAll(std::string_view(c).substr(0, cut));
      ASSERT_EQ(WrittenPrefix(1), r.records);
      ASSERT_EQ(LogReader::End::kTornTail, r.end);
      ASSERT_EQ(last, r.valid_end);
    }
  }
}

TEST_F(LogTest, ZeroFilledTailIsTornTail) {
  Write("foo");
  Write(BigString("bar", 50000));
  std::string c = Contents();
  const uint64_t end = c.size();
  c.append(3 * kBlockSize + 123, '\0');  // preallocated, never written
  ReadResult r = ReadAll(c);
  EXPECT_EQ(written_, r.records);
  EXPECT_EQ(LogReader::End::kTornTail, r.end);
  EXPECT_EQ(end, r.valid_end);
  EXPECT_NE(std::string::npos, r.status.message().find("zero-filled")) << r.status.ToString();
}

TEST_F(LogTest, GarbageTailIsTornTail) {
  auto rng = vigil::testing::SeededRng();
  Write("foo");
  Write("bar");
  std::string c = Contents();
  const uint64_t end = c.size();
  for (int i = 0; i < 100000; ++i) c.push_back(static_cast<char>(rng()));
  ReadResult r = ReadAll(c);
  EXPECT_EQ(written_, r.records);
  EXPECT_EQ(LogReader::End::kTornTail, r.end);
  EXPECT_EQ(end, r.valid_end);
}

TEST_F(LogTest, ValidRecordInLaterBlockAfterGarbageIsCorruption) {
  Write("foo");
  std::string c = Contents();
  c.append(kBlockSize - c.size(), '\x01');  // garbage to the end of block 0
  c += Fragment(log::kFullType, "later");
  ReadResult r = ReadAll(c);
  EXPECT_EQ(std::vector<std::string>{"foo"}, r.records);
  EXPECT_EQ(LogReader::End::kCorruption, r.end);
}

TEST_F(LogTest, RandomBitFlipsAreDetected) {
  auto rng = vigil::testing::SeededRng();
  for (int i = 0; i < 150; ++i) {
    size_t n = rng() % 4 == 0 ? rng() % 70000 : rng() % 300;
    Write(BigString(NumberString(i), n));
  }
  const std::string clean = Contents();
  for (int trial = 0; trial < 300; ++trial) {
    std::string c = clean;
    const uint64_t pos = rng() % c.size();
    c[pos] ^= static_cast<char>(1u << (rng() % 8));
    SCOPED_TRACE(pos);
    // The record whose bytes hold pos (trailer padding lies between records).
    size_t k = static_cast<size_t>(std::upper_bound(starts_.begin(), starts_.end(), pos) -
                                   starts_.begin() - 1);
    ReadResult r = ReadAll(c);
    if (pos >= ends_[k]) {  // in trailer padding: carries nothing
      EXPECT_EQ(written_, r.records);
      EXPECT_EQ(LogReader::End::kClean, r.end);
      continue;
    }
    ASSERT_EQ(WrittenPrefix(k), r.records) << "never a damaged record, never one past it";
    EXPECT_GE(r.damage, starts_[k]);
    EXPECT_LT(r.damage, ends_[k]);
    EXPECT_EQ(starts_[k], r.valid_end);
    EXPECT_EQ(k + 1 == written_.size() ? LogReader::End::kTornTail : LogReader::End::kCorruption,
              r.end);
  }
}

}  // namespace
}  // namespace vigil::storage
