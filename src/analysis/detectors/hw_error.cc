// hw_error: GPU hardware errors. Mode "counter" (ECC error counts, remapped
// rows): fires when the counter rises above its previous value (a drop is a
// reset: the new value becomes the baseline; the first point is the
// baseline, errors from before watching began are not news). Mode "event"
// (XID events, one point per event with the XID code as value): fires at any
// non-zero value. Resolves after `quiet_points` points without a new error;
// errors while active only update the message of the next firing.
#include <fmt/format.h>

#include <cmath>

#include "analysis/detectors/detector_base.h"
#include "analysis/detectors/detector_registry.h"

namespace vigil::analysis::internal {
namespace {

class HwErrorDetector final : public DetectorBase {
 public:
  HwErrorDetector(std::string_view series, Severity sev, bool event, int64_t quiet)
      : DetectorBase(FindingKind::kHwError, series, sev), event_(event), quiet_(quiet) {}

  std::optional<Finding> Observe(const Point& p) override {
    NoteStep(p);
    last_score_ = 0;
    if (!std::isfinite(p.value)) return std::nullopt;
    bool error = false;
    std::string what;
    if (event_) {
      error = p.value != 0;
      what = fmt::format("{} reports XID {} at step {}", series_, FormatValue(p.value),
                         FormatStep(p.step));
    } else {
      if (st_.has_prev && p.value > st_.prev) {
        error = true;
        what =
            fmt::format("{} rose by {} to {} at step {}", series_, FormatValue(p.value - st_.prev),
                        FormatValue(p.value), FormatStep(p.step));
      }
      st_.prev = p.value;
      st_.has_prev = true;
    }
    if (error) {
      last_score_ = 1;
      st_.quiet = 0;
      if (!active_) return Fire(p, 1, what);
      return std::nullopt;
    }
    if (active_ && ++st_.quiet >= quiet_) {
      return Resolve(p, fmt::format("{}: no new errors for {} points (step {})", series_, quiet_,
                                    FormatStep(p.step)));
    }
    return std::nullopt;
  }
  int64_t ReplayPointsHint() const override { return quiet_ + 1; }

 private:
  struct State {
    bool has_prev = false;
    double prev = 0;
    int64_t quiet = 0;
  };
  void SaveFields(StateWriter* w) const override {
    w->Bool(st_.has_prev);
    w->F64(st_.prev);
    w->I64(st_.quiet);
  }
  bool RestoreFields(StateReader* r) override {
    State s;
    s.has_prev = r->Bool();
    s.prev = r->F64();
    s.quiet = r->I64();
    if (!r->ok() || s.quiet < 0) return false;
    st_ = s;
    return true;
  }
  bool event_;
  int64_t quiet_;
  State st_;
};

}  // namespace

DetectorResult MakeHwError(const DetectorParams& p, std::string_view series) {
  if (Status s = CheckKeys(p, {"mode", "quiet_points"}); !s.ok()) return s;
  VIGIL_ASSIGN_OR_RETURN(Severity sev, SeverityParam(p, Severity::kCritical));
  VIGIL_ASSIGN_OR_RETURN(int64_t quiet, p.GetInt("quiet_points", 60));
  std::string mode = p.GetString("mode", "counter");
  if (mode != "counter" && mode != "event") {
    return Status::InvalidArgument(
        fmt::format("parameter mode: \"{}\" is not counter or event", mode));
  }
  if (quiet < 1) return Status::InvalidArgument("parameter quiet_points: must be >= 1");
  return std::unique_ptr<Detector>(new HwErrorDetector(series, sev, mode == "event", quiet));
}

}  // namespace vigil::analysis::internal
