// Forecasts from a run's pace and resources: seconds per step (from the
// wall-clock times of any per-step series) and the time left to a planned
// last step; the time until a memory series reaches its limit (time to
// OOM) from its recent trend. docs/diagnosis.md ("Forecasts") documents the
// windows and thresholds.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

namespace vigil::analysis {

struct StepPace {
  double seconds_per_step = 0;  // over the recent window
  double steps_per_second = 0;
  int64_t window_first_step = 0;
  int64_t window_last_step = 0;
  int64_t last_step = 0;
  int64_t last_time_ms = 0;
};

// The pace over the last `window_fraction` of the steps (at least
// min_points points): (time at window end − time at window start) / (steps
// between). nullopt with fewer than 2 distinct steps or no time elapsed.
// REQUIRES: steps and times of equal length, in step order.
std::optional<StepPace> EstimatePace(std::span<const int64_t> steps,
                                     std::span<const int64_t> times_ms,
                                     double window_fraction = 0.2, size_t min_points = 10);

// Seconds from the last observed step to `step` at the pace (0 if already
// past).
double SecondsToStep(const StepPace& pace, double step);

struct MemoryForecast {
  double used_bytes = 0;         // the trend's value at the last point
  double peak_bytes = 0;         // the largest observed value
  double limit_bytes = 0;        // the limit the forecast was made against
  double slope_bytes_per_s = 0;  // Theil–Sen slope over the window
  double window_s = 0;           // the window's length
  // Seconds until the trend reaches the limit; nullopt when the trend does
  // not grow significantly (see MemoryForecastOptions).
  std::optional<double> seconds_to_limit;
};

struct MemoryForecastOptions {
  // The window: the last `window_fraction` of the series' time span, at
  // least min_points points; at most max_pairs_points are used for the
  // Theil–Sen slope (evenly subsampled), which bounds the cost at O(p²).
  double window_fraction = 0.5;
  size_t min_points = 8;
  size_t max_pairs_points = 120;
  // A trend counts only if its growth over the window is at least this
  // fraction of the limit and at least 3 robust standard deviations of the
  // points around it.
  double min_growth_fraction = 0.002;
};

// nullopt when there are fewer than 2 points or limit_bytes <= 0.
// REQUIRES: times and values of equal length, in time order.
std::optional<MemoryForecast> ForecastMemory(std::span<const int64_t> times_ms,
                                             std::span<const double> used_bytes, double limit_bytes,
                                             const MemoryForecastOptions& options = {});

}  // namespace vigil::analysis
