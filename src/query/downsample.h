// Downsampling on read: answers "at most N points of this series in this
// range" so that every extreme survives. The x range is cut into N/4 equal
// buckets (N/5 when the series holds NaN) and each bucket keeps its first,
// last, minimum and maximum points (and its first NaN): a spike is visible
// at any zoom level, unlike the random or reservoir sampling of other
// trackers.
//
// Sealed chunks whose x extent is no wider than a bucket are answered from
// their ChunkMeta summaries without decoding (assigned whole to the bucket
// holding their midpoint, so a bucket may reach up to half a bucket into
// its neighbour); other chunks are decoded. This keeps a 1,000,000-point
// series downsampled to 2,000 points well under a millisecond.
//
// Thread-safety: pure functions over immutable chunk views.
#pragma once

#include <cstddef>
#include <vector>

#include "core/status.h"
#include "core/types.h"
#include "storage/engine.h"

namespace vigil::query {

struct DownsampleStats {
  size_t chunks = 0;
  size_t chunks_decoded = 0;
  size_t source_points = 0;  // points of the chunks considered
};

// Reduces the points of `chunks` (append order, as Engine::ScanSeries gives
// them) within `range` to at most max_points points sorted by range.axis.
// REQUIRES: max_points >= 4
Status Downsample(const std::vector<storage::ChunkView>& chunks, const storage::ReadRange& range,
                  size_t max_points, SeriesColumns* out, DownsampleStats* stats);

}  // namespace vigil::query
