// absence: a series that receives no point for longer than `for_seconds`
// of wall time. Time-based: Tick(now) fires, the next point resolves. Until
// the first point, the silence is counted from the first Tick (a series a
// rule names but that never arrived is absent too).
#include <fmt/format.h>

#include <cmath>
#include <limits>

#include "analysis/detectors/detector_base.h"
#include "analysis/detectors/detector_registry.h"

namespace vigil::analysis::internal {
namespace {

class AbsenceDetector final : public DetectorBase {
 public:
  AbsenceDetector(std::string_view series, Severity sev, double for_seconds)
      : DetectorBase(FindingKind::kAbsence, series, sev), for_ms_(for_seconds * 1000) {}

  std::optional<Finding> Observe(const Point& p) override {
    NoteStep(p);
    last_score_ = 0;
    if (!st_.has_time || p.time_ms > st_.last_ms) st_.last_ms = p.time_ms;
    st_.has_time = true;
    st_.seen = true;
    st_.last_value = p.value;
    if (active_) {
      return Resolve(p, fmt::format("{} reported again at step {}", series_, FormatStep(p.step)));
    }
    return std::nullopt;
  }

  std::optional<Finding> Tick(int64_t now_ms) override {
    if (!st_.has_time) {
      st_.has_time = true;
      st_.last_ms = now_ms;
      return std::nullopt;
    }
    double silent = static_cast<double>(now_ms - st_.last_ms);
    last_score_ = ScoreFromRatio(for_ms_ > 0 ? silent / for_ms_ : 1.0);
    if (active_ || silent <= for_ms_) return std::nullopt;
    Point p{last_step_, now_ms,
            st_.seen ? st_.last_value : std::numeric_limits<double>::quiet_NaN()};
    std::string what = st_.seen ? fmt::format("since step {}", FormatStep(last_step_))
                                : std::string("since watching began");
    return Fire(p, last_score_,
                fmt::format("{} has reported nothing for {} ({})", series_,
                            FormatSeconds(silent / 1000), what));
  }
  int64_t ReplayPointsHint() const override { return 1; }

 private:
  struct State {
    bool has_time = false;
    bool seen = false;
    int64_t last_ms = 0;
    double last_value = 0;
  };
  void SaveFields(StateWriter* w) const override {
    w->Bool(st_.has_time);
    w->Bool(st_.seen);
    w->I64(st_.last_ms);
    w->F64(st_.last_value);
  }
  bool RestoreFields(StateReader* r) override {
    State s;
    s.has_time = r->Bool();
    s.seen = r->Bool();
    s.last_ms = r->I64();
    s.last_value = r->F64();
    if (!r->ok()) return false;
    st_ = s;
    return true;
  }
  double for_ms_;
  State st_;
};

}  // namespace

DetectorResult MakeAbsence(const DetectorParams& p, std::string_view series) {
  if (Status s = CheckKeys(p, {"for_seconds"}); !s.ok()) return s;
  VIGIL_ASSIGN_OR_RETURN(Severity sev, SeverityParam(p, Severity::kWarning));
  VIGIL_ASSIGN_OR_RETURN(double for_seconds, p.GetDouble("for_seconds", 300));
  if (!(for_seconds >= 0) || !std::isfinite(for_seconds)) {
    return Status::InvalidArgument("parameter for_seconds: must be a finite number >= 0");
  }
  return std::unique_ptr<Detector>(new AbsenceDetector(series, sev, for_seconds));
}

}  // namespace vigil::analysis::internal
