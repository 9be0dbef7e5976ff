// Run diagnosis: reads a run's series (step phases, GPU and host metrics,
// loss, gradient and parameter norms, learning rate, loss dispersion) and
// answers, with the numbers behind each answer:
//   - the step-time breakdown (step_breakdown.h) and its trend;
//   - the bottleneck class: input, communication, compute, memory (near the
//     limit, growing towards it, or allocator churn: allocator.h), host,
//     throttled or none, decided by the rules and thresholds of
//     docs/diagnosis.md (DiagnosisThresholds holds them);
//   - ranked suggestions, each carrying the numbers that justify it;
//   - training health over the recent window (loss and P(t) trend,
//     gradient-to-parameter norm ratio, fraction of steps with alerts);
//   - forecasts: the loss at the planned last step and the step and wall
//     time of a target loss (learning_curve.h), time remaining at the
//     current pace, and time to OOM (resource_forecast.h).
// The server computes it on demand (GET /api/v1/runs/{id}/diagnosis); the
// JSON form is diagnosis_json.h.
//
// Thread-safety: Diagnose is a pure function.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "analysis/diagnosis/allocator.h"
#include "analysis/diagnosis/run_series.h"
#include "analysis/diagnosis/step_breakdown.h"
#include "analysis/forecast/learning_curve.h"
#include "analysis/forecast/resource_forecast.h"

namespace vigil::analysis {

// What the run's config says, as far as the rules need it (the server reads
// them from the config JSON; docs/diagnosis.md lists the keys it looks for).
struct RunHints {
  std::optional<double> max_steps;    // the planned last step
  std::optional<double> num_workers;  // DataLoader workers
  std::optional<bool> pin_memory;
  std::optional<double> batch_size;
  std::optional<double> grad_clip;  // gradient-norm clip threshold
};

struct DiagnosisInput {
  RunSeries series;
  RunHints hints;
  std::string loss_metric = "train/loss";
  std::optional<double> target;      // a target loss to forecast
  std::vector<int64_t> alert_steps;  // steps at which alerts fired
};

// The thresholds of the rules (docs/diagnosis.md explains each).
struct DiagnosisThresholds {
  double input_data_share = 0.30;         // data share of the step at or above: input-bound...
  double input_gpu_util_below = 70;       // ...when GPU utilisation (%) is below this
  double input_data_share_no_gpu = 0.40;  // without GPU metrics
  double comm_share = 0.25;               // communication share: communication-bound
  double compute_gpu_util = 80;           // GPU utilisation (%): compute-bound (healthy)
  double compute_share_no_gpu = 0.70;     // forward+backward+optimizer share without GPU metrics
  double host_cpu_util = 90;              // host CPU (%) at or above: host-bound...
  double host_gpu_util_below = 70;        // ...when the GPU is not busy
  double memory_near_limit = 0.92;        // peak used / total: memory-bound
  double memory_headroom = 0.50;          // peak below this: suggest a larger batch
  double memory_oom_horizon_s = 7200;     // OOM forecast sooner than this (or the run's end)
  double alloc_retries_min = 3;           // allocator retries in the window at or above...
  double alloc_retry_rate = 0.01;         // ...and per window step at or above: memory (churn)
  double fragmentation = 0.30;            // 1 − peak allocated / reserved at or above...
  double fragmentation_rise = 0.10;       // ...and up this much over the earlier window
  double throttle_fraction = 0.20;        // fraction of samples with throttle reasons set
  double plateau_tolerance = 0.02;        // relative band around the final loss
  double plateau_min_fraction = 0.20;     // flat for this fraction of the run...
  int64_t plateau_min_steps = 100;        // ...and at least this many steps
  double lr_decayed_fraction = 0.10;      // lr now <= this × its peak: "after decay"
  double clip_fraction = 0.50;            // grad norm above the clip on this fraction of steps
  double loss_rise = 0.10;                // window median over earlier median - 1
  double dispersion_rise = 0.50;          // P(t) window median over earlier - 1 ...
  double dispersion_flat_loss = 0.05;     // ...while |loss change| stays below this
};

struct Evidence {
  std::string name;  // "data_share", "gpu_utilization", ...
  double value = 0;
  std::string unit;  // "fraction", "percent", "seconds", "bytes", ...
  std::string text;  // the sentence that states it
};

struct Suggestion {
  std::string kind;     // "input", "memory_headroom", "plateau", ...
  double priority = 0;  // higher first; the list is sorted by it
  std::string text;
  std::vector<std::pair<std::string, double>> numbers;
};

struct Health {
  int64_t window_from = 0, window_to = 0;
  std::optional<double> loss_now;     // median over the window
  std::optional<double> loss_change;  // window median / earlier median − 1
  std::optional<double> dispersion_now;
  std::optional<double> dispersion_change;
  std::optional<double> grad_param_ratio;  // median of grad_norm/param_norm
  std::optional<double> alert_fraction;    // window steps with an alert
  std::optional<double> lr_now;
  std::optional<double> lr_peak;
  // Steps the loss has stayed within plateau_tolerance of its final level.
  std::optional<int64_t> flat_steps;
};

struct LossForecast {
  std::string metric;
  PowerLawParams params;
  bool flat = false;
  double residual_scale = 0;
  size_t points_used = 0;
  std::optional<double> backtest_error;  // LearningCurve::backtest_error
  int64_t last_step = 0;
  std::optional<double> planned_last_step;
  std::optional<Band> final_loss;  // at planned_last_step
  std::optional<double> target;
  // The target: reached already (at reached_step), or forecast.
  std::optional<int64_t> target_reached_step;
  std::optional<Band> target_step;
  std::optional<Band> target_time_ms;  // wall clock, from the pace
  bool target_unreachable = false;     // below the fitted floor
  // The dashed extension: (step, low, mid, high).
  std::vector<std::pair<double, Band>> curve;
};

struct Forecast {
  std::optional<LossForecast> loss;
  std::string loss_error;  // why there is no loss forecast
  std::optional<StepPace> pace;
  std::optional<double> seconds_remaining;  // to the planned last step
  std::optional<int64_t> eta_ms;
  std::optional<MemoryForecast> memory;  // the GPU closest to its limit
  std::string memory_gpu;
};

struct Diagnosis {
  std::string bottleneck = "none";
  std::string summary;  // one sentence with the deciding numbers
  std::vector<Evidence> evidence;
  std::vector<Suggestion> suggestions;  // ranked
  std::optional<StepBreakdown> breakdown;
  Health health;
  Forecast forecast;
  std::vector<AllocatorStats> allocator;  // per CUDA device (allocator.h)
  std::vector<std::string> notes;         // what could not be judged, and why
};

Diagnosis Diagnose(const DiagnosisInput& input, const DiagnosisThresholds& thresholds = {},
                   const BreakdownOptions& window = {});

// The forecast part alone (diagnosis_forecast.cc).
Forecast ComputeForecast(const DiagnosisInput& input, const DiagnosisThresholds& thresholds);

}  // namespace vigil::analysis
