// ChunkMeta: what the engine knows about a sealed chunk without decoding it:
// its extent in step and time, and its first, last, minimum and maximum
// points. The query layer's downsampler answers from these summaries alone
// for every chunk that falls inside one output bucket, which is what makes
// a 1,000,000-point series downsample in well under a millisecond.
//
// Invariants (established by ComputeChunkMeta):
//  1. count >= 1; min_step <= max_step; min_time <= max_time.
//  2. first/last are the first and last points in append order.
//  3. min/max are the points with the smallest/largest non-NaN value
//     (the earliest on ties); when every value is NaN both are the first
//     point and nan_count == count.
//  4. steps_sorted (times_sorted) is true iff steps (times) never decrease
//     within the chunk; then first/last are also the extremes in that axis.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "core/types.h"
#include "storage/series_stats.h"

namespace vigil::storage {

struct ChunkMeta {
  uint32_t count = 0;
  uint32_t nan_count = 0;
  bool steps_sorted = true;
  bool times_sorted = true;
  int64_t min_step = 0, max_step = 0;
  int64_t min_time = 0, max_time = 0;
  Point first, last, min, max;
};

ChunkMeta ComputeChunkMeta(std::span<const int64_t> steps, std::span<const int64_t> times,
                           std::span<const double> values);

// A sealed chunk held in memory: its encoded bytes and its summary.
// Immutable once built; shared between the head and readers.
struct SealedChunk {
  ChunkMeta meta;
  std::shared_ptr<const std::string> bytes;
};

// Folds a chunk's summary into the stats of its series; chunks must come in
// append order.
void FoldChunkStats(const ChunkMeta& meta, SeriesStats* stats);

}  // namespace vigil::storage
