// Head: the in-memory part of the time-series engine — the points appended
// since the last flush, per series: sealed chunks (encoded, with their
// ChunkMeta) and one open chunk of raw points that is sealed once it holds
// chunk_points points. Everything in a head is also in the WAL, so a head is
// rebuilt by replay after a crash.
//
// Thread-safety: one writer (the engine's commit thread) calls Append and
// DropSeries; any thread may call the readers concurrently. Once the engine
// swaps a head out for flushing it is immutable.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <shared_mutex>
#include <span>
#include <unordered_map>
#include <vector>

#include "storage/chunk_meta.h"

namespace vigil::storage {

// A copy of one series' head data, taken under the head's lock.
struct HeadSeriesView {
  std::vector<SealedChunk> chunks;  // in append order
  // The open chunk, in append order.
  std::vector<int64_t> steps;
  std::vector<int64_t> times;
  std::vector<double> values;

  bool empty() const { return chunks.empty() && values.empty(); }
};

class Head {
 public:
  // REQUIRES: 1 <= chunk_points <= codec::kMaxChunkPoints
  explicit Head(size_t chunk_points);
  Head(const Head&) = delete;
  Head& operator=(const Head&) = delete;

  void Append(uint64_t series_id, std::span<const int64_t> steps, std::span<const int64_t> times,
              std::span<const double> values);
  // Forgets the given series (their run was deleted).
  void DropSeries(std::span<const uint64_t> series_ids);

  // Copies the series' data into *out; false if the head has none.
  bool Read(uint64_t series_id, HeadSeriesView* out) const;
  // Ids of every series with data here, ascending.
  std::vector<uint64_t> SeriesIds() const;

  // Bytes held: encoded chunks plus 24 bytes per open point.
  size_t bytes() const;
  uint64_t points() const;
  int64_t min_time() const;  // INT64_MAX when empty
  bool empty() const { return points() == 0; }

 private:
  struct Series {
    std::vector<SealedChunk> chunks;
    std::vector<int64_t> steps, times;
    std::vector<double> values;
  };
  void Seal(Series* s);  // REQUIRES: mu_ held exclusively, s has open points

  const size_t chunk_points_;
  mutable std::shared_mutex mu_;
  std::unordered_map<uint64_t, Series> series_;  // GUARDED_BY(mu_)
  size_t bytes_ = 0;                             // GUARDED_BY(mu_)
  uint64_t points_ = 0;                          // GUARDED_BY(mu_)
  int64_t min_time_;                             // GUARDED_BY(mu_)
};

}  // namespace vigil::storage
