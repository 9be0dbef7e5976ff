// memory_growth: memory use growing steadily (a leak, a growing cache), with
// a forecast of the time until it reaches `limit`.
//
// Two exponentially weighted least-squares fits of value against time (in
// seconds), one over about `window` points and one over window/4, are kept
// as weighted Welford sums (O(1) per point, numerically stable on byte
// counts). Growth is "steady" when both slopes are positive, the short one
// is at least half the long one (a one-off step up, such as the allocator
// warming up or an evaluation, flattens the short fit), the long fit
// explains the data (R² >= `min_r2`), and the growth over the long window is
// at least `min_growth` of the current level. Then, with a `limit`, the
// forecast is (limit - fitted now) / slope; with `horizon_seconds` > 0 the
// detector fires only when that forecast is within the horizon (the rate
// and level of the forecast come from the short fit). It
// resolves when the long slope is no longer positive or R² falls under
// min_r2 - 0.3. The first `warmup` points are ignored (start-up growth).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "analysis/detectors/detector_base.h"
#include "analysis/detectors/detector_registry.h"

namespace vigil::analysis::internal {
namespace {

// An exponentially weighted regression of y on t with forgetting factor
// lambda (each older point's weight multiplied by lambda per new point).
struct EwFit {
  double w = 0, mt = 0, my = 0, ctt = 0, cty = 0, cyy = 0;

  void Add(double t, double y, double lambda) {
    w = lambda * w + 1;
    double dt = t - mt, dy = y - my;
    mt += dt / w;
    my += dy / w;
    ctt = lambda * ctt + dt * (t - mt);
    cty = lambda * cty + dt * (y - my);
    cyy = lambda * cyy + dy * (y - my);
  }
  double slope() const { return ctt > 0 ? cty / ctt : 0; }
  double r2() const { return ctt > 0 && cyy > 0 ? (cty * cty) / (ctt * cyy) : 0; }
  double span_seconds() const { return w > 0 && ctt > 0 ? std::sqrt(12 * ctt / w) : 0; }
  double At(double t) const { return my + slope() * (t - mt); }
  void Save(StateWriter* wr) const {
    for (double d : {w, mt, my, ctt, cty, cyy}) wr->F64(d);
  }
  bool Load(StateReader* r) {
    w = r->F64(), mt = r->F64(), my = r->F64(), ctt = r->F64(), cty = r->F64(), cyy = r->F64();
    return r->ok() && w >= 0 && ctt >= 0 && cyy >= 0;
  }
};

class MemoryGrowthDetector final : public DetectorBase {
 public:
  struct Config {
    int64_t window = 150;
    int64_t warmup = 60;
    double min_r2 = 0.8;
    double min_growth = 0.05;
    double limit = 0;
    double horizon_seconds = 0;
  };

  MemoryGrowthDetector(std::string_view series, Severity sev, const Config& c)
      : DetectorBase(FindingKind::kMemoryGrowth, series, sev), c_(c) {}

