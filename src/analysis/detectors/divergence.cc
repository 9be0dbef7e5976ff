// divergence: a lower-is-better series (a loss) trending upward after
// having decreased, or rising above its early level.
//
// On x = ln(value) (or the raw value), the detector keeps the median of the
// last `window` points (robust to spikes shorter than window/2) and the
// lowest such median since the start or the last resumption. It fires when
// the current median is above that minimum by more than
//   delta = max(ln(1 + min_rise), z × σ_med),
// σ_med being the noise of a windowed median (≈ 1.25 σ/√window, σ from the
// mean absolute first difference, which a trend or level change barely
// moves). Since the minimum is never above the early level, rising above
// the early level is covered. It resolves when the median is back within
// delta/2 of the minimum, or at a resumption (the run restarted from a
// checkpoint: a rollback is the usual cure).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "analysis/detectors/detector_base.h"
#include "analysis/detectors/detector_registry.h"
#include "analysis/detectors/detector_state_format.h"

namespace vigil::analysis::internal {
namespace {

constexpr double kClip = 5.0;  // first differences clipped at 5 spreads

class DivergenceDetector final : public DetectorBase {
 public:
  struct Config {
    int64_t window = 31;
    int64_t warmup = 200;
    double min_rise = 0.05;
    double z = 8;
    double scale_alpha = 0.02;
    Transform transform = Transform::kAuto;
  };

  DivergenceDetector(std::string_view series, Severity sev, const Config& c)
      : DetectorBase(FindingKind::kDivergence, series, sev), c_(c) {
    st_.log = c_.transform != Transform::kRaw;
    st_.window = RollingMedian(static_cast<size_t>(c_.window));
  }

  std::optional<Finding> Observe(const Point& p) override {
    bool rewind = NoteStep(p);
    if (!std::isfinite(p.value)) {
      last_score_ = 0;
      return std::nullopt;
    }
    std::optional<Finding> out;
    if (rewind) {
      if (active_) {
        out = Resolve(
            p, fmt::format("{} resumed at step {}; divergence over", series_, FormatStep(p.step)));
      }
      st_.window.Clear();
      st_.since_reset = 0;
      st_.has_prev = false;
    }
    if (st_.log && !(p.value > 0)) {
      if (c_.transform == Transform::kLog) return out;
      RollingMedian w(static_cast<size_t>(c_.window));
      st_ = State{};
      st_.window = w;
      st_.log = false;
    }
    double x = st_.log ? std::log(p.value) : p.value;
    if (st_.has_prev) {
      double d = std::fabs(x - st_.prev);
      if (st_.n_diffs > 10) d = std::min(d, kClip * st_.spread);
      ++st_.n_diffs;
      double a = std::max(c_.scale_alpha, 1.0 / static_cast<double>(st_.n_diffs));
      st_.spread += a * (d - st_.spread);
    }
    st_.prev = x;
    st_.has_prev = true;
    st_.window.Push(x);
    ++st_.since_reset;
    last_score_ = 0;
    if (!st_.window.full()) return out;
    double med = st_.window.Median();
    if (st_.since_reset == c_.window || med < st_.min) {
      if (st_.since_reset == c_.window) st_.early = med;
      st_.min = med;
      st_.min_step = p.step;
    }
    // σ ≈ 0.886 × mean |Δx| for independent noise; a median of n points
    // has σ_med ≈ 1.2533 σ / √n.
    double sigma_med = 1.2533 * 0.886 * st_.spread / std::sqrt(static_cast<double>(c_.window));
    double min_rise = st_.log ? std::log1p(c_.min_rise) : c_.min_rise * std::fabs(st_.min);
    double delta = std::max(min_rise, c_.z * sigma_med);
    double rise = med - st_.min;
    bool armed = st_.since_reset >= c_.warmup && st_.since_reset >= c_.window;
    if (armed) last_score_ = ScoreFromRatio(rise / delta);
    if (active_) {
      if (rise < delta / 2) {
        return Resolve(p, fmt::format("{} recovered to {} at step {}", series_,
                                      FormatValue(Back(med)), FormatStep(p.step)));
      }
      return out;
    }
    if (armed && rise > delta) {
      std::string how = st_.log ? fmt::format("up {:.0f}%", 100 * (std::exp(rise) - 1))
                                : fmt::format("up {}", FormatValue(rise));
      std::string early =
          med > st_.early ? fmt::format(", above its early level {}", FormatValue(Back(st_.early)))
                          : "";
      return Fire(p, last_score_,
                  fmt::format("{} is diverging: {} at step {} ({} from its low {} at step "
                              "{}{})",
                              series_, FormatValue(Back(med)), FormatStep(p.step), how,
                              FormatValue(Back(st_.min)), FormatStep(st_.min_step), early));
    }
    return out;
  }

