#include "storage/block.h"

#include <bit>
#include <cmath>

#include <gtest/gtest.h>

#include "codec/chunk_codec.h"
#include "storage/file.h"
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
    p.steps.push_back(first + static_cast<int64_t>(i));
    p.times.push_back(1'700'000'000'000 + (first + static_cast<int64_t>(i)) * 250);
    p.values.push_back(std::sin(static_cast<double>(first) + static_cast<double>(i)));
  }
  return p;
}

void AddChunk(BlockWriter* w, const Points& p, SeriesStats* stats) {
  std::string bytes;
  codec::EncodeChunk(p.steps, p.times, p.values, &bytes);
  ASSERT_TRUE(w->AddChunk(ComputeChunkMeta(p.steps, p.times, p.values), bytes).ok());
  stats->Append(p.steps, p.times, p.values);
}

std::string WriteSample(const vigil::testing::TempDir& dir) {
  std::string path = dir.Join("1.blk");
  auto w = BlockWriter::Create(path);
  EXPECT_TRUE(w.ok());
  SeriesStats s1, s2;
  (*w)->BeginSeries(3, {"run", "train/loss", {}});
  AddChunk(w->get(), Make(0, 100), &s1);
  AddChunk(w->get(), Make(100, 50), &s1);
  (*w)->EndSeries(s1);
  (*w)->BeginSeries(9, {"run", "val/acc", {{"split", "a"}}});
  AddChunk(w->get(), Make(0, 10), &s2);
  (*w)->EndSeries(s2);
  (*w)->BeginSeries(10, {"run", "empty", {}});  // no chunks: dropped
  (*w)->EndSeries(SeriesStats{});
  EXPECT_TRUE((*w)->Finish().ok());
  return path;
}

TEST(Block, WritesAndReadsSeriesChunksAndStats) {
  vigil::testing::TempDir dir;
  auto r = BlockReader::Open(WriteSample(dir));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const BlockReader& b = **r;
  ASSERT_EQ(2u, b.series().size());
  EXPECT_EQ(160u, b.points());
  const BlockSeries* s = b.Find(3);
  ASSERT_NE(nullptr, s);
  EXPECT_EQ("train/loss", s->key.metric);
  EXPECT_EQ(150u, s->stats.count);
  EXPECT_EQ(149, s->stats.last_step);
  ASSERT_EQ(2u, s->chunks.size());
  EXPECT_EQ(100, s->chunks[1].meta.first.step);
  EXPECT_EQ(nullptr, b.Find(4));
  EXPECT_EQ(nullptr, b.Find(10));
  EXPECT_EQ("a", b.Find(9)->key.labels[0].value);
  auto bytes = b.ChunkBytes(s->chunks[1]);
  ASSERT_TRUE(bytes.ok());
  std::vector<int64_t> steps, times;
  std::vector<double> values;
  ASSERT_TRUE(codec::DecodeChunk(*bytes, &steps, &times, &values).ok());
  Points want = Make(100, 50);
  EXPECT_EQ(want.steps, steps);
  EXPECT_EQ(want.times, times);
  for (size_t i = 0; i < values.size(); ++i) {
    EXPECT_EQ(std::bit_cast<uint64_t>(want.values[i]), std::bit_cast<uint64_t>(values[i]));
  }
  EXPECT_EQ(1'700'000'000'000, b.min_time());
}

TEST(Block, NoTemporaryFileIsLeftBehind) {
  vigil::testing::TempDir dir;
  WriteSample(dir);
  auto names = ListDirectory(dir.path());
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(std::vector<std::string>{"1.blk"}, *names);
}

TEST(Block, AbandonedWriterRemovesItsTemporaryFile) {
  vigil::testing::TempDir dir;
  {
    auto w = BlockWriter::Create(dir.Join("2.blk"));
    ASSERT_TRUE(w.ok());
  }
  EXPECT_TRUE(ListDirectory(dir.path())->empty());
}

TEST(Block, CorruptSeriesSectionIsDetectedAtOpen) {
  vigil::testing::TempDir dir;
  std::string path = WriteSample(dir);
  std::string data = vigil::testing::ReadFileOrDie(path);
  data[data.size() - 40] ^= 0x01;  // inside the series section
  vigil::testing::WriteFileOrDie(path, data);
  auto r = BlockReader::Open(path);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsCorruption());
  EXPECT_NE(std::string::npos, r.status().message().find(path)) << r.status().message();
}

TEST(Block, CorruptChunkIsDetectedOnAccess) {
  vigil::testing::TempDir dir;
  std::string path = WriteSample(dir);
  std::string data = vigil::testing::ReadFileOrDie(path);
  data[20] ^= 0x40;  // inside the first chunk
  vigil::testing::WriteFileOrDie(path, data);
  auto r = BlockReader::Open(path);
  ASSERT_TRUE(r.ok());
  auto bytes = (*r)->ChunkBytes((*r)->Find(3)->chunks[0]);
  ASSERT_FALSE(bytes.ok());
  EXPECT_NE(std::string::npos, bytes.status().message().find("offset 16"))
      << bytes.status().message();
}

TEST(Block, TruncatedFilesAreRejected) {
  vigil::testing::TempDir dir;
  std::string path = WriteSample(dir);
  std::string data = vigil::testing::ReadFileOrDie(path);
  for (size_t n : {size_t{0}, size_t{10}, data.size() / 2, data.size() - 1}) {
    vigil::testing::WriteFileOrDie(path, data.substr(0, n));
    EXPECT_FALSE(BlockReader::Open(path).ok()) << n;
  }
}

}  // namespace
}  // namespace vigil::storage
