// Step-time breakdown: where each training step's time goes, from the
// `time/<phase>` series the SDK logs (seconds per step; `time/data`,
// `time/forward`, `time/backward`, `time/optimizer`, `time/comm`, any other
// phase a user names), against the step time (`time/step` when logged, else
// the wall-clock pace of the run's steps, else the sum of the phases). The
// remainder is `unaccounted`. Computed over a recent window of steps and
// the window before it (for the trend), plus the last steps one by one.
//
// Thread-safety: pure function.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "analysis/diagnosis/run_series.h"

namespace vigil::analysis {

struct PhaseShare {
  std::string phase;   // "data", "forward", ..., "unaccounted"
  double seconds = 0;  // mean per step over the window
  double share = 0;    // of the step time, in [0, 1]
  // The same share over the earlier window; nullopt when it has no data.
  std::optional<double> earlier_share;
};

struct StepBreakdown {
  // The window: steps in [window_from, window_to]; `steps` distinct steps.
  int64_t window_from = 0;
  int64_t window_to = 0;
  size_t steps = 0;
  double step_seconds = 0;
  std::optional<double> earlier_step_seconds;
  std::string step_source;  // "time/step", "wall_clock" or "phases"
  // Known phases in a fixed order (data, forward, backward, optimizer,
  // comm), then others by name, then "unaccounted".
  std::vector<PhaseShare> phases;
  // The last steps one by one (at most per_step_limit): seconds per phase in
  // the order of `phases` (unaccounted last), 0 where a phase is missing.
  std::vector<int64_t> per_step_steps;
  std::vector<std::vector<double>> per_step_seconds;  // [phase][i]

  // The phase's share, 0 when absent.
  double Share(std::string_view phase) const;
  double Seconds(std::string_view phase) const;
};

struct BreakdownOptions {
  // The window: the last window_fraction of the run's steps, clamped to
  // [min_window_steps, max_window_steps] steps.
  double window_fraction = 0.2;
  int64_t min_window_steps = 20;
  int64_t max_window_steps = 1000;
  size_t per_step_limit = 200;
};

// The window over the run's steps [first, last] that BreakdownOptions
// describes: {from, to}.
std::pair<int64_t, int64_t> RecentWindow(int64_t first, int64_t last, const BreakdownOptions& o);

// nullopt when the run has no `time/*` phase series.
std::optional<StepBreakdown> ComputeStepBreakdown(const RunSeries& run,
                                                  const BreakdownOptions& options = {});

}  // namespace vigil::analysis
