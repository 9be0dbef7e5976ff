// spike: a value far outside the recent behaviour of the series.
//
// Works on x = ln(value) (transform "log", the default "auto" for positive
// series: loss and gradient-norm noise is multiplicative) or on the raw
// value. The expected value is a robust Holt forecast (level + damped
// trend), so a trending curve (power-law decay, warm-up) is not a spike;
// the spread is an EWMA of the absolute forecast residual with each
// residual clipped at kClip spreads, so heavy-tailed noise and the spikes
// themselves barely move it. A point is a spike when, after `warmup`
// points, its residual exceeds `threshold` spreads in the watched
// `direction` and the relative jump is at least `min_rel`. During a spike
// the level and spread are frozen; the spike resolves when the residual is
// back under threshold/2, or after `max_points` points the new level is
// adopted (a level shift is not an endless spike).
//
// Invariant: scale_ >= 0; level_/trend_ finite once n_ > 0.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "analysis/detectors/detector_base.h"
#include "analysis/detectors/detector_registry.h"

namespace vigil::analysis::internal {
namespace {

// Residuals are clipped at this many spreads when updating level and
// spread: Huber's estimator, keeping heavy tails from inflating the spread.
constexpr double kClip = 3.0;
// After a resumption (step rewind), this many points adapt quickly and
// never alarm: a restart replays the loss from the checkpoint.
constexpr int64_t kGracePoints = 5;

enum class Direction : uint8_t { kBoth = 0, kUp, kDown };

class SpikeDetector final : public DetectorBase {
 public:
  struct Config {
    double threshold = 8;
    double min_rel = 0;
    Direction direction = Direction::kBoth;
    int64_t warmup = 30;
    double alpha = 0.15;  // level smoothing
    double beta = 0.05;   // trend smoothing
    double phi = 0.9;     // trend damping per step
    double scale_alpha = 0.03;
    int64_t max_points = 30;
    Transform transform = Transform::kAuto;
  };

  SpikeDetector(std::string_view series, Severity sev, const Config& c)
      : DetectorBase(FindingKind::kSpike, series, sev), c_(c) {
    st_.log = c_.transform != Transform::kRaw;
  }

  std::optional<Finding> Observe(const Point& p) override {
    bool rewind = NoteStep(p);
    last_score_ = 0;
    if (!std::isfinite(p.value)) return std::nullopt;  // non_finite's business
    std::optional<Finding> out;
    if (rewind) {
      if (active_) {
        out = Resolve(
            p, fmt::format("{} resumed at step {}; spike over", series_, FormatStep(p.step)));
      }
    }
    if (st_.log && !(p.value > 0)) {
      if (c_.transform == Transform::kLog) return out;  // cannot take ln: skip
      st_ = State{};                                    // auto: switch to raw
      st_.log = false;
    }
    double x = st_.log ? std::log(p.value) : p.value;
    if (st_.n == 0 || rewind) {
      // First point, or the first after a resumption: the level restarts
      // here (the noise estimate is kept) and the next points adapt fast.
      st_.level = x;
      st_.trend = 0;
      if (rewind) st_.grace = kGracePoints;
      st_.n = std::max<int64_t>(st_.n, 1);
      return out;
    }
    double pred = st_.level + st_.trend;
    double r = x - pred;
    double spread = std::max(st_.scale, Floor(pred));
    double z = r / spread;
    double zd = c_.direction == Direction::kUp     ? z
                : c_.direction == Direction::kDown ? -z
                                                   : std::fabs(z);
    bool armed = st_.n > c_.warmup && st_.grace == 0;
    bool big_enough = std::fabs(r) >= MinJump(pred);
    if (armed && zd > 0) last_score_ = ScoreFromRatio(zd / c_.threshold);
    if (!armed) last_score_ = 0;

    if (active_) {
      ++st_.spike_points;
      if (zd > c_.threshold / 2 && big_enough) {
        if (st_.spike_points < c_.max_points) {
          st_.level += st_.trend;  // frozen: extrapolate only
          return out;
        }
        // A level shift, not a spike: adopt it.
        st_.level = x;
        st_.trend = 0;
        return Resolve(p, fmt::format("{} settled at a new level {} at step {}", series_,
                                      FormatValue(p.value), FormatStep(p.step)));
      }
      out = Resolve(p, fmt::format("{} back to {} at step {} after a spike", series_,
                                   FormatValue(p.value), FormatStep(p.step)));
      Update(x, r, spread);
      return out;
    }
    if (armed && zd > c_.threshold && big_enough) {
      st_.spike_points = 0;
      st_.level += st_.trend;
      double expected = st_.log ? std::exp(pred) : pred;
      return Fire(
          p, last_score_,
          fmt::format("{} {} to {} at step {}, {} its recent spread (expected ~{})", series_,
                      z > 0 ? "spiked" : "dropped", FormatValue(p.value), FormatStep(p.step),
                      FormatRatio(std::fabs(z)), FormatValue(expected)));
    }
    Update(x, r, spread);
    return out;
  }

