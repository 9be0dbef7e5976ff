#include "storage/engine.h"

#include <bit>
#include <cmath>
#include <limits>
#include <thread>

#include <gtest/gtest.h>

#include "storage/file.h"
#include "testing/testing.h"

namespace vigil::storage {
namespace {

using vigil::testing::FakeClock;
using vigil::testing::TempDir;

SeriesColumns Cols(std::string run, std::string metric, Labels labels, int64_t first_step, size_t n,
                   double (*f)(int64_t)) {
  SeriesColumns c;
  c.key = {std::move(run), std::move(metric), std::move(labels)};
  for (size_t i = 0; i < n; ++i) {
    int64_t step = first_step + static_cast<int64_t>(i);
    c.steps.push_back(step);
    c.times.push_back(1'700'000'000'000 + step * 250);
    c.values.push_back(f(step));
  }
  return c;
}

double Loss(int64_t s) {
  return 2.0 * std::exp(-static_cast<double>(s) / 500.0) + 0.01 * std::sin(s);
}
double Acc(int64_t s) {
  return std::round(10000.0 * (1 - 1 / (1 + s * 0.01))) / 10000.0;
}

WriteBatch Batch(std::string run, std::vector<SeriesColumns> series) {
  WriteBatch b;
  b.run = std::move(run);
  b.series = std::move(series);
  return b;
}

void ExpectSameBits(const SeriesColumns& want, const SeriesColumns& got) {
  ASSERT_EQ(want.size(), got.size());
  for (size_t i = 0; i < want.size(); ++i) {
    ASSERT_EQ(want.steps[i], got.steps[i]) << i;
    ASSERT_EQ(want.times[i], got.times[i]) << i;
    ASSERT_EQ(std::bit_cast<uint64_t>(want.values[i]), std::bit_cast<uint64_t>(got.values[i])) << i;
  }
}

SeriesColumns ReadAll(const Engine& e, const SeriesKey& key) {
  auto info = e.FindSeries(key);
  EXPECT_TRUE(info.has_value());
  SeriesColumns out;
  if (info) {
    EXPECT_TRUE(e.ReadSeries(info->id, ReadRange{}, &out).ok());
  }
  return out;
}

class EngineTest : public ::testing::Test {
 protected:
  EngineOptions Options() {
    EngineOptions o;
    o.dir = dir_.path();
    o.head_chunk_points = 64;
    o.block_chunk_points = 256;
    o.clock = &clock_;
    return o;
  }
  std::unique_ptr<Engine> Open(EngineOptions o) {
    auto e = Engine::Open(o);
    EXPECT_TRUE(e.ok()) << e.status().ToString();
    return e.ok() ? std::move(*e) : nullptr;
  }
  TempDir dir_;
  FakeClock clock_{1'700'000'000'000};
};

TEST_F(EngineTest, AppendsAndReadsBackEveryBitPattern) {
  auto e = Open(Options());
  auto rng = vigil::testing::SeededRng();
  SeriesColumns c;
  c.key = {"r1", "weird", {}};
  for (int i = 0; i < 5000; ++i) {
    c.steps.push_back(i);
    c.times.push_back(1'700'000'000'000 + i);
    c.values.push_back(std::bit_cast<double>(rng()));
  }
  c.values[7] = -0.0;
  c.values[8] = std::numeric_limits<double>::infinity();
  c.values[9] = std::bit_cast<double>(0x7ff8dead00000001ull);  // NaN with a payload
  auto r = e->AppendSync(Batch("r1", {c}));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(5000u, r->accepted);
  EXPECT_EQ(1u, r->new_series);
  ExpectSameBits(c, ReadAll(*e, c.key));
}

TEST_F(EngineTest, ReplaysTheWalAfterAnUncleanClose) {
  EngineOptions o = Options();
  o.flush_on_close = false;
  SeriesColumns loss = Cols("r1", "train/loss", {}, 0, 1000, Loss);
  SeriesColumns acc = Cols("r1", "val/acc", {{"split", "a"}}, 0, 300, Acc);
  {
    auto e = Open(o);
    ASSERT_TRUE(e->AppendSync(Batch("r1", {loss, acc})).ok());
  }
  auto e = Open(o);
  EXPECT_GT(e->stats().replayed_records, 0u);
  ExpectSameBits(loss, ReadAll(*e, loss.key));
  ExpectSameBits(acc, ReadAll(*e, acc.key));
  auto info = e->FindSeries(acc.key);
  ASSERT_TRUE(info);
  EXPECT_EQ(300u, info->stats.count);
  EXPECT_EQ(299, info->stats.last_step);
}

TEST_F(EngineTest, FlushWritesABlockAndDropsTheLog) {
  auto e = Open(Options());
  SeriesColumns loss = Cols("r1", "train/loss", {}, 0, 1000, Loss);
  ASSERT_TRUE(e->AppendSync(Batch("r1", {loss})).ok());
  ASSERT_TRUE(e->Flush().ok());
  EngineStats s = e->stats();
  EXPECT_EQ(1u, s.blocks);
  EXPECT_EQ(1000u, s.block_points);
  EXPECT_EQ(0u, s.head_points);
  ExpectSameBits(loss, ReadAll(*e, loss.key));
  e.reset();
  e = Open(Options());
  EXPECT_EQ(0u, e->stats().replayed_records);
  ExpectSameBits(loss, ReadAll(*e, loss.key));
}

TEST_F(EngineTest, FlushOfAnEmptyHeadIsANoOp) {
  auto e = Open(Options());
  ASSERT_TRUE(e->Flush().ok());
  EXPECT_EQ(0u, e->stats().blocks);
}

TEST_F(EngineTest, CompactionBoundsTheNumberOfBlocks) {
  EngineOptions o = Options();
  auto e = Open(o);
  SeriesColumns all = Cols("r1", "train/loss", {}, 0, 0, Loss);
  for (int i = 0; i < 20; ++i) {
    SeriesColumns part = Cols("r1", "train/loss", {}, i * 50, 50, Loss);
    all.steps.insert(all.steps.end(), part.steps.begin(), part.steps.end());
    all.times.insert(all.times.end(), part.times.begin(), part.times.end());
    all.values.insert(all.values.end(), part.values.begin(), part.values.end());
    ASSERT_TRUE(e->AppendSync(Batch("r1", {part})).ok());
    ASSERT_TRUE(e->Flush().ok());
  }
  // Background compaction runs within about a second of each flush.
  for (int i = 0; i < 50 && e->stats().blocks >= o.compaction_fanin; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_LT(e->stats().blocks, o.compaction_fanin);
  ExpectSameBits(all, ReadAll(*e, all.key));
  ASSERT_TRUE(e->CompactAll().ok());
  EXPECT_EQ(1u, e->stats().blocks);
  ExpectSameBits(all, ReadAll(*e, all.key));
  // Re-chunked into full block_chunk_points chunks.
  std::vector<ChunkView> chunks;
  ASSERT_TRUE(e->ScanSeries(e->FindSeries(all.key)->id, ReadRange{}, &chunks).ok());
  ASSERT_EQ(4u, chunks.size());
  EXPECT_EQ(256u, chunks[0].meta.count);
  EXPECT_EQ(1000u - 3 * 256, chunks[3].meta.count);
  e.reset();
  e = Open(o);
  ExpectSameBits(all, ReadAll(*e, all.key));
}

TEST_F(EngineTest, ResentBatchesAreDroppedAsDuplicates) {
  auto e = Open(Options());
  SeriesColumns loss = Cols("r1", "train/loss", {}, 0, 500, Loss);
  ASSERT_TRUE(e->AppendSync(Batch("r1", {loss})).ok());
  auto again = e->AppendSync(Batch("r1", {loss}));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(0u, again->accepted);
  EXPECT_EQ(500u, again->duplicates);
  // Also against data already in a block, and mixed with new points.
  ASSERT_TRUE(e->Flush().ok());
  SeriesColumns overlap = Cols("r1", "train/loss", {}, 400, 200, Loss);
  auto r = e->AppendSync(Batch("r1", {overlap}));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(100u, r->accepted);
  EXPECT_EQ(100u, r->duplicates);
  EXPECT_EQ(600u, ReadAll(*e, loss.key).size());
}

TEST_F(EngineTest, SameStepWithADifferentValueIsKept) {
  auto e = Open(Options());
  SeriesColumns a = Cols("r1", "x", {}, 0, 10, Loss);
  ASSERT_TRUE(e->AppendSync(Batch("r1", {a})).ok());
  SeriesColumns b = Cols("r1", "x", {}, 5, 1, Acc);  // step 5 again, another value
  auto r = e->AppendSync(Batch("r1", {b}));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(1u, r->accepted);
  SeriesColumns got = ReadAll(*e, a.key);
  ASSERT_EQ(11u, got.size());
  // Sorted by step, equal steps in append order.
  EXPECT_EQ(5, got.steps[5]);
  EXPECT_EQ(5, got.steps[6]);
  EXPECT_EQ(std::bit_cast<uint64_t>(a.values[5]), std::bit_cast<uint64_t>(got.values[5]));
  EXPECT_EQ(std::bit_cast<uint64_t>(b.values[0]), std::bit_cast<uint64_t>(got.values[6]));
}

TEST_F(EngineTest, ReadsAreSortedByTheRequestedAxisAndRange) {
  auto e = Open(Options());
  SeriesColumns c;
  c.key = {"r1", "x", {}};
  // Steps out of order, times in a different order still.
  for (int64_t s : {5, 1, 3, 2, 4}) {
    c.steps.push_back(s);
    c.times.push_back(1000 - s);
    c.values.push_back(static_cast<double>(s));
  }
  ASSERT_TRUE(e->AppendSync(Batch("r1", {c})).ok());
  auto id = e->FindSeries(c.key)->id;
  SeriesColumns by_step, by_time, range;
  ASSERT_TRUE(e->ReadSeries(id, ReadRange{Axis::kStep}, &by_step).ok());
  EXPECT_EQ((std::vector<int64_t>{1, 2, 3, 4, 5}), by_step.steps);
  ASSERT_TRUE(e->ReadSeries(id, ReadRange{Axis::kTime}, &by_time).ok());
  EXPECT_EQ((std::vector<int64_t>{995, 996, 997, 998, 999}), by_time.times);
  ASSERT_TRUE(e->ReadSeries(id, ReadRange{Axis::kStep, 2, 4}, &range).ok());
  EXPECT_EQ((std::vector<int64_t>{2, 3, 4}), range.steps);
}

TEST_F(EngineTest, DeletedRunsStayDeletedAcrossRestartAndCompaction) {
  EngineOptions o = Options();
  o.flush_on_close = false;
  SeriesColumns a = Cols("gone", "train/loss", {}, 0, 300, Loss);
  SeriesColumns b = Cols("kept", "train/loss", {}, 0, 300, Loss);
  {
    auto e = Open(o);
    ASSERT_TRUE(e->AppendSync(Batch("gone", {a})).ok());
    ASSERT_TRUE(e->AppendSync(Batch("kept", {b})).ok());
    ASSERT_TRUE(e->Flush().ok());  // both in a block
    SeriesColumns more = Cols("gone", "train/loss", {}, 300, 10, Loss);
    ASSERT_TRUE(e->AppendSync(Batch("gone", {more})).ok());  // and in the WAL
    ASSERT_TRUE(e->DeleteRun("gone").ok());
    EXPECT_TRUE(e->ListSeries("gone").empty());
  }
  {
    auto e = Open(o);
    EXPECT_TRUE(e->ListSeries("gone").empty());
    ExpectSameBits(b, ReadAll(*e, b.key));
    // A run of the same name starts afresh.
    SeriesColumns fresh = Cols("gone", "train/loss", {}, 0, 5, Acc);
    ASSERT_TRUE(e->AppendSync(Batch("gone", {fresh})).ok());
    ExpectSameBits(fresh, ReadAll(*e, fresh.key));
    ASSERT_TRUE(e->CompactAll().ok());
    ExpectSameBits(fresh, ReadAll(*e, fresh.key));
  }
  auto e = Open(o);
  EXPECT_EQ(5u, ReadAll(*e, a.key).size());
  ExpectSameBits(b, ReadAll(*e, b.key));
}

TEST_F(EngineTest, RetentionDropsOldPointsAndRebuildsStats) {
  EngineOptions o = Options();
  o.retention_ms = 3'600'000;
  auto e = Open(o);
  // 1000 points, 250 ms apart, ending now.
  SeriesColumns c = Cols("r1", "x", {}, 0, 1000, Loss);
  for (size_t i = 0; i < c.size(); ++i) c.times[i] = clock_.NowMillis() - (999 - i) * 250;
  ASSERT_TRUE(e->AppendSync(Batch("r1", {c})).ok());
  ASSERT_TRUE(e->Flush().ok());
  // Two hours later the first 500 points (older than 1 h) are due.
  clock_.Advance(3'600'000 - 499 * 250 - 125);
  ASSERT_TRUE(e->CompactAll().ok());
  SeriesColumns got = ReadAll(*e, c.key);
  ASSERT_EQ(500u, got.size());
  EXPECT_EQ(500, got.steps.front());
  // Stats follow (rebuilt on the commit thread shortly after).
  for (int i = 0; i < 50 && e->FindSeries(c.key)->stats.count != 500; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(500u, e->FindSeries(c.key)->stats.count);
  EXPECT_EQ(500, e->FindSeries(c.key)->stats.first_step);
}

TEST_F(EngineTest, ConcurrentWritersLoseNothing) {
  auto e = Open(Options());
  constexpr int kThreads = 8, kBatches = 50, kPoints = 20;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int b = 0; b < kBatches; ++b) {
        SeriesColumns c =
            Cols("r1", "x", {{"thread", std::to_string(t)}}, b * kPoints, kPoints, Loss);
        auto r = e->AppendSync(Batch("r1", {c}));
        ASSERT_TRUE(r.ok()) << r.status().ToString();
      }
    });
  }
  for (auto& t : threads) t.join();
  for (int t = 0; t < kThreads; ++t) {
    SeriesColumns want =
        Cols("r1", "x", {{"thread", std::to_string(t)}}, 0, kBatches * kPoints, Loss);
    ExpectSameBits(want, ReadAll(*e, want.key));
  }
  EXPECT_EQ(static_cast<uint64_t>(kThreads * kBatches * kPoints), e->stats().points_appended);
}

