#include "query/series_query.h"

namespace vigil::query {

Status ReadSeriesPoints(const storage::Engine& engine, uint64_t series_id,
                        const storage::ReadRange& range, size_t max_points,
                        SeriesReadResult* result) {
  result->downsampled = false;
  if (max_points == 0) return engine.ReadSeries(series_id, range, &result->points);
  std::vector<storage::ChunkView> chunks;
  VIGIL_RETURN_IF_ERROR(engine.ScanSeries(series_id, range, &chunks));
  size_t total = 0;
  for (const auto& c : chunks) total += c.meta.count;
  if (total <= max_points) return engine.ReadSeries(series_id, range, &result->points);
  result->downsampled = true;
  return Downsample(chunks, range, max_points, &result->points, &result->stats);
}

}  // namespace vigil::query
