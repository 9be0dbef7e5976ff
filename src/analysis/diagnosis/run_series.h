// The points of one run that a diagnosis reads, grouped by metric, with the
// small statistics helpers the rules share. The server fills a RunSeries
// from the engine (handlers_diagnosis.cc); tests and benchmarks fill it by
// hand. Metric names are those the SDK and agent log (docs/diagnosis.md).
//
// Thread-safety: a value type; const methods may be called concurrently.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "analysis/median.h"  // Median, which the rules share
#include "core/types.h"

namespace vigil::analysis {

struct SeriesData {
  std::string metric;
  Labels labels;
  // In step order (as the engine reads them); times are Unix ms.
  std::vector<int64_t> steps;
  std::vector<int64_t> times;
  std::vector<double> values;

  size_t size() const { return values.size(); }
  // The value of `label`, or "" when absent.
  std::string_view Label(std::string_view name) const;
};

class RunSeries {
 public:
  void Add(SeriesData s) { series_.push_back(std::move(s)); }
  const std::vector<SeriesData>& all() const { return series_; }

  // The series of `metric` with no labels, else the first one of that metric.
  const SeriesData* Find(std::string_view metric) const;
  // Every series of `metric` (e.g. one per GPU).
  std::vector<const SeriesData*> FindAll(std::string_view metric) const;
  // The series of `metric` whose label `name` equals `value`.
  const SeriesData* FindLabeled(std::string_view metric, std::string_view name,
                                std::string_view value) const;

 private:
  std::vector<SeriesData> series_;
};

// Mean and median of the finite values of `s` with step in [from, to]
// (by_time: with time in [from, to]). nullopt when none.
std::optional<double> MeanIn(const SeriesData& s, int64_t from, int64_t to, bool by_time);
std::optional<double> MedianIn(const SeriesData& s, int64_t from, int64_t to, bool by_time);
std::optional<double> MaxIn(const SeriesData& s, int64_t from, int64_t to, bool by_time);
// The last finite value.
std::optional<double> LastValue(const SeriesData& s);

}  // namespace vigil::analysis
