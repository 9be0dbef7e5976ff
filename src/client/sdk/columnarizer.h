// Columnarizer: gathers buffered points per series and encodes them as the
// columnar body of POST /api/v1/runs/{id}/log:
//   {"series":[{"metric":"m","labels":{},"steps":[..],"times":[..],"values":[..]}]}
// Points keep the order in which they were added (per series). Values are
// written bit-exact; NaN and the infinities as "NaN", "Infinity", "-Infinity".
//
// Thread-safety: none; owned by the run's drain thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "client/sdk/point_ring.h"
#include "client/sdk/series_table.h"

namespace vigil::client {

struct EncodedBatch {
  std::string body;
  size_t points = 0;
};

class Columnarizer {
 public:
  // A batch holds at most `max_points` points and `max_series` series (the
  // server's defaults are 1,000,000 and 10,000; smaller batches keep each
  // request short).
  explicit Columnarizer(size_t max_points = 50'000, size_t max_series = 5'000)
      : max_points_(max_points), max_series_(max_series) {}

  // REQUIRES: p.series != kInvalidSeries.
  void Add(const BufferedPoint& p);
  size_t points() const { return points_; }
  bool full() const { return points_ >= max_points_ || active_.size() >= max_series_; }

  // Encodes every pending point into one or more batches (each within the
  // limits), appends them to *out and clears. Series come in order of first
  // appearance since the last call.
  void Encode(const SeriesTable& table, std::vector<EncodedBatch>* out);

 private:
  struct Columns {
    std::vector<int64_t> steps;
    std::vector<int64_t> times;
    std::vector<double> values;
  };
  void AppendSeries(const SeriesDef& def, const Columns& c, size_t from, size_t to,
                    std::string* out) const;

  const size_t max_points_;
  const size_t max_series_;
  std::vector<Columns> by_id_;    // index = series id
  std::vector<uint32_t> active_;  // ids with points, in first-seen order
  size_t points_ = 0;
};

}  // namespace vigil::client
