// throughput_drop: a change of level in step time (direction "up": slower
// is worse) or in a rate such as samples/s (direction "down"), found by a
// one-sided CUSUM on x = ln(value), not by single slow steps.
//
// Baseline mu: EWMA of x (rate `alpha`, each update clipped at 3σ), frozen
// while the CUSUM statistic is building. σ: 0.886 × the EWMA of clipped
// |Δx| (robust to level changes and trends). Per point the CUSUM adds
//   clamp((sign·(x - mu) - m) / σ, -kClip, kClip),  m = max(k σ, ln(1+min_rel)/2)
// and floors at 0; it fires above `h`. So a shift of at least min_rel is
// found within about h / (shift/σ - k) points, and an isolated slow step
// (a checkpoint save, a data-loader hiccup) adds at most kClip. After
// firing, the old baseline is kept; the drop resolves when a fast EWMA of x
// is back within m of it. A resumption resolves and re-learns the baseline
// (a restarted job may land on other hardware).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "analysis/detectors/detector_base.h"
#include "analysis/detectors/detector_registry.h"

namespace vigil::analysis::internal {
namespace {

constexpr double kClip = 3.0;
constexpr double kFastAlpha = 0.1;

class ThroughputDropDetector final : public DetectorBase {
 public:
  struct Config {
    bool up_is_bad = true;
    double k = 1.5;
    double h = 12.0;
    double min_rel = 0.1;
    int64_t warmup = 30;
    double alpha = 0.01;
  };

  ThroughputDropDetector(std::string_view series, Severity sev, const Config& c)
      : DetectorBase(FindingKind::kThroughputDrop, series, sev), c_(c) {}

  std::optional<Finding> Observe(const Point& p) override {
    bool rewind = NoteStep(p);
    last_score_ = 0;
    std::optional<Finding> out;
    if (rewind) {
      if (active_) {
        out = Resolve(p, fmt::format("{} resumed at step {}; re-learning its level", series_,
                                     FormatStep(p.step)));
      }
      st_ = State{};
    }
    if (!std::isfinite(p.value) || !(p.value > 0)) return out;
    double x = std::log(p.value);
    double sign = c_.up_is_bad ? 1.0 : -1.0;
    if (st_.n == 0) {
      st_.mu = st_.fast = st_.prev = x;
      st_.n = 1;
      return out;
    }
    double d = std::fabs(x - st_.prev);
    st_.prev = x;
    if (st_.n > 10) d = std::min(d, 5 * st_.spread);
    double sa = std::max(0.02, 1.0 / static_cast<double>(st_.n));
    st_.spread += sa * (d - st_.spread);
    double sigma = std::max(0.886 * st_.spread, 1e-4);
    double m = std::max(c_.k * sigma, std::log1p(c_.min_rel) / 2);
    st_.fast += kFastAlpha * (x - st_.fast);
    ++st_.n;
    if (st_.n <= c_.warmup) {
      st_.mu += std::max(c_.alpha, 1.0 / static_cast<double>(st_.n)) * (x - st_.mu);
      return out;
    }
    if (active_) {
      last_score_ = ScoreFromRatio(sign * (st_.fast - st_.mu) / (2 * m));
      if (sign * (st_.fast - st_.mu) < m) {
        st_.s = 0;
        return Resolve(p, fmt::format("{} back to its level ({}) at step {}", series_,
                                      FormatValue(std::exp(st_.fast)), FormatStep(p.step)));
      }
      return out;
    }
    double inc = std::clamp((sign * (x - st_.mu) - m) / sigma, -kClip, kClip);
    if (st_.s == 0 && inc > 0) {
      st_.start_step = p.step;
      st_.shift_sum = 0;
      st_.shift_n = 0;
    }
    st_.s = std::max(0.0, st_.s + inc);
    if (st_.s > 0) {
      st_.shift_sum += x;
      ++st_.shift_n;
    }
    last_score_ = ScoreFromRatio(st_.s / c_.h);
    double now = st_.shift_n > 0 ? st_.shift_sum / static_cast<double>(st_.shift_n) : x;
    // The CUSUM also crosses h on a smaller but long-lasting drift; a level
    // change is reported only when the mean since the start of the run-up
    // is itself at least min_rel away.
    if (st_.s > c_.h && sign * (now - st_.mu) >= std::log1p(c_.min_rel)) {
      st_.fast = now;
      double pct = 100 * (std::exp(now - st_.mu) - 1);
      return Fire(
          p, last_score_,
          fmt::format("{} changed level by {:+.0f}% ({} → {}) since step {}, found at "
                      "step {}",
                      series_, pct, FormatValue(std::exp(st_.mu)), FormatValue(std::exp(now)),
                      FormatStep(st_.start_step), FormatStep(p.step)));
    }
    if (st_.s == 0) {
      st_.mu += c_.alpha * std::clamp(x - st_.mu, -kClip * sigma, kClip * sigma);
    }
    return out;
  }