  std::optional<Finding> Observe(const Point& p) override {
    NoteStep(p);
    last_score_ = 0;
    if (!std::isfinite(p.value)) return std::nullopt;
    if (st_.n == 0) st_.t0_ms = p.time_ms;
    ++st_.n;
    if (st_.n <= c_.warmup) return std::nullopt;
    double t = static_cast<double>(p.time_ms - st_.t0_ms) / 1000.0;
    double lw = 1 - 1.0 / static_cast<double>(c_.window);
    double ls = 1 - 4.0 / static_cast<double>(c_.window);
    st_.lng.Add(t, p.value, lw);
    st_.sht.Add(t, p.value, ls);
    if (st_.n - c_.warmup < c_.window / 2) return std::nullopt;
    double slope = st_.lng.slope();
    double r2 = st_.lng.r2();
    double now = st_.lng.At(t);
    double growth = slope * st_.lng.span_seconds();
    double need = c_.min_growth * std::max(std::fabs(now), 1e-12);
    bool steady = slope > 0 && st_.sht.slope() >= 0.5 * slope && r2 >= c_.min_r2;
    last_score_ = steady ? ScoreFromRatio(growth / need) : 0;
    if (active_) {
      if (!(slope > 0) || r2 < c_.min_r2 - 0.3) {
        return Resolve(p, fmt::format("{} stopped growing ({}) at step {}", series_, Human(p.value),
                                      FormatStep(p.step)));
      }
      return std::nullopt;
    }
    if (!steady || growth < need) return std::nullopt;
    // The forecast uses the short fit: the long one still remembers the
    // time before the growth began and would underestimate the rate.
    double rate = std::max(slope, st_.sht.slope());
    double level = st_.sht.At(t);
    std::optional<double> tto;
    if (c_.limit > 0) tto = std::max(0.0, (c_.limit - level) / rate);
    if (c_.horizon_seconds > 0 && (!tto || *tto > c_.horizon_seconds)) return std::nullopt;
    std::string forecast = tto ? fmt::format("; at this rate it reaches {} in {}", Human(c_.limit),
                                             FormatSeconds(*tto))
                               : std::string();
    Finding f = Fire(p, last_score_,
                     fmt::format("{} is growing steadily: {} at step {}, +{}/h{}", series_,
                                 Human(p.value), FormatStep(p.step), Human(rate * 3600), forecast));
    f.seconds_to_limit = tto;
    return f;
  }
  int64_t ReplayPointsHint() const override { return c_.warmup + 4 * c_.window; }

 private:
  struct State {
    int64_t n = 0;
    int64_t t0_ms = 0;
    EwFit lng, sht;
  };

  bool bytes() const { return series_.find("bytes") != std::string::npos; }
  std::string Human(double v) const { return bytes() ? FormatBytes(v) : FormatValue(v); }

  void SaveFields(StateWriter* w) const override {
    w->I64(st_.n);
    w->I64(st_.t0_ms);
    st_.lng.Save(w);
    st_.sht.Save(w);
  }
  bool RestoreFields(StateReader* r) override {
    State s;
    s.n = r->I64();
    s.t0_ms = r->I64();
    if (!s.lng.Load(r) || !s.sht.Load(r) || s.n < 0) return false;
    st_ = s;
    return true;
  }
  Config c_;
  State st_;
};

}  // namespace

DetectorResult MakeMemoryGrowth(const DetectorParams& p, std::string_view series) {
  if (Status s =
          CheckKeys(p, {"window", "warmup", "min_r2", "min_growth", "limit", "horizon_seconds"});
      !s.ok()) {
    return s;
  }
  MemoryGrowthDetector::Config c;
  VIGIL_ASSIGN_OR_RETURN(Severity sev, SeverityParam(p, Severity::kWarning));
  VIGIL_ASSIGN_OR_RETURN(c.window, p.GetInt("window", c.window));
  VIGIL_ASSIGN_OR_RETURN(c.warmup, p.GetInt("warmup", c.warmup));
  VIGIL_ASSIGN_OR_RETURN(c.min_r2, p.GetDouble("min_r2", c.min_r2));
  VIGIL_ASSIGN_OR_RETURN(c.min_growth, p.GetDouble("min_growth", c.min_growth));
  VIGIL_ASSIGN_OR_RETURN(c.limit, p.GetDouble("limit", c.limit));
  VIGIL_ASSIGN_OR_RETURN(c.horizon_seconds, p.GetDouble("horizon_seconds", c.horizon_seconds));
  if (c.window < 8) return Status::InvalidArgument("parameter window: must be >= 8");
  if (c.warmup < 0) return Status::InvalidArgument("parameter warmup: must be >= 0");
  if (!(c.min_r2 >= 0 && c.min_r2 <= 1)) return Status::InvalidArgument("parameter min_r2: [0, 1]");
  if (!(c.min_growth >= 0)) return Status::InvalidArgument("parameter min_growth: must be >= 0");
  if (!(c.limit >= 0)) return Status::InvalidArgument("parameter limit: must be >= 0");
  if (!(c.horizon_seconds >= 0)) {
    return Status::InvalidArgument("parameter horizon_seconds: must be >= 0");
  }
  return std::unique_ptr<Detector>(new MemoryGrowthDetector(series, sev, c));
}

}  // namespace vigil::analysis::internal
