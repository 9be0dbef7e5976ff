// threshold: a user-named bound. Fires when the value is above `above`
// (and/or below `below`) on `for_points` consecutive points; resolves when
// it has been inside the bounds for `for_points` consecutive points. NaN is
// outside any bound (it is not "fine").
#include <fmt/format.h>

#include <cmath>
#include <limits>

#include "analysis/detectors/detector_base.h"
#include "analysis/detectors/detector_registry.h"

namespace vigil::analysis::internal {
namespace {

class ThresholdDetector final : public DetectorBase {
 public:
  struct Config {
    double above = std::numeric_limits<double>::infinity();
    double below = -std::numeric_limits<double>::infinity();
    int64_t for_points = 1;
  };

  ThresholdDetector(std::string_view series, Severity sev, const Config& c)
      : DetectorBase(FindingKind::kThreshold, series, sev), c_(c) {}

  std::optional<Finding> Observe(const Point& p) override {
    NoteStep(p);
    bool hi = p.value > c_.above;
    bool lo = p.value < c_.below;
    bool out = hi || lo || std::isnan(p.value);
    last_score_ = out ? 1 : 0;
    if (out == active_) {
      st_.count = 0;
      return std::nullopt;
    }
    if (++st_.count < c_.for_points) return std::nullopt;
    st_.count = 0;
    if (out) {
      std::string bound = hi   ? fmt::format("above {}", FormatValue(c_.above))
                          : lo ? fmt::format("below {}", FormatValue(c_.below))
                               : std::string("not a number");
      std::string span = c_.for_points > 1 ? fmt::format(" for {} points", c_.for_points) : "";
      return Fire(p, 1,
                  fmt::format("{} is {} ({}) at step {}{}", series_, bound, FormatValue(p.value),
                              FormatStep(p.step), span));
    }
    return Resolve(p, fmt::format("{} back within bounds ({}) at step {}", series_,
                                  FormatValue(p.value), FormatStep(p.step)));
  }
  int64_t ReplayPointsHint() const override { return c_.for_points; }

 private:
  struct State {
    int64_t count = 0;  // consecutive points disagreeing with active_
  };
  void SaveFields(StateWriter* w) const override { w->I64(st_.count); }
  bool RestoreFields(StateReader* r) override {
    int64_t c = r->I64();
    if (!r->ok() || c < 0) return false;
    st_.count = c;
    return true;
  }
  Config c_;
  State st_;
};

}  // namespace

DetectorResult MakeThreshold(const DetectorParams& p, std::string_view series) {
  if (Status s = CheckKeys(p, {"above", "below", "for_points"}); !s.ok()) return s;
  if (!p.Has("above") && !p.Has("below")) {
    return Status::InvalidArgument("needs parameter above and/or below");
  }
  ThresholdDetector::Config c;
  VIGIL_ASSIGN_OR_RETURN(Severity sev, SeverityParam(p, Severity::kWarning));
  VIGIL_ASSIGN_OR_RETURN(c.above, p.GetDouble("above", c.above));
  VIGIL_ASSIGN_OR_RETURN(c.below, p.GetDouble("below", c.below));
  VIGIL_ASSIGN_OR_RETURN(c.for_points, p.GetInt("for_points", c.for_points));
  if (c.for_points < 1) return Status::InvalidArgument("parameter for_points: must be >= 1");
  return std::unique_ptr<Detector>(new ThresholdDetector(series, sev, c));
}

}  // namespace vigil::analysis::internal
