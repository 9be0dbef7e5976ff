// Test helpers for the detector tests (test-only): build a detector or fail
// the test, feed it values, collect findings with their point index.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "analysis/detectors/detector.h"

namespace vigil::analysis::testing {

struct Hit {
  size_t index;
  Finding finding;
};

inline std::unique_ptr<Detector> Make(const std::string& name, const DetectorParams& p = {},
                                      const std::string& series = "train/loss") {
  auto d = MakeDetector(name, p, series);
  EXPECT_TRUE(d.ok()) << d.status().ToString();
  return d.ok() ? std::move(*d) : nullptr;
}

// Feeds values as steps first_step, first_step+1, ... one second apart.
inline std::vector<Hit> Feed(Detector* d, const std::vector<double>& values, int64_t first_step = 0,
                             int64_t ms_per_step = 1000) {
  std::vector<Hit> hits;
  for (size_t i = 0; i < values.size(); ++i) {
    int64_t step = first_step + static_cast<int64_t>(i);
    if (auto f = d->Observe({step, step * ms_per_step, values[i]})) hits.push_back({i, *f});
  }
  return hits;
}

inline std::vector<Hit> Firings(const std::vector<Hit>& hits) {
  std::vector<Hit> out;
  for (const auto& h : hits) {
    if (h.finding.transition == Transition::kFiring) out.push_back(h);
  }
  return out;
}

// A noisy power-law loss curve: (1 + 3 (1 + t/100)^-0.5) exp(sigma N(0,1)).
inline std::vector<double> LossCurve(size_t n, double sigma, std::mt19937_64& rng) {
  std::normal_distribution<double> noise(0, 1);
  std::vector<double> v;
  for (size_t t = 0; t < n; ++t) {
    v.push_back((1 + 3 * std::pow(1 + static_cast<double>(t) / 100, -0.5)) *
                std::exp(sigma * noise(rng)));
  }
  return v;
}

}  // namespace vigil::analysis::testing
