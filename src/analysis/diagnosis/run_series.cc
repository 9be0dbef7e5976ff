#include "analysis/diagnosis/run_series.h"
#include "analysis/median.h"

#include <algorithm>
#include <cmath>

namespace vigil::analysis {

std::string_view SeriesData::Label(std::string_view name) const {
  for (const auto& l : labels) {
    if (l.name == name) return l.value;
  }
  return {};
}

const SeriesData* RunSeries::Find(std::string_view metric) const {
  const SeriesData* first = nullptr;
  for (const SeriesData& s : series_) {
    if (s.metric != metric) continue;
    if (s.labels.empty()) return &s;
    if (first == nullptr) first = &s;
  }
  return first;
}

std::vector<const SeriesData*> RunSeries::FindAll(std::string_view metric) const {
  std::vector<const SeriesData*> out;
  for (const SeriesData& s : series_) {
    if (s.metric == metric) out.push_back(&s);
  }
  return out;
}

const SeriesData* RunSeries::FindLabeled(std::string_view metric, std::string_view name,
                                         std::string_view value) const {
  for (const SeriesData& s : series_) {
    if (s.metric == metric && s.Label(name) == value) return &s;
  }
  return nullptr;
}

namespace {

std::vector<double> ValuesIn(const SeriesData& s, int64_t from, int64_t to, bool by_time) {
  std::vector<double> out;
  const auto& x = by_time ? s.times : s.steps;
  for (size_t i = 0; i < s.values.size(); ++i) {
    if (x[i] >= from && x[i] <= to && std::isfinite(s.values[i])) out.push_back(s.values[i]);
  }
  return out;
}

}  // namespace

std::optional<double> MeanIn(const SeriesData& s, int64_t from, int64_t to, bool by_time) {
  auto v = ValuesIn(s, from, to, by_time);
  if (v.empty()) return std::nullopt;
  double sum = 0;
  for (double x : v) sum += x;
  return sum / static_cast<double>(v.size());
}

std::optional<double> MedianIn(const SeriesData& s, int64_t from, int64_t to, bool by_time) {
  auto v = ValuesIn(s, from, to, by_time);
  if (v.empty()) return std::nullopt;
  return Median(std::move(v));
}

std::optional<double> MaxIn(const SeriesData& s, int64_t from, int64_t to, bool by_time) {
  auto v = ValuesIn(s, from, to, by_time);
  if (v.empty()) return std::nullopt;
  return *std::max_element(v.begin(), v.end());
}

std::optional<double> LastValue(const SeriesData& s) {
  for (size_t i = s.values.size(); i-- > 0;) {
    if (std::isfinite(s.values[i])) return s.values[i];
  }
  return std::nullopt;
}

}  // namespace vigil::analysis