  int64_t ReplayPointsHint() const override { return 10 * c_.warmup + 100; }

 private:
  struct State {
    bool log = true;
    int64_t n = 0;
    int64_t grace = 0;
    int64_t spike_points = 0;
    double level = 0;
    double trend = 0;
    double scale = 0;
  };

  double Floor(double pred) const {
    // The smallest spread considered: a constant series has spread 0, and
    // any change would be "infinitely" surprising.
    return st_.log ? 1e-4 : 1e-9 + 1e-6 * std::fabs(pred);
  }
  double MinJump(double pred) const {
    return st_.log ? std::log1p(c_.min_rel) : c_.min_rel * std::fabs(pred);
  }

  void Update(double x, double r, double spread) {
    bool warm = st_.n > c_.warmup;
    double rc = warm ? std::clamp(r, -kClip * spread, kClip * spread) : r;
    double alpha = c_.alpha;
    if (st_.grace > 0) {
      alpha = 0.5;
      --st_.grace;
    }
    double pred = st_.level + st_.trend;
    st_.level = pred + alpha * rc;
    st_.trend = c_.phi * st_.trend + c_.beta * alpha * rc;
    // Warm-up: plain mean of |r| (1/n weights), then the EWMA.
    double sa = std::max(c_.scale_alpha, 1.0 / static_cast<double>(st_.n));
    st_.scale += sa * (std::fabs(rc) - st_.scale);
    ++st_.n;
    (void)x;
  }

  void SaveFields(StateWriter* w) const override {
    w->Bool(st_.log);
    w->I64(st_.n);
    w->I64(st_.grace);
    w->I64(st_.spike_points);
    w->F64(st_.level);
    w->F64(st_.trend);
    w->F64(st_.scale);
  }
  bool RestoreFields(StateReader* r) override {
    State s;
    s.log = r->Bool();
    s.n = r->I64();
    s.grace = r->I64();
    s.spike_points = r->I64();
    s.level = r->F64();
    s.trend = r->F64();
    s.scale = r->F64();
    if (!r->ok() || s.n < 0 || s.grace < 0 || !(s.scale >= 0) || !std::isfinite(s.level) ||
        !std::isfinite(s.trend)) {
      return false;
    }
    st_ = s;
    return true;
  }

  Config c_;
  State st_;
};

}  // namespace

DetectorResult MakeSpike(const DetectorParams& p, std::string_view series) {
  if (Status s = CheckKeys(p, {"threshold", "min_rel", "direction", "warmup", "alpha", "beta",
                               "scale_alpha", "max_points", "transform"});
      !s.ok()) {
    return s;
  }
  SpikeDetector::Config c;
  VIGIL_ASSIGN_OR_RETURN(Severity sev, SeverityParam(p, Severity::kWarning));
  VIGIL_ASSIGN_OR_RETURN(c.threshold, p.GetDouble("threshold", c.threshold));
  VIGIL_ASSIGN_OR_RETURN(c.min_rel, p.GetDouble("min_rel", c.min_rel));
  VIGIL_ASSIGN_OR_RETURN(c.warmup, p.GetInt("warmup", c.warmup));
  VIGIL_ASSIGN_OR_RETURN(c.alpha, p.GetDouble("alpha", c.alpha));
  VIGIL_ASSIGN_OR_RETURN(c.beta, p.GetDouble("beta", c.beta));
  VIGIL_ASSIGN_OR_RETURN(c.scale_alpha, p.GetDouble("scale_alpha", c.scale_alpha));
  VIGIL_ASSIGN_OR_RETURN(c.max_points, p.GetInt("max_points", c.max_points));
  VIGIL_ASSIGN_OR_RETURN(c.transform, TransformParam(p, Transform::kAuto));
  std::string dir = p.GetString("direction", "both");
  if (dir == "both") {
    c.direction = Direction::kBoth;
  } else if (dir == "up") {
    c.direction = Direction::kUp;
  } else if (dir == "down") {
    c.direction = Direction::kDown;
  } else {
    return Status::InvalidArgument(
        fmt::format("parameter direction: \"{}\" is not up, down or both", dir));
  }
  if (!(c.threshold > 0)) return Status::InvalidArgument("parameter threshold: must be > 0");
  if (!(c.min_rel >= 0)) return Status::InvalidArgument("parameter min_rel: must be >= 0");
  if (c.warmup < 2) return Status::InvalidArgument("parameter warmup: must be >= 2");
  if (!(c.alpha > 0 && c.alpha <= 1)) return Status::InvalidArgument("parameter alpha: (0, 1]");
  if (!(c.beta >= 0 && c.beta <= 1)) return Status::InvalidArgument("parameter beta: [0, 1]");
  if (!(c.scale_alpha > 0 && c.scale_alpha <= 1)) {
    return Status::InvalidArgument("parameter scale_alpha: (0, 1]");
  }
  if (c.max_points < 1) return Status::InvalidArgument("parameter max_points: must be >= 1");
  return std::unique_ptr<Detector>(new SpikeDetector(series, sev, c));
}

}  // namespace vigil::analysis::internal
