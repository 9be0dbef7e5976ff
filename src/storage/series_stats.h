// SeriesStats: the summary of a series that listings and run summaries show
// without reading its points (count, first/last step and time, last value,
// min/max). Kept per series by the engine, per series in each block's series
// table, and merged when sources combine.
//
// Min and max ignore NaN (a NaN is counted in nan_count instead); +-Inf take
// part as ordinary extremes. Thread-safety: a value type.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <span>

namespace vigil::storage {

struct SeriesStats {
  uint64_t count = 0;
  uint64_t nan_count = 0;
  int64_t first_step = 0;
  int64_t first_time = 0;
  int64_t last_step = 0;  // of the last point in append order
  int64_t last_time = 0;
  double last_value = 0;
  int64_t max_step_seen = std::numeric_limits<int64_t>::min();  // largest step ever appended
  double min_value = std::numeric_limits<double>::quiet_NaN();  // NaN until a non-NaN arrives
  double max_value = std::numeric_limits<double>::quiet_NaN();

  // Folds in points appended after those already counted.
  void Append(std::span<const int64_t> steps, std::span<const int64_t> times,
              std::span<const double> values) {
    for (size_t i = 0; i < values.size(); ++i) {
      if (count == 0) {
        first_step = steps[i];
        first_time = times[i];
      }
      ++count;
      last_step = steps[i];
      last_time = times[i];
      last_value = values[i];
      if (steps[i] > max_step_seen) max_step_seen = steps[i];
      double v = values[i];
      if (std::isnan(v)) {
        ++nan_count;
      } else {
        if (std::isnan(min_value) || v < min_value) min_value = v;
        if (std::isnan(max_value) || v > max_value) max_value = v;
      }
    }
  }

  // Folds in `later`, the stats of points appended after these.
  void Merge(const SeriesStats& later) {
    if (later.count == 0) return;
    if (count == 0) {
      *this = later;
      return;
    }
    count += later.count;
    nan_count += later.nan_count;
    last_step = later.last_step;
    last_time = later.last_time;
    last_value = later.last_value;
    if (later.max_step_seen > max_step_seen) max_step_seen = later.max_step_seen;
    if (!std::isnan(later.min_value) && (std::isnan(min_value) || later.min_value < min_value)) {
      min_value = later.min_value;
    }
    if (!std::isnan(later.max_value) && (std::isnan(max_value) || later.max_value > max_value)) {
      max_value = later.max_value;
    }
  }
};

}  // namespace vigil::storage
