// grad_explosion: a gradient norm rising by orders of magnitude above its
// usual level, which usually precedes a loss spike or NaN.
//
// The baseline is an EWMA of ln(value) with rate `alpha`, each update
// clipped to ±1 (a factor e) so one wild point barely moves it, and frozen
// while exploding. The detector fires when ln(value) - baseline exceeds
// `orders` × ln 10 on `min_points` consecutive points (or on one point when
// it exceeds twice that), and resolves when the norm has been back under
// half that rise for `min_points` points. Values <= 0 and non-finite values
// are skipped (non_finite reports the latter).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "analysis/detectors/detector_base.h"
#include "analysis/detectors/detector_registry.h"

namespace vigil::analysis::internal {
namespace {

class GradExplosionDetector final : public DetectorBase {
 public:
  struct Config {
    double orders = 1.0;
    int64_t min_points = 2;
    int64_t warmup = 20;
    double alpha = 0.02;
  };

  GradExplosionDetector(std::string_view series, Severity sev, const Config& c)
      : DetectorBase(FindingKind::kGradExplosion, series, sev), c_(c) {}

  std::optional<Finding> Observe(const Point& p) override {
    NoteStep(p);
    last_score_ = 0;
    if (!std::isfinite(p.value) || !(p.value > 0)) return std::nullopt;
    double x = std::log(p.value);
    if (st_.n == 0) {
      st_.base = x;
      st_.n = 1;
      return std::nullopt;
    }
    double lim = c_.orders * std::log(10.0);
    double rise = x - st_.base;
    bool armed = st_.n > c_.warmup;
    if (armed) last_score_ = ScoreFromRatio(std::max(0.0, rise) / lim);
    if (active_) {
      st_.count = rise < lim / 2 ? st_.count + 1 : 0;
      if (st_.count >= c_.min_points) {
        st_.count = 0;
        return Resolve(p, fmt::format("{} back to {} at step {}", series_, FormatValue(p.value),
                                      FormatStep(p.step)));
      }
      return std::nullopt;
    }
    if (armed && rise > lim) {
      ++st_.count;
      if (st_.count >= c_.min_points || rise > 2 * lim) {
        st_.count = 0;
        return Fire(p, last_score_,
                    fmt::format("{} exploded to {} at step {}, {} its usual {}", series_,
                                FormatValue(p.value), FormatStep(p.step),
                                FormatRatio(std::exp(rise)), FormatValue(std::exp(st_.base))));
      }
      return std::nullopt;
    }
    st_.count = 0;
    double a = std::max(c_.alpha, 1.0 / static_cast<double>(st_.n + 1));
    st_.base += a * std::clamp(rise, -1.0, 1.0);
    ++st_.n;
    return std::nullopt;
  }

  int64_t ReplayPointsHint() const override {
    return std::max<int64_t>(c_.warmup, static_cast<int64_t>(5 / c_.alpha));
  }

 private:
  struct State {
    int64_t n = 0;
    int64_t count = 0;
    double base = 0;
  };

  void SaveFields(StateWriter* w) const override {
    w->I64(st_.n);
    w->I64(st_.count);
    w->F64(st_.base);
  }
  bool RestoreFields(StateReader* r) override {
    State s;
    s.n = r->I64();
    s.count = r->I64();
    s.base = r->F64();
    if (!r->ok() || s.n < 0 || s.count < 0 || !std::isfinite(s.base)) return false;
    st_ = s;
    return true;
  }

  Config c_;
  State st_;
};

}  // namespace

DetectorResult MakeGradExplosion(const DetectorParams& p, std::string_view series) {
  if (Status s = CheckKeys(p, {"orders", "min_points", "warmup", "alpha"}); !s.ok()) return s;
  GradExplosionDetector::Config c;
  VIGIL_ASSIGN_OR_RETURN(Severity sev, SeverityParam(p, Severity::kCritical));
  VIGIL_ASSIGN_OR_RETURN(c.orders, p.GetDouble("orders", c.orders));
  VIGIL_ASSIGN_OR_RETURN(c.min_points, p.GetInt("min_points", c.min_points));
  VIGIL_ASSIGN_OR_RETURN(c.warmup, p.GetInt("warmup", c.warmup));
  VIGIL_ASSIGN_OR_RETURN(c.alpha, p.GetDouble("alpha", c.alpha));
  if (!(c.orders > 0)) return Status::InvalidArgument("parameter orders: must be > 0");
  if (c.min_points < 1) return Status::InvalidArgument("parameter min_points: must be >= 1");
  if (c.warmup < 1) return Status::InvalidArgument("parameter warmup: must be >= 1");
  if (!(c.alpha > 0 && c.alpha <= 1)) return Status::InvalidArgument("parameter alpha: (0, 1]");
  return std::unique_ptr<Detector>(new GradExplosionDetector(series, sev, c));
}

}  // namespace vigil::analysis::internal