TEST_F(EngineTest, SecondOpenOfTheSameDirectoryFails) {
  auto e = Open(Options());
  auto second = Engine::Open(Options());
  EXPECT_FALSE(second.ok());
}

TEST_F(EngineTest, IntervalAndOffPoliciesStillReplay) {
  for (FsyncPolicy p : {FsyncPolicy::kInterval, FsyncPolicy::kOff}) {
    TempDir dir;
    EngineOptions o = Options();
    o.dir = dir.path();
    o.fsync = p;
    o.flush_on_close = false;
    SeriesColumns c = Cols("r1", "x", {}, 0, 100, Loss);
    {
      auto e = Open(o);
      ASSERT_TRUE(e->AppendSync(Batch("r1", {c})).ok());
    }
    auto e = Open(o);
    ExpectSameBits(c, ReadAll(*e, c.key));
  }
}

TEST_F(EngineTest, TornWalTailLosesOnlyTheUnfinishedBatch) {
  EngineOptions o = Options();
  o.flush_on_close = false;
  SeriesColumns first = Cols("r1", "x", {}, 0, 100, Loss);
  SeriesColumns second = Cols("r1", "x", {}, 100, 100, Loss);
  {
    auto e = Open(o);
    ASSERT_TRUE(e->AppendSync(Batch("r1", {first})).ok());
    ASSERT_TRUE(e->AppendSync(Batch("r1", {second})).ok());
  }
  // Cut the newest segment in the middle of the second batch's record.
  auto names = ListDirectory(dir_.Join("wal"));
  ASSERT_TRUE(names.ok());
  std::string last = dir_.Join("wal/" + names->back());
  uint64_t size = *FileSize(last);
  ASSERT_TRUE(TruncateFile(last, size - 100).ok());
  auto e = Open(o);
  EXPECT_GT(e->stats().torn_tail_bytes, 0u);
  ExpectSameBits(first, ReadAll(*e, first.key));
  // Appending after recovery works and survives another restart.
  ASSERT_TRUE(e->AppendSync(Batch("r1", {second})).ok());
  e.reset();
  e = Open(o);
  EXPECT_EQ(200u, ReadAll(*e, first.key).size());
}

