#include "analysis/forecast/resource_forecast.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <vector>

namespace vigil::analysis {

std::optional<StepPace> EstimatePace(std::span<const int64_t> steps,
                                     std::span<const int64_t> times_ms, double window_fraction,
                                     size_t min_points) {
  assert(steps.size() == times_ms.size());
  const size_t n = steps.size();
  if (n < 2) return std::nullopt;
  const int64_t first = steps.front(), last = steps.back();
  if (last <= first) return std::nullopt;
  const double cut =
      static_cast<double>(last) - window_fraction * static_cast<double>(last - first);
  size_t begin = n - 1;
  while (begin > 0 && (static_cast<double>(steps[begin - 1]) >= cut || n - begin < min_points)) {
    --begin;
  }
  // The window must span at least two distinct steps.
  while (begin > 0 && steps[begin] == last) --begin;
  const int64_t ds = last - steps[begin];
  const int64_t dt = times_ms[n - 1] - times_ms[begin];
  if (ds <= 0 || dt <= 0) return std::nullopt;
  StepPace p;
  p.seconds_per_step = static_cast<double>(dt) / 1000.0 / static_cast<double>(ds);
  p.steps_per_second = 1.0 / p.seconds_per_step;
  p.window_first_step = steps[begin];
  p.window_last_step = last;
  p.last_step = last;
  p.last_time_ms = times_ms[n - 1];
  return p;
}

double SecondsToStep(const StepPace& pace, double step) {
  double remaining = step - static_cast<double>(pace.last_step);
  return remaining <= 0 ? 0.0 : remaining * pace.seconds_per_step;
}

std::optional<MemoryForecast> ForecastMemory(std::span<const int64_t> times_ms,
                                             std::span<const double> used, double limit,
                                             const MemoryForecastOptions& o) {
  assert(times_ms.size() == used.size());
  const size_t n = used.size();
  if (n < 2 || !(limit > 0)) return std::nullopt;
  MemoryForecast f;
  f.limit_bytes = limit;
  for (double v : used) {
    if (std::isfinite(v)) f.peak_bytes = std::max(f.peak_bytes, v);
  }
  const double t0 = static_cast<double>(times_ms.front());
  const double t1 = static_cast<double>(times_ms.back());
  const double cut = t1 - o.window_fraction * (t1 - t0);
  size_t begin = n - 1;
  while (begin > 0 &&
         (static_cast<double>(times_ms[begin - 1]) >= cut || n - begin < o.min_points)) {
    --begin;
  }
  std::vector<size_t> idx;
  const size_t m = n - begin;
  const size_t take = std::min(m, o.max_pairs_points);
  for (size_t k = 0; k < take; ++k) {
    size_t i = begin + (take == 1 ? 0 : k * (m - 1) / (take - 1));
    if (std::isfinite(used[i])) idx.push_back(i);
  }
  if (idx.size() < 2) return std::nullopt;
  std::vector<double> slopes;
  slopes.reserve(idx.size() * (idx.size() - 1) / 2);
  for (size_t i = 0; i < idx.size(); ++i) {
    for (size_t j = i + 1; j < idx.size(); ++j) {
      double dt = static_cast<double>(times_ms[idx[j]] - times_ms[idx[i]]) / 1000.0;
      if (dt > 0) slopes.push_back((used[idx[j]] - used[idx[i]]) / dt);
    }
  }
  f.window_s = static_cast<double>(times_ms[idx.back()] - times_ms[idx.front()]) / 1000.0;
  if (slopes.empty()) {
    f.used_bytes = used[idx.back()];
    return f;
  }
  std::nth_element(slopes.begin(), slopes.begin() + static_cast<ptrdiff_t>(slopes.size() / 2),
                   slopes.end());
  f.slope_bytes_per_s = slopes[slopes.size() / 2];
  // The trend line through the window's median point, read at the end.
  std::vector<double> intercepts;
  intercepts.reserve(idx.size());
  const double tend = static_cast<double>(times_ms[idx.back()]) / 1000.0;
  for (size_t i : idx) {
    intercepts.push_back(used[i] +
                         f.slope_bytes_per_s * (tend - static_cast<double>(times_ms[i]) / 1000.0));
  }
  std::nth_element(intercepts.begin(),
                   intercepts.begin() + static_cast<ptrdiff_t>(intercepts.size() / 2),
                   intercepts.end());
  f.used_bytes = intercepts[intercepts.size() / 2];
  // Significance: the growth over the window must stand out of the noise
  // around the trend (3 robust standard deviations) and be a visible part
  // of the limit.
  std::vector<double> residuals;
  residuals.reserve(idx.size());
  for (size_t i : idx) {
    double fitted =
        f.used_bytes - f.slope_bytes_per_s * (tend - static_cast<double>(times_ms[i]) / 1000.0);
    residuals.push_back(std::abs(used[i] - fitted));
  }
  std::nth_element(residuals.begin(),
                   residuals.begin() + static_cast<ptrdiff_t>(residuals.size() / 2),
                   residuals.end());
  const double noise = 1.4826 * residuals[residuals.size() / 2];
  const double growth = f.slope_bytes_per_s * f.window_s;
  if (f.slope_bytes_per_s > 0 && growth >= o.min_growth_fraction * limit && growth >= 3 * noise) {
    f.seconds_to_limit = std::max(0.0, (limit - f.used_bytes) / f.slope_bytes_per_s);
  }
  return f;
}

}  // namespace vigil::analysis
