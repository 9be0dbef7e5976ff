#include "client/sdk/series_table.h"

#include <algorithm>

#include <fmt/format.h>

#include "core/json_writer.h"
#include "core/names.h"

namespace vigil::client {

SeriesTable::SeriesTable(LabelPairs run_labels) : run_labels_(std::move(run_labels)) {}

Result<uint32_t> SeriesTable::Intern(std::string_view metric, const LabelView* labels,
                                     size_t n_labels) {
  std::vector<std::pair<std::string, std::string>> sorted;
  sorted.reserve(n_labels);
  for (size_t i = 0; i < n_labels; ++i) sorted.emplace_back(labels[i].first, labels[i].second);
  std::sort(sorted.begin(), sorted.end());
  std::string key(metric);
  for (const auto& [k, v] : sorted) {
    key.push_back('\0');
    key += k;
    key.push_back('\0');
    key += v;
  }
  std::lock_guard lock(mu_);
  if (auto it = by_key_.find(key); it != by_key_.end()) return it->second;

  Status s = ValidateMetricName(metric);
  if (!s.ok()) return s.WithContext("metric");
  for (size_t i = 0; i < sorted.size(); ++i) {
    const auto& [k, v] = sorted[i];
    if (i > 0 && sorted[i - 1].first == k) {
      return Status::InvalidArgument(fmt::format("label {} given twice", QuoteForMessage(k)));
    }
    if (k == "run" || k == "project") {
      return Status::InvalidArgument(fmt::format("label \"{}\" is reserved", k));
    }
    s = ValidateLabelName(k);
    if (!s.ok()) return s.WithContext("label name");
    s = ValidateLabelValue(v);
    if (!s.ok()) return s.WithContext(fmt::format("label {}", k));
  }
  // The run's labels are the same for every series, so the key (the
  // caller's labels only) stays canonical.
  if (!run_labels_.empty()) {
    const size_t given = sorted.size();
    for (const auto& l : run_labels_) {
      auto same = [&](const auto& g) { return g.first == l.first; };
      if (std::none_of(sorted.begin(), sorted.begin() + given, same)) sorted.push_back(l);
    }
    std::sort(sorted.begin(), sorted.end());
  }
  auto def = std::make_unique<SeriesDef>();
  def->metric = std::string(metric);
  def->labels = std::move(sorted);
  std::string& p = def->json_prefix;
  p = "\"metric\":";
  AppendJsonString(&p, metric);
  p += ",\"labels\":{";
  for (size_t i = 0; i < def->labels.size(); ++i) {
    if (i) p.push_back(',');
    AppendJsonString(&p, def->labels[i].first);
    p.push_back(':');
    AppendJsonString(&p, def->labels[i].second);
  }
  p.push_back('}');
  uint32_t id = static_cast<uint32_t>(defs_.size());
  defs_.push_back(std::move(def));
  by_key_.emplace(std::move(key), id);
  return id;
}

const SeriesDef* SeriesTable::Get(uint32_t id) const {
  std::lock_guard lock(mu_);
  return id < defs_.size() ? defs_[id].get() : nullptr;
}

size_t SeriesTable::size() const {
  std::lock_guard lock(mu_);
  return defs_.size();
}

bool SeriesTable::FirstTimeError(const std::string& message) {
  std::lock_guard lock(mu_);
  return reported_.insert(message).second;
}

void NameCache::Insert(std::string_view key, size_t hash, uint32_t id) {
  if ((size_ + 1) * 2 > slots_.size()) {
    std::vector<Slot> old(slots_.size() * 2);
    old.swap(slots_);
    for (Slot& s : old) {
      if (!s.used) continue;
      size_t i = s.hash & (slots_.size() - 1);
      while (slots_[i].used) i = (i + 1) & (slots_.size() - 1);
      slots_[i] = std::move(s);
    }
  }
  size_t i = hash & (slots_.size() - 1);
  while (slots_[i].used) {
    if (slots_[i].hash == hash && slots_[i].key == key) {
      slots_[i].id = id;
      return;
    }
    i = (i + 1) & (slots_.size() - 1);
  }
  slots_[i].used = true;
  slots_[i].hash = hash;
  slots_[i].id = id;
  slots_[i].key = std::string(key);
  ++size_;
}

}  // namespace vigil::client
