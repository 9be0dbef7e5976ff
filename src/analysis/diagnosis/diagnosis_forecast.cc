// The forecast part of a diagnosis: learning curve, pace, time to OOM.
#include <algorithm>
#include <cmath>
#include <limits>

#include "analysis/diagnosis/diagnosis.h"

namespace vigil::analysis {
namespace {

constexpr int kCurvePoints = 40;

// The series whose wall-clock times pace the steps: the loss, else the
// densest phase or throughput series.
const SeriesData* PaceSeries(const RunSeries& run, const std::string& loss_metric) {
  const SeriesData* loss = run.Find(loss_metric);
  if (loss != nullptr && loss->size() >= 2) return loss;
  const SeriesData* best = nullptr;
  for (const SeriesData& s : run.all()) {
    bool per_step = s.metric.rfind("time/", 0) == 0 || s.metric.rfind("perf/", 0) == 0 ||
                    s.metric.rfind("train/", 0) == 0;
    if (per_step && (best == nullptr || s.size() > best->size())) best = &s;
  }
  return best;
}

LossForecast ForecastLoss(const LearningCurve& fit, const SeriesData& s, const DiagnosisInput& in,
                          const std::optional<StepPace>& pace) {
  LossForecast f;
  f.metric = in.loss_metric;
  f.params = fit.params();
  f.flat = fit.flat();
  f.residual_scale = fit.residual_scale();
  f.points_used = fit.points_used();
  f.backtest_error = fit.backtest_error();
  f.last_step = s.steps.back();
  f.planned_last_step = in.hints.max_steps;
  if (f.planned_last_step) f.final_loss = fit.PredictAt(*f.planned_last_step);
  double end = 1.5 * static_cast<double>(f.last_step);
  if (f.planned_last_step) end = std::max(end, *f.planned_last_step);
  if (in.target) {
    f.target = in.target;
    // Reached when the recent median is at or below the target; the step is
    // the first point at or below it.
    auto [from, to] = RecentWindow(s.steps.front(), s.steps.back(), {});
    auto recent = MedianIn(s, from, to, false);
    if (recent && *recent <= *in.target) {
      for (size_t i = 0; i < s.size(); ++i) {
        if (s.values[i] <= *in.target) {
          f.target_reached_step = s.steps[i];
          break;
        }
      }
    } else if (auto band = fit.StepToReach(*in.target)) {
      f.target_step = band;
      end = std::max(end, std::min(band->mid, 10.0 * static_cast<double>(f.last_step)));
      if (pace) {
        auto at = [&](double step) {
          if (!std::isfinite(step)) return std::numeric_limits<double>::infinity();
          return static_cast<double>(pace->last_time_ms) + 1000.0 * SecondsToStep(*pace, step);
        };
        f.target_time_ms = Band{at(band->low), at(band->mid), at(band->high)};
      }
    } else {
      f.target_unreachable = true;
    }
  }
  const double start = static_cast<double>(f.last_step);
  if (end > start) {
    for (int i = 0; i <= kCurvePoints; ++i) {
      double step = start + (end - start) * i / kCurvePoints;
      f.curve.emplace_back(step, fit.PredictAt(step));
    }
  }
  return f;
}

}  // namespace

Forecast ComputeForecast(const DiagnosisInput& in, const DiagnosisThresholds& /*t*/) {
  Forecast out;
  if (const SeriesData* p = PaceSeries(in.series, in.loss_metric)) {
    out.pace = EstimatePace(p->steps, p->times);
  }
  if (out.pace && in.hints.max_steps) {
    out.seconds_remaining = SecondsToStep(*out.pace, *in.hints.max_steps);
    out.eta_ms = out.pace->last_time_ms + static_cast<int64_t>(1000.0 * *out.seconds_remaining);
  }
  const SeriesData* loss = in.series.Find(in.loss_metric);
  if (loss == nullptr || loss->size() == 0) {
    out.loss_error = "the run has no " + in.loss_metric + " series";
  } else {
    auto fit = LearningCurve::Fit(loss->steps, loss->values);
    if (fit.ok()) {
      out.loss = ForecastLoss(*fit, *loss, in, out.pace);
    } else {
      out.loss_error = fit.status().message();
    }
  }
  // Time to OOM: the GPU whose memory trend reaches its total soonest (or,
  // with no growing trend, the fullest one).
  for (const SeriesData* used : in.series.FindAll("sys/gpu/memory_used_bytes")) {
    std::string gpu(used->Label("gpu"));
    const SeriesData* total = in.series.FindLabeled("sys/gpu/memory_total_bytes", "gpu", gpu);
    if (total == nullptr) total = in.series.Find("sys/gpu/memory_total_bytes");
    if (total == nullptr || used->size() < 2) continue;
    auto limit = LastValue(*total);
    if (!limit) continue;
    auto m = ForecastMemory(used->times, used->values, *limit);
    if (!m) continue;
    bool better = !out.memory;
    if (!better) {
      const MemoryForecast& cur = *out.memory;
      if (m->seconds_to_limit && cur.seconds_to_limit) {
        better = *m->seconds_to_limit < *cur.seconds_to_limit;
      } else if (m->seconds_to_limit || cur.seconds_to_limit) {
        better = m->seconds_to_limit.has_value();
      } else {
        better = m->peak_bytes / m->limit_bytes > cur.peak_bytes / cur.limit_bytes;
      }
    }
    if (better) {
      out.memory = m;
      out.memory_gpu = gpu;
    }
  }
  return out;
}

}  // namespace vigil::analysis
