#include "storage/series_catalog.h"

#include <algorithm>
#include <mutex>

namespace vigil::storage {

std::optional<uint64_t> SeriesCatalog::Find(const std::string& canonical) const {
  std::shared_lock lock(mu_);
  auto it = by_key_.find(canonical);
  if (it == by_key_.end()) return std::nullopt;
  return it->second;
}

std::optional<SeriesInfo> SeriesCatalog::Get(uint64_t id) const {
  std::shared_lock lock(mu_);
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return std::nullopt;
  return SeriesInfo{id, it->second.key, it->second.stats};
}

std::vector<SeriesInfo> SeriesCatalog::ListRun(std::string_view run) const {
  std::shared_lock lock(mu_);
  std::vector<SeriesInfo> out;
  auto it = by_run_.find(std::string(run));
  if (it == by_run_.end()) return out;
  out.reserve(it->second.size());
  for (uint64_t id : it->second) {
    const Entry& e = by_id_.at(id);
    out.push_back({id, e.key, e.stats});
  }
  return out;
}

std::vector<uint64_t> SeriesCatalog::AllIds() const {
  std::shared_lock lock(mu_);
  std::vector<uint64_t> ids;
  ids.reserve(by_id_.size());
  for (const auto& [id, e] : by_id_) ids.push_back(id);
  std::sort(ids.begin(), ids.end());
  return ids;
}

size_t SeriesCatalog::size() const {
  std::shared_lock lock(mu_);
  return by_id_.size();
}

uint64_t SeriesCatalog::max_id() const {
  std::shared_lock lock(mu_);
  return max_id_;
}

void SeriesCatalog::Insert(uint64_t id, SeriesKey key, const SeriesStats& stats) {
  std::unique_lock lock(mu_);
  auto it = by_id_.find(id);
  if (it != by_id_.end()) {
    it->second.stats = stats;
    return;
  }
  std::string canonical = key.Canonical();
  std::vector<uint64_t>& run_ids = by_run_[key.run];
  run_ids.insert(std::upper_bound(run_ids.begin(), run_ids.end(), id), id);
  by_key_[canonical] = id;
  by_id_.emplace(id, Entry{std::move(key), std::move(canonical), stats});
  max_id_ = std::max(max_id_, id);
}

void SeriesCatalog::AppendStats(uint64_t id, std::span<const int64_t> steps,
                                std::span<const int64_t> times, std::span<const double> values) {
  std::unique_lock lock(mu_);
  by_id_.at(id).stats.Append(steps, times, values);
}

void SeriesCatalog::SetStats(uint64_t id, const SeriesStats& stats) {
  std::unique_lock lock(mu_);
  auto it = by_id_.find(id);
  if (it != by_id_.end()) it->second.stats = stats;
}

std::vector<uint64_t> SeriesCatalog::RemoveRun(std::string_view run, uint64_t max_id) {
  std::unique_lock lock(mu_);
  std::vector<uint64_t> removed;
  auto it = by_run_.find(std::string(run));
  if (it == by_run_.end()) return removed;
  std::vector<uint64_t>& ids = it->second;
  auto keep_from = std::upper_bound(ids.begin(), ids.end(), max_id);
  for (auto i = ids.begin(); i != keep_from; ++i) {
    auto e = by_id_.find(*i);
    by_key_.erase(e->second.canonical);
    by_id_.erase(e);
    removed.push_back(*i);
  }
  ids.erase(ids.begin(), keep_from);
  if (ids.empty()) by_run_.erase(it);
  return removed;
}

void SeriesCatalog::Remove(uint64_t id) {
  std::unique_lock lock(mu_);
  auto e = by_id_.find(id);
  if (e == by_id_.end()) return;
  auto r = by_run_.find(e->second.key.run);
  auto& ids = r->second;
  ids.erase(std::lower_bound(ids.begin(), ids.end(), id));
  if (ids.empty()) by_run_.erase(r);
  by_key_.erase(e->second.canonical);
  by_id_.erase(e);
}

}  // namespace vigil::storage
