// Tests of Wal: segments, rotation, deletion, replay and torn-tail recovery
// across reopenings of a real directory.
#include "storage/wal/wal.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "storage/file.h"
#include "storage/wal/log_format.h"
#include "testing/testing.h"

namespace vigil::storage {
namespace {

using vigil::testing::ReadFileOrDie;
using vigil::testing::TempDir;
using vigil::testing::WriteFileOrDie;

std::unique_ptr<Wal> OpenWal(const std::string& dir, uint64_t segment_bytes = 64ull << 20) {
  WalOptions o;
  o.dir = dir;
  o.segment_bytes = segment_bytes;
  auto w = Wal::Open(o);
  EXPECT_TRUE(w.ok()) << w.status().ToString();
  return w.ok() ? std::move(w).value() : nullptr;
}

struct Replayed {
  Status status;
  std::vector<std::string> records;
  WalReplayStats stats;
};

Replayed ReplayAll(Wal* wal, uint64_t first_segment = 1) {
  Replayed r;
  r.status = wal->Replay(
      first_segment,
      [&r](std::string_view rec) {
        r.records.emplace_back(rec);
        return Status::OK();
      },
      &r.stats);
  return r;
}

std::string Record(int i, size_t n = 100) {
  std::string s = "record-" + std::to_string(i) + "-";
  while (s.size() < n) s += static_cast<char>('a' + i % 26);
  s.resize(n);
  return s;
}

void AppendAll(Wal* wal, const std::vector<std::string>& records) {
  for (const auto& r : records) ASSERT_TRUE(wal->Append(r).ok());
  ASSERT_TRUE(wal->Flush().ok());
}

TEST(WalTest, SegmentName) {
  EXPECT_EQ("00000001.wal", WalSegmentName(1));
  EXPECT_EQ("00000042.wal", WalSegmentName(42));
  EXPECT_EQ("123456789.wal", WalSegmentName(123456789));
}

TEST(WalTest, EmptyDirectory) {
  TempDir dir;
  auto wal = OpenWal(dir.Join("wal"));
  ASSERT_NE(nullptr, wal);
  EXPECT_EQ(1u, wal->current_segment());
  EXPECT_EQ(0u, wal->total_bytes());
  Replayed r = ReplayAll(wal.get());
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_TRUE(r.records.empty());
  EXPECT_EQ(0u, r.stats.records);
  EXPECT_EQ(0u, r.stats.torn_tail_bytes);
}

TEST(WalTest, AppendThenReplayAfterReopen) {
  TempDir dir;
  std::vector<std::string> records;
  for (int i = 0; i < 50; ++i) records.push_back(Record(i, i * 997 % 70000));
  {
    auto wal = OpenWal(dir.path());
    AppendAll(wal.get(), records);
  }
  auto wal = OpenWal(dir.path());
  EXPECT_EQ(2u, wal->current_segment());
  Replayed r = ReplayAll(wal.get());
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(records, r.records);
  EXPECT_EQ(50u, r.stats.records);
  uint64_t bytes = 0;
  for (const auto& rec : records) bytes += rec.size();
  EXPECT_EQ(bytes, r.stats.bytes);
  EXPECT_EQ(2u, r.stats.segments);  // 1 with records, 2 (new, empty)
  EXPECT_EQ(0u, r.stats.torn_tail_bytes);
}

TEST(WalTest, ReopenAppendsToNewSegment) {
  TempDir dir;
  {
    auto wal = OpenWal(dir.path());
    AppendAll(wal.get(), {"a", "b"});
  }
  const uint64_t size1 = *FileSize(dir.Join("00000001.wal"));
  {
    auto wal = OpenWal(dir.path());
    ASSERT_TRUE(ReplayAll(wal.get()).status.ok());
    AppendAll(wal.get(), {"c"});
    EXPECT_EQ(2u, wal->current_segment());
  }
  EXPECT_EQ(size1, *FileSize(dir.Join("00000001.wal"))) << "an old segment is never appended to";
  EXPECT_GT(*FileSize(dir.Join("00000002.wal")), 0u);
  auto wal = OpenWal(dir.path());
  EXPECT_EQ(3u, wal->current_segment());
  EXPECT_EQ((std::vector<std::string>{"a", "b", "c"}), ReplayAll(wal.get()).records);
}

TEST(WalTest, IgnoresFilesThatAreNotSegments) {
  TempDir dir;
  WriteFileOrDie(dir.Join("notes.txt"), "x");
  WriteFileOrDie(dir.Join("1.wal"), "x");
  WriteFileOrDie(dir.Join("00000007.wal.tmp"), "x");
  auto wal = OpenWal(dir.path());
  EXPECT_EQ(1u, wal->current_segment());
  EXPECT_EQ(0u, wal->total_bytes());
  Replayed r = ReplayAll(wal.get());
  EXPECT_TRUE(r.status.ok()) << r.status.ToString();
}

TEST(WalTest, SegmentFullRotatesOnAppend) {
  TempDir dir;
  auto wal = OpenWal(dir.path(), /*segment_bytes=*/4096);
  std::vector<std::string> records;
  for (int i = 0; i < 100; ++i) records.push_back(Record(i, 500));
  AppendAll(wal.get(), records);
  EXPECT_GT(wal->current_segment(), 5u);
  for (uint64_t s = 1; s < wal->current_segment(); ++s) {
    uint64_t size = *FileSize(dir.Join(WalSegmentName(s)));
    EXPECT_GE(size, 4096u);
    EXPECT_LT(size, 4096u + 600u) << "rotation happens before the record that would overflow";
  }
  wal.reset();
  auto again = OpenWal(dir.path(), 4096);
  EXPECT_EQ(records, ReplayAll(again.get()).records);
}

TEST(WalTest, RecordLargerThanSegmentStaysWhole) {
  TempDir dir;
  auto wal = OpenWal(dir.path(), /*segment_bytes=*/1024);
  const std::string big = Record(1, 200000);
  AppendAll(wal.get(), {"small", big, "after"});
  EXPECT_EQ(2u, wal->current_segment());  // "after" went to a new segment
  wal.reset();
  auto again = OpenWal(dir.path(), 1024);
  EXPECT_EQ((std::vector<std::string>{"small", big, "after"}), ReplayAll(again.get()).records);
}

TEST(WalTest, RotateAndRemoveSegmentsBefore) {
  TempDir dir;
  auto wal = OpenWal(dir.path());
  AppendAll(wal.get(), {"s1-a", "s1-b"});
  auto s2 = wal->Rotate();
  ASSERT_TRUE(s2.ok());
  EXPECT_EQ(2u, *s2);
  AppendAll(wal.get(), {"s2-a"});
  auto s3 = wal->Rotate();
  ASSERT_TRUE(s3.ok());
  EXPECT_EQ(3u, *s3);
  EXPECT_EQ(3u, wal->current_segment());
  AppendAll(wal.get(), {"s3-a"});
  EXPECT_EQ(*DirectorySize(dir.path()), wal->total_bytes());

  ASSERT_TRUE(wal->RemoveSegmentsBefore(3).ok());
  EXPECT_FALSE(FileExists(dir.Join("00000001.wal")));
  EXPECT_FALSE(FileExists(dir.Join("00000002.wal")));
  EXPECT_TRUE(FileExists(dir.Join("00000003.wal")));
  EXPECT_EQ(*DirectorySize(dir.path()), wal->total_bytes());

  // Never the current segment, even when asked.
  ASSERT_TRUE(wal->RemoveSegmentsBefore(100).ok());
  EXPECT_TRUE(FileExists(dir.Join("00000003.wal")));
  EXPECT_EQ(*DirectorySize(dir.path()), wal->total_bytes());
  wal.reset();

  auto again = OpenWal(dir.path());
  EXPECT_EQ(4u, again->current_segment());
  EXPECT_EQ(std::vector<std::string>{"s3-a"}, ReplayAll(again.get(), 3).records);
}

TEST(WalTest, ReplayFromSegmentSkipsOlderOnes) {
  TempDir dir;
  {
    auto wal = OpenWal(dir.path());
    AppendAll(wal.get(), {"old"});
    ASSERT_TRUE(wal->Rotate().ok());
    AppendAll(wal.get(), {"new"});
  }
  auto wal = OpenWal(dir.path());
  EXPECT_EQ(std::vector<std::string>{"new"}, ReplayAll(wal.get(), 2).records);
}

TEST(WalTest, TotalBytesCountsExistingSegmentsAtOpen) {
  TempDir dir;
  {
    auto wal = OpenWal(dir.path());
    AppendAll(wal.get(), {Record(1, 5000), Record(2, 5000)});
    EXPECT_EQ(*DirectorySize(dir.path()), wal->total_bytes());
  }
  auto wal = OpenWal(dir.path());
  EXPECT_EQ(*DirectorySize(dir.path()), wal->total_bytes());
}

TEST(WalTest, ReplayStopsAtCallbackError) {
  TempDir dir;
  {
    auto wal = OpenWal(dir.path());
    AppendAll(wal.get(), {"a", "b", "c"});
  }
  auto wal = OpenWal(dir.path());
  int calls = 0;
  Status s = wal->Replay(
      1,
      [&calls](std::string_view) {
        return ++calls == 2 ? Status::InvalidArgument("stop here") : Status::OK();
      },
      nullptr);
  EXPECT_EQ(Status::InvalidArgument("stop here"), s);
  EXPECT_EQ(2, calls);
}

TEST(WalTest, ReplayAfterAppendIsRefused) {
  TempDir dir;
  auto wal = OpenWal(dir.path());
  AppendAll(wal.get(), {"a"});
  EXPECT_EQ(StatusCode::kFailedPrecondition, ReplayAll(wal.get()).status.code());
}

// Writes `records` into segment 1 of a fresh directory and returns the
// segment's bytes and the offset where the last record starts.
std::string GoldenSegment(const std::vector<std::string>& records, uint64_t* last_start) {
  TempDir dir;
  auto wal = OpenWal(dir.path());
  for (size_t i = 0; i < records.size(); ++i) {
    if (i + 1 == records.size()) {
      EXPECT_TRUE(wal->Flush().ok());
      *last_start = *FileSize(dir.Join("00000001.wal"));
    }
    EXPECT_TRUE(wal->Append(records[i]).ok());
  }
  wal.reset();
  return ReadFileOrDie(dir.Join("00000001.wal"));
}

TEST(WalTest, TornTailAtEveryOffsetIsTruncatedThenAppendable) {
  // The last record crosses a block boundary: FIRST + LAST fragments.
  std::vector<std::string> records = {"first", Record(2, log::kBlockSize - 60), Record(3, 40)};
  uint64_t last = 0;
  const std::string golden = GoldenSegment(records, &last);
  ASSERT_LT(last, log::kBlockSize);
  ASSERT_GT(golden.size(), log::kBlockSize);
  const std::vector<std::string> before(records.begin(), records.end() - 1);
  for (uint64_t cut = last; cut < golden.size(); ++cut) {
    SCOPED_TRACE(cut);
    TempDir dir;
    WriteFileOrDie(dir.Join("00000001.wal"), golden.substr(0, cut));
    {
      auto wal = OpenWal(dir.path());
      Replayed r = ReplayAll(wal.get());
      ASSERT_TRUE(r.status.ok()) << r.status.ToString();
      ASSERT_EQ(before, r.records);
      ASSERT_EQ(cut - last, r.stats.torn_tail_bytes);
      ASSERT_EQ(last, *FileSize(dir.Join("00000001.wal")));
      ASSERT_EQ(*DirectorySize(dir.path()), wal->total_bytes());
      ASSERT_TRUE(wal->Append("after restart").ok());
    }
    auto wal = OpenWal(dir.path());
    Replayed r = ReplayAll(wal.get());
    ASSERT_TRUE(r.status.ok()) << r.status.ToString();
    std::vector<std::string> want = before;
    want.push_back("after restart");
    ASSERT_EQ(want, r.records);
    ASSERT_EQ(0u, r.stats.torn_tail_bytes);
  }
}

TEST(WalTest, SecondReplayAfterTruncationDropsNothingMore) {
  TempDir dir;
  {
    auto wal = OpenWal(dir.path());
    AppendAll(wal.get(), {"a", Record(1, 50000)});
  }
  const std::string seg = dir.Join("00000001.wal");
  ASSERT_TRUE(TruncateFile(seg, *FileSize(seg) - 10).ok());
  uint64_t size_after = 0;
  {
    auto wal = OpenWal(dir.path());
    Replayed r = ReplayAll(wal.get());
    ASSERT_TRUE(r.status.ok());
    EXPECT_EQ(std::vector<std::string>{"a"}, r.records);
    EXPECT_GT(r.stats.torn_tail_bytes, 0u);
    size_after = *FileSize(seg);
  }
  for (int i = 0; i < 2; ++i) {
    auto wal = OpenWal(dir.path());
    Replayed r = ReplayAll(wal.get());
    ASSERT_TRUE(r.status.ok());
    EXPECT_EQ(std::vector<std::string>{"a"}, r.records);
    EXPECT_EQ(0u, r.stats.torn_tail_bytes);
    EXPECT_EQ(size_after, *FileSize(seg));
  }
}

TEST(WalTest, ZeroFilledTailIsTruncated) {
  TempDir dir;
  {
    auto wal = OpenWal(dir.path());
    AppendAll(wal.get(), {"a", "b"});
  }
  const std::string seg = dir.Join("00000001.wal");
  const uint64_t size = *FileSize(seg);
  WriteFileOrDie(seg, ReadFileOrDie(seg) + std::string(100000, '\0'));
  auto wal = OpenWal(dir.path());
  Replayed r = ReplayAll(wal.get());
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ((std::vector<std::string>{"a", "b"}), r.records);
  EXPECT_EQ(100000u, r.stats.torn_tail_bytes);
  EXPECT_EQ(size, *FileSize(seg));
}

TEST(WalTest, TornTailBeforeEmptySegmentsIsAccepted) {
  // A process crashed mid-write in segment 1; the next one opened (creating
  // the empty segment 2) and crashed before replaying.
  TempDir dir;
  {
    auto wal = OpenWal(dir.path());
    AppendAll(wal.get(), {"a", Record(1, 3000)});
  }
  const std::string seg = dir.Join("00000001.wal");
  ASSERT_TRUE(TruncateFile(seg, *FileSize(seg) - 1).ok());
  { auto crashed = OpenWal(dir.path()); }
  ASSERT_TRUE(FileExists(dir.Join("00000002.wal")));
  auto wal = OpenWal(dir.path());
  Replayed r = ReplayAll(wal.get());
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(std::vector<std::string>{"a"}, r.records);
  EXPECT_GT(r.stats.torn_tail_bytes, 0u);
}

TEST(WalTest, TornTailInOlderSegmentIsCorruption) {
  TempDir dir;
  {
    auto wal = OpenWal(dir.path());
    AppendAll(wal.get(), {"a", Record(1, 3000)});
    ASSERT_TRUE(wal->Rotate().ok());
    AppendAll(wal.get(), {"b"});
  }
  const std::string seg = dir.Join("00000001.wal");
  const uint64_t size = *FileSize(seg);
  ASSERT_TRUE(TruncateFile(seg, size - 1).ok());
  auto wal = OpenWal(dir.path());
  Replayed r = ReplayAll(wal.get());
  EXPECT_TRUE(r.status.IsCorruption()) << r.status.ToString();
  EXPECT_NE(std::string::npos, r.status.message().find(seg)) << r.status.ToString();
  EXPECT_EQ(size - 1, *FileSize(seg)) << "corruption is reported, never truncated away";
}

TEST(WalTest, BadCrcInMiddleOfNewestSegmentIsCorruption) {
  TempDir dir;
  uint64_t second = 0;
  {
    auto wal = OpenWal(dir.path());
    AppendAll(wal.get(), {"first"});
    second = *FileSize(dir.Join("00000001.wal"));
    AppendAll(wal.get(), {"second", "third"});
  }
  const std::string seg = dir.Join("00000001.wal");
  std::string c = ReadFileOrDie(seg);
  c[second + log::kHeaderSize + 1] ^= 0x20;
  WriteFileOrDie(seg, c);
  auto wal = OpenWal(dir.path());
  Replayed r = ReplayAll(wal.get());
  EXPECT_TRUE(r.status.IsCorruption()) << r.status.ToString();
  EXPECT_NE(std::string::npos, r.status.message().find(seg)) << r.status.ToString();
  EXPECT_NE(std::string::npos, r.status.message().find("offset " + std::to_string(second)));
  EXPECT_EQ(std::vector<std::string>{"first"}, r.records);
  EXPECT_EQ(c.size(), *FileSize(seg));
}

TEST(WalTest, MissingSegmentIsCorruption) {
  TempDir dir;
  {
    auto wal = OpenWal(dir.path());
    for (int i = 0; i < 3; ++i) {
      AppendAll(wal.get(), {Record(i)});
      ASSERT_TRUE(wal->Rotate().ok());
    }
  }
  ASSERT_TRUE(RemoveFile(dir.Join("00000002.wal")).ok());
  auto wal = OpenWal(dir.path());
  Replayed r = ReplayAll(wal.get());
  EXPECT_TRUE(r.status.IsCorruption()) << r.status.ToString();
  EXPECT_NE(std::string::npos, r.status.message().find("00000002.wal")) << r.status.ToString();
}

TEST(WalTest, SyncFailureIsNotRequiredForNormalUse) {
  // Sync on a healthy file succeeds repeatedly and keeps appends working.
  TempDir dir;
  auto wal = OpenWal(dir.path());
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(wal->Append(Record(i)).ok());
    ASSERT_TRUE(wal->Sync().ok());
  }
  wal.reset();
  auto again = OpenWal(dir.path());
  EXPECT_EQ(3u, ReplayAll(again.get()).records.size());
}

}  // namespace
}  // namespace vigil::storage
