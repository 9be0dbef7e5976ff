// Reading one series for an API answer: every point (bit-exact) or, when
// the caller caps the answer, the downsampled view of downsample.h.
// Thread-safety: any thread (the engine is thread-safe).
#pragma once

#include <cstddef>

#include "core/status.h"
#include "core/types.h"
#include "query/downsample.h"
#include "storage/engine.h"

namespace vigil::query {

struct SeriesReadResult {
  SeriesColumns points;  // key left empty
  bool downsampled = false;
  DownsampleStats stats;
};

// max_points == 0: every point in range. Otherwise at most max_points
// points (>= 4), downsampled only if the range holds more.
Status ReadSeriesPoints(const storage::Engine& engine, uint64_t series_id,
                        const storage::ReadRange& range, size_t max_points,
                        SeriesReadResult* result);

}  // namespace vigil::query
