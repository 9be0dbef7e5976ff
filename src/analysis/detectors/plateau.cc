// plateau: no meaningful improvement of a watched series for `span` steps.
//
// Keeps the median of the last `window` points (x = ln(value) by default)
// and the best median so far ("best" = lowest for mode "min", the default
// for losses; highest for mode "max", e.g. accuracy). A new median improves
// on the best only when it beats it by more than
//   max(ln(1 + min_delta), 3 σ_med)
// (σ_med as in divergence.cc), so noise never counts as progress. Fires
// when the step has advanced `span` steps past the last improvement;
// resolves at the next improvement. A resumption keeps the best but moves
// its step back to the resumed step when that is earlier.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "analysis/detectors/detector_base.h"
#include "analysis/detectors/detector_registry.h"
#include "analysis/detectors/detector_state_format.h"

namespace vigil::analysis::internal {
namespace {

class PlateauDetector final : public DetectorBase {
 public:
  struct Config {
    int64_t span = 2000;
    double min_delta = 0.01;
    int64_t window = 31;
    bool maximize = false;
    Transform transform = Transform::kAuto;
  };

  PlateauDetector(std::string_view series, Severity sev, const Config& c)
      : DetectorBase(FindingKind::kPlateau, series, sev), c_(c) {
    st_.log = c_.transform != Transform::kRaw;
    st_.window = RollingMedian(static_cast<size_t>(c_.window));
  }

  std::optional<Finding> Observe(const Point& p) override {
    bool rewind = NoteStep(p);
    last_score_ = 0;
    if (!std::isfinite(p.value)) return std::nullopt;
    if (rewind) {
      st_.window.Clear();
      st_.has_prev = false;
      if (st_.has_best) st_.best_step = std::min(st_.best_step, p.step);
    }
    if (st_.log && !(p.value > 0)) {
      if (c_.transform == Transform::kLog) return std::nullopt;
      st_ = State{};
      st_.window = RollingMedian(static_cast<size_t>(c_.window));
      st_.log = false;
    }
    double x = st_.log ? std::log(p.value) : p.value;
    if (c_.maximize) x = -x;  // work as if minimising
    if (st_.has_prev) {
      double d = std::fabs(x - st_.prev);
      if (st_.n_diffs > 10) d = std::min(d, 5 * st_.spread);
      ++st_.n_diffs;
      st_.spread += std::max(0.02, 1.0 / static_cast<double>(st_.n_diffs)) * (d - st_.spread);
    }
    st_.prev = x;
    st_.has_prev = true;
    st_.window.Push(x);
    if (!st_.window.full()) return std::nullopt;
    double med = st_.window.Median();
    double sigma_med = 1.2533 * 0.886 * st_.spread / std::sqrt(static_cast<double>(c_.window));
    double need = std::max(st_.log ? std::log1p(c_.min_delta) : c_.min_delta * std::fabs(st_.best),
                           3 * sigma_med);
    if (!st_.has_best || med < st_.best - need) {
      bool was = active_;
      st_.has_best = true;
      st_.best = med;
      st_.best_step = p.step;
      if (was) {
        return Resolve(p, fmt::format("{} improved to {} at step {}; plateau over", series_,
                                      FormatValue(Back(med)), FormatStep(p.step)));
      }
      return std::nullopt;
    }
    int64_t since = p.step - st_.best_step;
    last_score_ = ScoreFromRatio(static_cast<double>(since) / static_cast<double>(c_.span));
    if (!active_ && since >= c_.span) {
      return Fire(p, last_score_,
                  fmt::format("{} has not improved for {} steps (best {} at step {}, now {})",
                              series_, FormatStep(since), FormatValue(Back(st_.best)),
                              FormatStep(st_.best_step), FormatValue(p.value)));
    }
    return std::nullopt;
  }

  int64_t ReplayPointsHint() const override { return c_.span + c_.window; }

 private:
  struct State {
    bool log = true;
    bool has_prev = false;
    double prev = 0;
    int64_t n_diffs = 0;
    double spread = 0;
    bool has_best = false;
    double best = 0;
    int64_t best_step = 0;
    RollingMedian window;
  };

  double Back(double x) const {
    double v = c_.maximize ? -x : x;
    return st_.log ? std::exp(v) : v;
  }

  void SaveFields(StateWriter* w) const override {
    w->Bool(st_.log);
    w->Bool(st_.has_prev);
    w->F64(st_.prev);
    w->I64(st_.n_diffs);
    w->F64(st_.spread);
    w->Bool(st_.has_best);
    w->F64(st_.best);
    w->I64(st_.best_step);
    w->Doubles(st_.window.Window());
  }
  bool RestoreFields(StateReader* r) override {
    State s;
    s.log = r->Bool();
    s.has_prev = r->Bool();
    s.prev = r->F64();
    s.n_diffs = r->I64();
    s.spread = r->F64();
    s.has_best = r->Bool();
    s.best = r->F64();
    s.best_step = r->I64();
    std::vector<double> w = r->Doubles();
    s.window = RollingMedian(static_cast<size_t>(c_.window));
    if (!r->ok() || !s.window.Restore(w) || !(s.spread >= 0) || s.n_diffs < 0) return false;
    st_ = std::move(s);
    return true;
  }

  Config c_;
  State st_;
};

}  // namespace

DetectorResult MakePlateau(const DetectorParams& p, std::string_view series) {
  if (Status s = CheckKeys(p, {"span", "min_delta", "window", "mode", "transform"}); !s.ok()) {
    return s;
  }
  PlateauDetector::Config c;
  VIGIL_ASSIGN_OR_RETURN(Severity sev, SeverityParam(p, Severity::kInfo));
  VIGIL_ASSIGN_OR_RETURN(c.span, p.GetInt("span", c.span));
  VIGIL_ASSIGN_OR_RETURN(c.min_delta, p.GetDouble("min_delta", c.min_delta));
  VIGIL_ASSIGN_OR_RETURN(c.window, p.GetInt("window", c.window));
  VIGIL_ASSIGN_OR_RETURN(c.transform, TransformParam(p, Transform::kAuto));
  std::string mode = p.GetString("mode", "min");
  if (mode != "min" && mode != "max") {
    return Status::InvalidArgument(fmt::format("parameter mode: \"{}\" is not min or max", mode));
  }
  c.maximize = mode == "max";
  if (c.span < 1) return Status::InvalidArgument("parameter span: must be >= 1");
  if (!(c.min_delta >= 0)) return Status::InvalidArgument("parameter min_delta: must be >= 0");
  if (c.window < 1 || c.window > static_cast<int64_t>(state_format::kMaxRing)) {
    return Status::InvalidArgument(
        fmt::format("parameter window: must be in [1, {}]", state_format::kMaxRing));
  }
  return std::unique_ptr<Detector>(new PlateauDetector(series, sev, c));
}

}  // namespace vigil::analysis::internal