  int64_t ReplayPointsHint() const override { return 20 * c_.window; }

 private:
  struct State {
    bool log = true;
    bool has_prev = false;
    double prev = 0;
    int64_t n_diffs = 0;
    double spread = 0;
    int64_t since_reset = 0;
    double min = 0;
    int64_t min_step = 0;
    double early = 0;
    RollingMedian window;
  };

  double Back(double x) const { return st_.log ? std::exp(x) : x; }

  void SaveFields(StateWriter* w) const override {
    w->Bool(st_.log);
    w->Bool(st_.has_prev);
    w->F64(st_.prev);
    w->I64(st_.n_diffs);
    w->F64(st_.spread);
    w->I64(st_.since_reset);
    w->F64(st_.min);
    w->I64(st_.min_step);
    w->F64(st_.early);
    w->Doubles(st_.window.Window());
  }
  bool RestoreFields(StateReader* r) override {
    State s;
    s.log = r->Bool();
    s.has_prev = r->Bool();
    s.prev = r->F64();
    s.n_diffs = r->I64();
    s.spread = r->F64();
    s.since_reset = r->I64();
    s.min = r->F64();
    s.min_step = r->I64();
    s.early = r->F64();
    std::vector<double> w = r->Doubles();
    s.window = RollingMedian(static_cast<size_t>(c_.window));
    if (!r->ok() || !s.window.Restore(w) || !(s.spread >= 0) || s.since_reset < 0 ||
        s.n_diffs < 0) {
      return false;
    }
    st_ = std::move(s);
    return true;
  }

  Config c_;
  State st_;
};

}  // namespace

DetectorResult MakeDivergence(const DetectorParams& p, std::string_view series) {
  if (Status s = CheckKeys(p, {"window", "warmup", "min_rise", "z", "scale_alpha", "transform"});
      !s.ok()) {
    return s;
  }
  DivergenceDetector::Config c;
  VIGIL_ASSIGN_OR_RETURN(Severity sev, SeverityParam(p, Severity::kCritical));
  VIGIL_ASSIGN_OR_RETURN(c.window, p.GetInt("window", c.window));
  VIGIL_ASSIGN_OR_RETURN(c.warmup, p.GetInt("warmup", c.warmup));
  VIGIL_ASSIGN_OR_RETURN(c.min_rise, p.GetDouble("min_rise", c.min_rise));
  VIGIL_ASSIGN_OR_RETURN(c.z, p.GetDouble("z", c.z));
  VIGIL_ASSIGN_OR_RETURN(c.scale_alpha, p.GetDouble("scale_alpha", c.scale_alpha));
  VIGIL_ASSIGN_OR_RETURN(c.transform, TransformParam(p, Transform::kAuto));
  if (c.window < 3 || c.window > static_cast<int64_t>(state_format::kMaxRing)) {
    return Status::InvalidArgument(
        fmt::format("parameter window: must be in [3, {}]", state_format::kMaxRing));
  }
  if (c.warmup < 0) return Status::InvalidArgument("parameter warmup: must be >= 0");
  if (!(c.min_rise >= 0)) return Status::InvalidArgument("parameter min_rise: must be >= 0");
  if (!(c.z >= 0)) return Status::InvalidArgument("parameter z: must be >= 0");
  if (!(c.scale_alpha > 0 && c.scale_alpha <= 1)) {
    return Status::InvalidArgument("parameter scale_alpha: (0, 1]");
  }
  return std::unique_ptr<Detector>(new DivergenceDetector(series, sev, c));
}

}  // namespace vigil::analysis::internal
