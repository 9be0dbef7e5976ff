#include "storage/chunk_packer.h"

#include <bit>
#include <cmath>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "codec/chunk_codec.h"
#include "testing/testing.h"

namespace vigil::storage {
namespace {

struct Points {
  std::vector<int64_t> steps, times;
  std::vector<double> values;
};

Points Make(int64_t first, size_t n) {
  Points p;
  for (size_t i = 0; i < n; ++i) {
    int64_t step = first + static_cast<int64_t>(i);
    p.steps.push_back(step);
    p.times.push_back(1'000'000 + step * 250);
    p.values.push_back(std::sin(static_cast<double>(step)));
  }
  return p;
}

struct Encoded {
  ChunkMeta meta;
  std::string bytes;
};

Encoded Encode(const Points& p) {
  Encoded e{ComputeChunkMeta(p.steps, p.times, p.values), {}};
  codec::EncodeChunk(p.steps, p.times, p.values, &e.bytes);
  return e;
}

class ChunkPackerTest : public ::testing::Test {
 protected:
  // Writes one series through a packer of `target` points, fed by `feed`,
  // and returns the block's chunks and all its points.
  template <typename Feed>
  std::shared_ptr<const BlockReader> Pack(size_t target, Feed feed) {
    std::string path = dir_.Join(fmt::format("{}.blk", ++n_));
    auto w = BlockWriter::Create(path);
    EXPECT_TRUE(w.ok());
    ChunkPacker packer(w->get(), target);
    SeriesKey key;
    key.run = "r";
    key.metric = "m";
    packer.BeginSeries(1, key);
    feed(&packer);
    EXPECT_TRUE(packer.EndSeries().ok());
    EXPECT_TRUE((*w)->Finish().ok());
    auto r = BlockReader::Open(path);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return *r;
  }

  static Points ReadAll(const BlockReader& r) {
    Points p;
    for (const BlockChunk& c : r.series().at(0).chunks) {
      auto bytes = r.ChunkBytes(c);
      EXPECT_TRUE(bytes.ok());
      EXPECT_TRUE(codec::DecodeChunk(*bytes, &p.steps, &p.times, &p.values).ok());
    }
    return p;
  }

  static std::vector<uint32_t> Counts(const BlockReader& r) {
    std::vector<uint32_t> counts;
    for (const BlockChunk& c : r.series().at(0).chunks) counts.push_back(c.meta.count);
    return counts;
  }

  vigil::testing::TempDir dir_;
  int n_ = 0;
};

TEST_F(ChunkPackerTest, SmallChunksAreRecutToTheTargetSize) {
  Points all = Make(0, 1000);
  auto r = Pack(256, [&](ChunkPacker* p) {
    for (size_t i = 0; i < 1000; i += 100) {
      Points part = Make(static_cast<int64_t>(i), 100);
      Encoded e = Encode(part);
      ASSERT_TRUE(p->AddChunk(e.meta, e.bytes).ok());
    }
  });
  EXPECT_EQ((std::vector<uint32_t>{256, 256, 256, 232}), Counts(*r));
  Points got = ReadAll(*r);
  EXPECT_EQ(all.steps, got.steps);
  EXPECT_EQ(all.times, got.times);
  for (size_t i = 0; i < all.values.size(); ++i) {
    EXPECT_EQ(std::bit_cast<uint64_t>(all.values[i]), std::bit_cast<uint64_t>(got.values[i]));
  }
  EXPECT_EQ(1000u, r->series()[0].stats.count);
  EXPECT_EQ(999, r->series()[0].stats.last_step);
}

TEST_F(ChunkPackerTest, FullSizeChunkAtABoundaryIsCopiedVerbatim) {
  Encoded full = Encode(Make(0, 128));
  auto r = Pack(128, [&](ChunkPacker* p) { ASSERT_TRUE(p->AddChunk(full.meta, full.bytes).ok()); });
  ASSERT_EQ(1u, r->series()[0].chunks.size());
  EXPECT_EQ(full.bytes, *r->ChunkBytes(r->series()[0].chunks[0]));
}

TEST_F(ChunkPackerTest, ChunksAndRawPointsMixInAppendOrder) {
  auto r = Pack(64, [&](ChunkPacker* p) {
    Encoded e = Encode(Make(0, 50));
    ASSERT_TRUE(p->AddChunk(e.meta, e.bytes).ok());
    Points tail = Make(50, 30);
    ASSERT_TRUE(p->AddPoints(tail.steps, tail.times, tail.values).ok());
  });
  EXPECT_EQ((std::vector<uint32_t>{64, 16}), Counts(*r));
  EXPECT_EQ(Make(0, 80).steps, ReadAll(*r).steps);
}

TEST_F(ChunkPackerTest, CutoffDropsOlderPointsAndSaysSo) {
  Encoded old_chunk = Encode(Make(0, 40));  // times 1,000,000 .. 1,009,750
  Encoded straddle = Encode(Make(40, 40));  // times 1,010,000 .. 1,019,750
  const int64_t cutoff = 1'000'000 + 60 * 250;
  bool lost = false;
  auto r = Pack(1000, [&](ChunkPacker* p) {
    ASSERT_TRUE(p->AddChunk(old_chunk.meta, old_chunk.bytes, cutoff, &lost).ok());
    ASSERT_TRUE(p->AddChunk(straddle.meta, straddle.bytes, cutoff, &lost).ok());
  });
  EXPECT_TRUE(lost);
  Points got = ReadAll(*r);
  ASSERT_EQ(20u, got.steps.size());
  EXPECT_EQ(60, got.steps.front());
  EXPECT_EQ(60, r->series()[0].stats.first_step);
}

TEST_F(ChunkPackerTest, NothingLostWhenEverythingIsNewer) {
  Encoded e = Encode(Make(0, 10));
  bool lost = false;
  auto r =
      Pack(1000, [&](ChunkPacker* p) { ASSERT_TRUE(p->AddChunk(e.meta, e.bytes, 0, &lost).ok()); });
  EXPECT_FALSE(lost);
  EXPECT_EQ(10u, ReadAll(*r).steps.size());
}

}  // namespace
}  // namespace vigil::storage
