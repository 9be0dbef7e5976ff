// SeriesTable: the series (metric + labels) of one run, interned to dense
// ids so that a buffered point carries 4 bytes of identity instead of
// strings. NameCache: a thread's private map from the text a caller passes
// (metric, or metric and labels) to that id, so that the logging hot path
// hashes once and takes no lock.
//
// Thread-safety: SeriesTable is internally locked (any thread). NameCache
// belongs to one thread.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/result.h"

namespace vigil::client {

// Marks a name that failed validation; points logged under it are counted
// as invalid.
inline constexpr uint32_t kInvalidSeries = UINT32_MAX;

struct SeriesDef {
  std::string metric;
  std::vector<std::pair<std::string, std::string>> labels;  // sorted by name
  // `"metric":"...","labels":{...}` ready to open a columnar series object.
  std::string json_prefix;
};

class SeriesTable {
 public:
  using LabelView = std::pair<std::string_view, std::string_view>;
  using LabelPairs = std::vector<std::pair<std::string, std::string>>;

  // `run_labels` (a distributed rank's rank and node; REQUIRES: valid names
  // and values, no name twice) are added to every series when it is
  // interned, unless the caller gives a label of the same name: the points
  // on the hot path still carry only the series id.
  explicit SeriesTable(LabelPairs run_labels = {});

  // The id of (metric, labels), creating it if new. InvalidArgument if a
  // name breaks core/names.h or a label name repeats; the message is also
  // remembered so that callers can print it once.
  Result<uint32_t> Intern(std::string_view metric, const LabelView* labels, size_t n_labels);

  // REQUIRES: id was returned by Intern. The pointer stays valid for the
  // table's life.
  const SeriesDef* Get(uint32_t id) const;
  size_t size() const;

  // True the first time a given error message is seen (to print it once).
  bool FirstTimeError(const std::string& message);

 private:
  const LabelPairs run_labels_;
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<SeriesDef>> defs_;      // GUARDED_BY(mu_); index = id
  std::unordered_map<std::string, uint32_t> by_key_;  // GUARDED_BY(mu_); canonical -> id
  std::set<std::string> reported_;                    // GUARDED_BY(mu_)
};

// Open addressing, linear probing, load factor <= 1/2. Keys are byte
// strings (a metric name, or metric \0 name \0 value ...).
class NameCache {
 public:
  NameCache() : slots_(16) {}
  // The id cached for `key`, or nullopt. `hash` is Hash(key).
  const uint32_t* Find(std::string_view key, size_t hash) const {
    for (size_t i = hash & (slots_.size() - 1);; i = (i + 1) & (slots_.size() - 1)) {
      const Slot& s = slots_[i];
      if (!s.used) return nullptr;
      if (s.hash == hash && s.key == key) return &s.id;
    }
  }
  void Insert(std::string_view key, size_t hash, uint32_t id);
  static size_t Hash(std::string_view key) { return std::hash<std::string_view>()(key); }
  size_t size() const { return size_; }

 private:
  struct Slot {
    bool used = false;
    size_t hash = 0;
    uint32_t id = 0;
    std::string key;
  };
  std::vector<Slot> slots_;
  size_t size_ = 0;
};

}  // namespace vigil::client
