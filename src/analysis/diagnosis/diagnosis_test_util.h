// Test helpers: runs made of per-step and per-time series. Test-only.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "analysis/diagnosis/run_series.h"

namespace vigil::analysis::testutil {

constexpr int64_t kT0 = 1'700'000'000'000;  // Unix ms
constexpr double kGiB = 1024.0 * 1024 * 1024;

// `metric` with `labels` at steps [0, n), value f(step), time kT0 + step ·
// step_seconds.
inline void AddPerStepLabeled(RunSeries* run, const std::string& metric, Labels labels, int64_t n,
                              double step_seconds, const std::function<double(int64_t)>& f) {
  SeriesData s;
  s.metric = metric;
  s.labels = std::move(labels);
  for (int64_t i = 0; i < n; ++i) {
    s.steps.push_back(i);
    s.times.push_back(kT0 + static_cast<int64_t>(static_cast<double>(i) * step_seconds * 1000));
    s.values.push_back(f(i));
  }
  run->Add(std::move(s));
}

// The same without labels.
inline void AddPerStep(RunSeries* run, const std::string& metric, int64_t n, double step_seconds,
                       const std::function<double(int64_t)>& f) {
  AddPerStepLabeled(run, metric, {}, n, step_seconds, f);
}

// An agent series sampled every second for `seconds`, value f(i).
inline void AddPerSecond(RunSeries* run, const std::string& metric, Labels labels, int64_t seconds,
                         const std::function<double(int64_t)>& f) {
  SeriesData s;
  s.metric = metric;
  s.labels = std::move(labels);
  for (int64_t i = 0; i < seconds; ++i) {
    s.steps.push_back(i);
    s.times.push_back(kT0 + i * 1000);
    s.values.push_back(f(i));
  }
  run->Add(std::move(s));
}

inline std::function<double(int64_t)> Const(double v) {
  return [v](int64_t) { return v; };
}

}  // namespace vigil::analysis::testutil
