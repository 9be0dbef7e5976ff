// gpu_idle: GPU utilisation (percent, as NVML reports it) below `below`
// for at least `for_seconds` of wall time and at least `min_points` points
// in a row. Resolves at the first point at or above `below` + `hysteresis`.
// A point with utilisation in between neither extends nor ends the span.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "analysis/detectors/detector_base.h"
#include "analysis/detectors/detector_registry.h"

namespace vigil::analysis::internal {
namespace {

class GpuIdleDetector final : public DetectorBase {
 public:
  struct Config {
    double below = 10;
    double hysteresis = 5;
    double for_seconds = 120;
    int64_t min_points = 3;
  };

  GpuIdleDetector(std::string_view series, Severity sev, const Config& c)
      : DetectorBase(FindingKind::kGpuIdle, series, sev), c_(c) {}

  std::optional<Finding> Observe(const Point& p) override {
    NoteStep(p);
    last_score_ = 0;
    if (!std::isfinite(p.value)) return std::nullopt;
    if (p.value < c_.below) {
      if (st_.low_points == 0) st_.low_since_ms = p.time_ms;
      ++st_.low_points;
      double secs = static_cast<double>(p.time_ms - st_.low_since_ms) / 1000.0;
      last_score_ = ScoreFromRatio(c_.for_seconds > 0 ? secs / c_.for_seconds : 1.0);
      if (!active_ && st_.low_points >= c_.min_points && secs >= c_.for_seconds) {
        return Fire(p, last_score_,
                    fmt::format("{} has been below {}% for {} (now {}%) at step {}", series_,
                                FormatValue(c_.below), FormatSeconds(secs), FormatValue(p.value),
                                FormatStep(p.step)));
      }
      return std::nullopt;
    }
    if (p.value >= c_.below + c_.hysteresis) {
      st_.low_points = 0;
      if (active_) {
        return Resolve(p, fmt::format("{} busy again ({}%) at step {}", series_,
                                      FormatValue(p.value), FormatStep(p.step)));
      }
    }
    return std::nullopt;
  }
  int64_t ReplayPointsHint() const override { return 1000; }

 private:
  struct State {
    int64_t low_since_ms = 0;
    int64_t low_points = 0;
  };
  void SaveFields(StateWriter* w) const override {
    w->I64(st_.low_since_ms);
    w->I64(st_.low_points);
  }
  bool RestoreFields(StateReader* r) override {
    State s;
    s.low_since_ms = r->I64();
    s.low_points = r->I64();
    if (!r->ok() || s.low_points < 0) return false;
    st_ = s;
    return true;
  }
  Config c_;
  State st_;
};

}  // namespace

DetectorResult MakeGpuIdle(const DetectorParams& p, std::string_view series) {
  if (Status s = CheckKeys(p, {"below", "hysteresis", "for_seconds", "min_points"}); !s.ok()) {
    return s;
  }
  GpuIdleDetector::Config c;
  VIGIL_ASSIGN_OR_RETURN(Severity sev, SeverityParam(p, Severity::kWarning));
  VIGIL_ASSIGN_OR_RETURN(c.below, p.GetDouble("below", c.below));
  VIGIL_ASSIGN_OR_RETURN(c.hysteresis, p.GetDouble("hysteresis", c.hysteresis));
  VIGIL_ASSIGN_OR_RETURN(c.for_seconds, p.GetDouble("for_seconds", c.for_seconds));
  VIGIL_ASSIGN_OR_RETURN(c.min_points, p.GetInt("min_points", c.min_points));
  if (!(c.hysteresis >= 0)) return Status::InvalidArgument("parameter hysteresis: must be >= 0");
  if (!(c.for_seconds >= 0)) return Status::InvalidArgument("parameter for_seconds: must be >= 0");
  if (c.min_points < 1) return Status::InvalidArgument("parameter min_points: must be >= 1");
  return std::unique_ptr<Detector>(new GpuIdleDetector(series, sev, c));
}

}  // namespace vigil::analysis::internal