  int64_t ReplayPointsHint() const override {
    return std::max<int64_t>(c_.warmup, static_cast<int64_t>(3 / c_.alpha));
  }

 private:
  struct State {
    int64_t n = 0;
    double mu = 0;
    double fast = 0;
    double prev = 0;
    double spread = 0;
    double s = 0;
    int64_t start_step = 0;
    double shift_sum = 0;
    int64_t shift_n = 0;
  };

  void SaveFields(StateWriter* w) const override {
    w->I64(st_.n);
    w->F64(st_.mu);
    w->F64(st_.fast);
    w->F64(st_.prev);
    w->F64(st_.spread);
    w->F64(st_.s);
    w->I64(st_.start_step);
    w->F64(st_.shift_sum);
    w->I64(st_.shift_n);
  }
  bool RestoreFields(StateReader* r) override {
    State s;
    s.n = r->I64();
    s.mu = r->F64();
    s.fast = r->F64();
    s.prev = r->F64();
    s.spread = r->F64();
    s.s = r->F64();
    s.start_step = r->I64();
    s.shift_sum = r->F64();
    s.shift_n = r->I64();
    if (!r->ok() || s.n < 0 || !(s.spread >= 0) || !(s.s >= 0) || s.shift_n < 0) return false;
    st_ = s;
    return true;
  }

  Config c_;
  State st_;
};

}  // namespace

DetectorResult MakeThroughputDrop(const DetectorParams& p, std::string_view series) {
  if (Status s = CheckKeys(p, {"direction", "k", "h", "min_rel", "warmup", "alpha"}); !s.ok()) {
    return s;
  }
  ThroughputDropDetector::Config c;
  VIGIL_ASSIGN_OR_RETURN(Severity sev, SeverityParam(p, Severity::kWarning));
  VIGIL_ASSIGN_OR_RETURN(c.k, p.GetDouble("k", c.k));
  VIGIL_ASSIGN_OR_RETURN(c.h, p.GetDouble("h", c.h));
  VIGIL_ASSIGN_OR_RETURN(c.min_rel, p.GetDouble("min_rel", c.min_rel));
  VIGIL_ASSIGN_OR_RETURN(c.warmup, p.GetInt("warmup", c.warmup));
  VIGIL_ASSIGN_OR_RETURN(c.alpha, p.GetDouble("alpha", c.alpha));
  std::string dir = p.GetString("direction", "up");
  if (dir != "up" && dir != "down") {
    return Status::InvalidArgument(
        fmt::format("parameter direction: \"{}\" is not up (a time) or down (a rate)", dir));
  }
  c.up_is_bad = dir == "up";
  if (!(c.k >= 0)) return Status::InvalidArgument("parameter k: must be >= 0");
  if (!(c.h > 0)) return Status::InvalidArgument("parameter h: must be > 0");
  if (!(c.min_rel >= 0)) return Status::InvalidArgument("parameter min_rel: must be >= 0");
  if (c.warmup < 2) return Status::InvalidArgument("parameter warmup: must be >= 2");
  if (!(c.alpha > 0 && c.alpha <= 1)) return Status::InvalidArgument("parameter alpha: (0, 1]");
  return std::unique_ptr<Detector>(new ThroughputDropDetector(series, sev, c));
}

}  // namespace vigil::analysis::internal
