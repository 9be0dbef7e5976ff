// ChunkPacker: writes one series' points into a block as chunks of a target
// size, whatever sizes the chunks it is fed have. Flushes (whose head chunks
// are small, so that the head stays cheap to append to) and compactions
// (which merge blocks) both go through it, so every block holds full-size
// chunks: fewer chunk headers and index entries per point, and each value
// stream adapts over more points.
//
// A fed chunk that is already full-size and starts at a chunk boundary is
// copied as is, without decoding; anything else is decoded and re-cut.
//
// Usage, per series: BeginSeries, any AddChunk/AddPoints in append order,
// EndSeries. Not thread-safe; one packer per block being written.
#pragma once

#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "core/types.h"
#include "storage/block.h"
#include "storage/chunk_meta.h"
#include "storage/series_stats.h"

namespace vigil::storage {

class ChunkPacker {
 public:
  // REQUIRES: 1 <= target_points <= codec::kMaxChunkPoints
  ChunkPacker(BlockWriter* writer, size_t target_points);

  void BeginSeries(uint64_t id, const SeriesKey& key);
  // Points with time < cutoff_ms are dropped (retention); *lost is set when
  // any are. A chunk wholly before the cutoff is skipped without decoding.
  Status AddChunk(const ChunkMeta& meta, std::string_view bytes,
                  int64_t cutoff_ms = std::numeric_limits<int64_t>::min(), bool* lost = nullptr);
  Status AddPoints(std::span<const int64_t> steps, std::span<const int64_t> times,
                   std::span<const double> values);
  // Writes what is pending as a last, shorter chunk and ends the series.
  Status EndSeries();

 private:
  Status EmitFull();      // every complete target-size chunk pending
  Status Emit(size_t n);  // the first n pending points as one chunk

  BlockWriter* writer_;
  const size_t target_;
  SeriesStats stats_;
  // Pending points are [begin_, size) of these vectors.
  std::vector<int64_t> steps_, times_;
  std::vector<double> values_;
  size_t begin_ = 0;
  std::string encoded_;
};

}  // namespace vigil::storage