TEST_F(EngineTest, StatsTrackCountExtremesAndLastValue) {
  auto e = Open(Options());
  SeriesColumns c;
  c.key = {"r1", "x", {}};
  double vals[] = {3, std::nan(""), -1, 7, 2};
  for (int i = 0; i < 5; ++i) {
    c.steps.push_back(i);
    c.times.push_back(100 + i);
    c.values.push_back(vals[i]);
  }
  ASSERT_TRUE(e->AppendSync(Batch("r1", {c})).ok());
  for (int round = 0; round < 2; ++round) {
    auto s = e->FindSeries(c.key)->stats;
    EXPECT_EQ(5u, s.count);
    EXPECT_EQ(1u, s.nan_count);
    EXPECT_EQ(-1, s.min_value);
    EXPECT_EQ(7, s.max_value);
    EXPECT_EQ(2, s.last_value);
    EXPECT_EQ(4, s.last_step);
    ASSERT_TRUE(e->CompactAll().ok());  // stats now come from the block
    e.reset();
    e = Open(Options());
  }
}

TEST_F(EngineTest, ScanSummariesMatchTheDecodedPoints) {
  auto e = Open(Options());
  SeriesColumns c = Cols("r1", "x", {}, 0, 1000, Loss);
  ASSERT_TRUE(e->AppendSync(Batch("r1", {c})).ok());
  ASSERT_TRUE(e->Flush().ok());
  ASSERT_TRUE(e->AppendSync(Batch("r1", {Cols("r1", "x", {}, 1000, 30, Loss)})).ok());
  std::vector<ChunkView> chunks;
  ASSERT_TRUE(e->ScanSeries(e->FindSeries(c.key)->id, ReadRange{}, &chunks).ok());
  size_t total = 0;
  for (const ChunkView& v : chunks) {
    SeriesColumns d;
    ASSERT_TRUE(v.Decode(&d.steps, &d.times, &d.values).ok());
    ChunkMeta m = ComputeChunkMeta(d.steps, d.times, d.values);
    EXPECT_EQ(m.count, v.meta.count);
    EXPECT_EQ(m.min.value, v.meta.min.value);
    EXPECT_EQ(m.max.step, v.meta.max.step);
    EXPECT_EQ(m.last.time_ms, v.meta.last.time_ms);
    total += d.size();
  }
  EXPECT_EQ(1030u, total);
}

}  // namespace
}  // namespace vigil::storage
