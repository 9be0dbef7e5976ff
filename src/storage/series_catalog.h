// SeriesCatalog: every live series of the engine — id, key and stats — with
// lookups by key and by run. Ids are assigned by the engine (never reused);
// the catalog only records them.
//
// Thread-safety: internally synchronised (shared_mutex); writers are the
// engine's commit and background threads, readers any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/types.h"
#include "storage/series_stats.h"

namespace vigil::storage {

struct SeriesInfo {
  uint64_t id = 0;
  SeriesKey key;
  SeriesStats stats;
};

class SeriesCatalog {
 public:
  // The id of the series with this canonical key (SeriesKey::Canonical()).
  std::optional<uint64_t> Find(const std::string& canonical) const;
  std::optional<SeriesInfo> Get(uint64_t id) const;
  // Series of a run, ascending id.
  std::vector<SeriesInfo> ListRun(std::string_view run) const;
  // Ids of every series, ascending.
  std::vector<uint64_t> AllIds() const;
  size_t size() const;
  uint64_t max_id() const;  // 0 when empty

  // Adds a series (or replaces its stats if the id is known).
  void Insert(uint64_t id, SeriesKey key, const SeriesStats& stats);
  // Folds newly appended points into a series' stats. REQUIRES: id known.
  void AppendStats(uint64_t id, std::span<const int64_t> steps, std::span<const int64_t> times,
                   std::span<const double> values);
  void SetStats(uint64_t id, const SeriesStats& stats);
  // Removes the run's series with id <= max_id; returns their ids.
  std::vector<uint64_t> RemoveRun(std::string_view run, uint64_t max_id);
  void Remove(uint64_t id);

 private:
  struct Entry {
    SeriesKey key;
    std::string canonical;
    SeriesStats stats;
  };
  mutable std::shared_mutex mu_;
  std::unordered_map<uint64_t, Entry> by_id_;                      // GUARDED_BY(mu_)
  std::unordered_map<std::string, uint64_t> by_key_;               // GUARDED_BY(mu_)
  std::unordered_map<std::string, std::vector<uint64_t>> by_run_;  // GUARDED_BY(mu_), ascending
  uint64_t max_id_ = 0;                                            // GUARDED_BY(mu_)
};

}  // namespace vigil::storage
