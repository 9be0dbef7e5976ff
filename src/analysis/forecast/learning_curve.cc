#include "analysis/forecast/learning_curve.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>
#include <numeric>

#include <fmt/format.h>

namespace vigil::analysis {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

struct Bin {
  double step = 0;
  double value = 0;
  double weight = 0;
};

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  size_t mid = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + static_cast<ptrdiff_t>(mid), v.end());
  double m = v[mid];
  if (v.size() % 2 == 0) {
    m = (m + *std::max_element(v.begin(), v.begin() + static_cast<ptrdiff_t>(mid))) / 2;
  }
  return m;
}

// Sorted finite points, the first skip_fraction of the step range dropped,
// reduced to at most max_bins equal-width bins.
std::vector<Bin> MakeBins(std::span<const int64_t> steps, std::span<const double> values,
                          const CurveFitOptions& o, size_t* used) {
  std::vector<std::pair<int64_t, double>> pts;
  pts.reserve(values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    if (std::isfinite(values[i]) && steps[i] >= 0) pts.emplace_back(steps[i], values[i]);
  }
  std::stable_sort(pts.begin(), pts.end(),
                   [](const auto& x, const auto& y) { return x.first < y.first; });
  std::vector<Bin> bins;
  if (pts.empty()) return bins;
  const double first = static_cast<double>(pts.front().first);
  const double last = static_cast<double>(pts.back().first);
  const double cut = first + o.skip_fraction * (last - first);
  auto begin = std::find_if(pts.begin(), pts.end(),
                            [&](const auto& p) { return static_cast<double>(p.first) >= cut; });
  size_t n = static_cast<size_t>(pts.end() - begin);
  *used = n;
  if (n <= o.max_bins) {
    for (auto it = begin; it != pts.end(); ++it) {
      bins.push_back({static_cast<double>(it->first), it->second, 1.0});
    }
    return bins;
  }
  const double lo = static_cast<double>(begin->first);
  const double width = (last - lo) / static_cast<double>(o.max_bins);
  std::vector<double> bs, bv;
  size_t current = 0;
  auto flush = [&] {
    if (bs.empty()) return;
    double w = static_cast<double>(bs.size());
    bins.push_back({Median(bs), Median(bv), w});
    bs.clear();
    bv.clear();
  };
  for (auto it = begin; it != pts.end(); ++it) {
    size_t b = std::min(o.max_bins - 1,
                        static_cast<size_t>((static_cast<double>(it->first) - lo) / width));
    if (b != current) {
      flush();
      current = b;
    }
    bs.push_back(static_cast<double>(it->first));
    bv.push_back(it->second);
  }
  flush();
  return bins;
}

struct LinearFit {
  PowerLawParams p;
  double loss = kInf;
  bool flat = false;
  double sw = 0, sx = 0, sxx = 0;  // of the final IRLS weights
  double sigma2 = 0;               // residual variance per unit weight
};

// Weighted least squares of y = a·x + c for fixed b, with a >= 0 (and
// c >= 0 when nonneg), iteratively reweighted by Huber's ψ at scale `s`
// (s <= 0: plain least squares). Loss: Σ w0 · ρ(r).
LinearFit FitForB(const std::vector<Bin>& bins, double b, double s, double k, bool nonneg) {
  const size_t n = bins.size();
  std::vector<double> x(n), w(n), r(n);
  for (size_t i = 0; i < n; ++i) {
    x[i] = std::pow(bins[i].step + 1.0, -b);
    w[i] = bins[i].weight;
  }
  LinearFit f;
  const int iterations = s > 0 ? 8 : 1;
  for (int it = 0; it < iterations; ++it) {
    double sw = 0, sx = 0, sy = 0, sxx = 0, sxy = 0;
    for (size_t i = 0; i < n; ++i) {
      sw += w[i];
      sx += w[i] * x[i];
      sy += w[i] * bins[i].value;
      sxx += w[i] * x[i] * x[i];
      sxy += w[i] * x[i] * bins[i].value;
    }
    double det = sw * sxx - sx * sx;
    double a = 0, c = sy / sw;
    bool flat = true;
    if (det > 1e-300 * std::max(1.0, sw * sxx)) {
      a = (sw * sxy - sx * sy) / det;
      c = (sy - a * sx) / sw;
      flat = false;
      if (nonneg && c < 0) {
        c = 0;
        a = sxy / sxx;
      }
      if (a <= 0) {
        a = 0;
        c = sy / sw;
        flat = true;
      }
    }
    f.p = {a, b, c};
    f.flat = flat;
    f.sw = sw;
    f.sx = sx;
    f.sxx = sxx;
    for (size_t i = 0; i < n; ++i) r[i] = bins[i].value - (a * x[i] + c);
    if (s > 0) {
      for (size_t i = 0; i < n; ++i) {
        double ar = std::abs(r[i]);
        w[i] = bins[i].weight * (ar <= k * s ? 1.0 : k * s / ar);
      }
    }
  }
  double loss = 0, wr2 = 0;
  for (size_t i = 0; i < n; ++i) {
    double ar = std::abs(r[i]);
    double rho = (s <= 0 || ar <= k * s) ? 0.5 * ar * ar : k * s * (ar - 0.5 * k * s);
    loss += bins[i].weight * rho;
    wr2 += w[i] * r[i] * r[i];
  }
  f.loss = loss;
  f.sigma2 = n > 2 ? wr2 / static_cast<double>(n - 2) : 0;
  return f;
}

// The Huber location of the bins at scale s (the flat model), and its loss.
LinearFit FitConstant(const std::vector<Bin>& bins, double s, double k) {
  double c = 0;
  std::vector<double> w(bins.size());
  for (size_t i = 0; i < bins.size(); ++i) w[i] = bins[i].weight;
  for (int it = 0; it < 8; ++it) {
    double sw = 0, sy = 0;
    for (size_t i = 0; i < bins.size(); ++i) {
      sw += w[i];
      sy += w[i] * bins[i].value;
    }
    c = sy / sw;
    for (size_t i = 0; i < bins.size(); ++i) {
      double ar = std::abs(bins[i].value - c);
      w[i] = bins[i].weight * (ar <= k * s ? 1.0 : k * s / ar);
    }
  }
  LinearFit f;
  f.p = {0, 0, c};
  f.flat = true;
  f.loss = 0;
  double wr2 = 0;
  for (size_t i = 0; i < bins.size(); ++i) {
    double r = bins[i].value - c, ar = std::abs(r);
    f.loss += bins[i].weight * (ar <= k * s ? 0.5 * ar * ar : k * s * (ar - 0.5 * k * s));
    f.sw += w[i];
    wr2 += w[i] * r * r;
  }
  f.sigma2 = bins.size() > 1 ? wr2 / static_cast<double>(bins.size() - 1) : 0;
  return f;
}

double RobustScale(const std::vector<Bin>& bins, const PowerLawParams& p) {
  std::vector<double> r;
  r.reserve(bins.size());
  for (const Bin& bin : bins) r.push_back(std::abs(bin.value - p.Eval(bin.step)));
  return 1.4826 * Median(std::move(r));
}

double StepFor(const PowerLawParams& p, double target) {
  if (p.a <= 0 || p.b <= 0 || target <= p.c) return kInf;
  double t = std::pow(p.a / (target - p.c), 1.0 / p.b);
  return std::max(0.0, t - 1.0);
}

}  // namespace

double PowerLawParams::Eval(double step) const {
  if (a == 0) return c;
  return a * std::pow(std::max(step, 0.0) + 1.0, -b) + c;
}

Result<LearningCurve> LearningCurve::Fit(std::span<const int64_t> steps,
                                         std::span<const double> values, const CurveFitOptions& o) {
  assert(steps.size() == values.size());
  size_t used = 0;
  std::vector<Bin> bins = MakeBins(steps, values, o, &used);
  if (bins.size() < o.min_points) {
    return Status::FailedPrecondition(
        fmt::format("a learning-curve fit needs at least {} finite points, the series has {}",
                    o.min_points, bins.size()));
  }
  if (bins.front().step == bins.back().step) {
    return Status::FailedPrecondition("a learning-curve fit needs more than one distinct step");
  }
  bool nonneg = std::all_of(bins.begin(), bins.end(), [](const Bin& b) { return b.value >= 0; });

  std::vector<double> grid(static_cast<size_t>(o.b_grid));
  for (int i = 0; i < o.b_grid; ++i) {
    double u = o.b_grid == 1 ? 0 : static_cast<double>(i) / (o.b_grid - 1);
    grid[static_cast<size_t>(i)] = o.b_min * std::pow(o.b_max / o.b_min, u);
  }
  // Pass 1: plain least squares over the grid, for a common residual scale.
  LinearFit plain;
  for (double b : grid) {
    LinearFit f = FitForB(bins, b, 0, o.huber_k, nonneg);
    if (f.loss < plain.loss) plain = f;
  }
  double s = RobustScale(bins, plain.p);
  if (!(s > 0)) s = 1e-12 * std::max(1.0, std::abs(plain.p.c));
  // Pass 2: Huber fits at that scale over the grid, then refine b.
  std::vector<LinearFit> fits;
  fits.reserve(grid.size());
  size_t best = 0;
  for (size_t i = 0; i < grid.size(); ++i) {
    fits.push_back(FitForB(bins, grid[i], s, o.huber_k, nonneg));
    if (fits[i].loss < fits[best].loss) best = i;
  }
  LinearFit top = fits[best];
  if (grid.size() >= 3) {
    double lo = std::log(grid[best == 0 ? 0 : best - 1]);
    double hi = std::log(grid[std::min(best + 1, grid.size() - 1)]);
    const double g = (std::sqrt(5.0) - 1) / 2;
    double x1 = hi - g * (hi - lo), x2 = lo + g * (hi - lo);
    LinearFit f1 = FitForB(bins, std::exp(x1), s, o.huber_k, nonneg);
    LinearFit f2 = FitForB(bins, std::exp(x2), s, o.huber_k, nonneg);
    for (int it = 0; it < 24; ++it) {
      if (f1.loss < f2.loss) {
        hi = x2;
        x2 = x1;
        f2 = f1;
        x1 = hi - g * (hi - lo);
        f1 = FitForB(bins, std::exp(x1), s, o.huber_k, nonneg);
      } else {
        lo = x1;
        x1 = x2;
        f1 = f2;
        x2 = lo + g * (hi - lo);
        f2 = FitForB(bins, std::exp(x2), s, o.huber_k, nonneg);
      }
    }
    const LinearFit& r = f1.loss < f2.loss ? f1 : f2;
    if (r.loss < top.loss) top = r;
  }

  // Model selection: the power law must beat the flat model by more than
  // its two extra parameters explain (F-test, F(2, n-3) > 4: ~2% false
  // positives on a flat noisy curve).
  if (!top.flat) {
    LinearFit constant = FitConstant(bins, s, o.huber_k);
    const double dof = static_cast<double>(bins.size()) - 3;
    double f_stat = top.loss > 0 ? (constant.loss - top.loss) / top.loss * dof / 2 : kInf;
    if (f_stat < 4) top = constant;
  }

  LearningCurve curve;
  curve.points_used_ = used;
  curve.bins_ = bins.size();
  curve.first_step_ = static_cast<int64_t>(bins.front().step);
  curve.last_step_ = static_cast<int64_t>(bins.back().step);
  curve.flat_ = top.flat;
  curve.best_ = top.p;
  if (top.flat) curve.best_ = {0, 0, top.p.c};
  curve.residual_scale_ = RobustScale(bins, curve.best_);
  double det = top.sw * top.sxx - top.sx * top.sx;
  if (!top.flat && det > 0) {
    curve.cov_aa_ = top.sigma2 * top.sw / det;
    curve.cov_cc_ = top.sigma2 * top.sxx / det;
    curve.cov_ac_ = -top.sigma2 * top.sx / det;
  } else {
    curve.cov_cc_ = top.sigma2 / std::max(top.sw, 1.0);
  }
  // The profile: the interval of b whose loss is within a 2-sigma
  // chi-square(1) margin of the best, found by bisection on each side of
  // the best b (the grid alone is too coarse when the data pin b down),
  // sampled at kProfileSamples points.
  curve.profile_.push_back({curve.best_, top.loss});
  if (!top.flat) {
    const double n = static_cast<double>(bins.size());
    const double limit = top.loss * (1.0 + 4.0 / std::max(1.0, n - 3.0));
    auto loss_at = [&](double log_b) {
      LinearFit f = FitForB(bins, std::exp(log_b), s, o.huber_k, nonneg);
      return f.flat ? kInf : f.loss;
    };
    const double best_lb = std::log(top.p.b);
    const double step = std::log(o.b_max / o.b_min) / std::max(1, o.b_grid - 1);
    auto edge = [&](double dir) {
      double inside = best_lb, outside = best_lb;
      const double bound = std::log(dir < 0 ? o.b_min : o.b_max);
      for (;;) {
        outside = dir < 0 ? std::max(bound, outside - step) : std::min(bound, outside + step);
        if (loss_at(outside) > limit) break;
        inside = outside;
        if (outside == bound) return inside;
      }
      for (int it = 0; it < 30; ++it) {
        double mid = (inside + outside) / 2;
        (loss_at(mid) > limit ? outside : inside) = mid;
      }
      return inside;
    };
    const double lo = edge(-1), hi = edge(+1);
    constexpr int kProfileSamples = 9;
    for (int k = 0; k < kProfileSamples; ++k) {
      double lb = lo + (hi - lo) * k / (kProfileSamples - 1);
      LinearFit f = FitForB(bins, std::exp(lb), s, o.huber_k, nonneg);
      if (!f.flat) curve.profile_.push_back({f.p, f.loss});
    }
  }
  return curve;
}

Band LearningCurve::PredictAt(double step) const {
  double mid = best_.Eval(step);
  double lo = mid, hi = mid;
  for (const Candidate& c : profile_) {
    double v = c.p.Eval(step);
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  double x = flat_ ? 0 : std::pow(std::max(step, 0.0) + 1.0, -best_.b);
  double var = x * x * cov_aa_ + 2 * x * cov_ac_ + cov_cc_;
  double se = std::sqrt(std::max(var, 0.0));
  return {lo - 2 * se, mid, hi + 2 * se};
}

std::optional<Band> LearningCurve::StepToReach(double target) const {
  double mid = StepFor(best_, target);
  if (!std::isfinite(mid)) return std::nullopt;
  double lo = mid, hi = mid;
  for (const Candidate& c : profile_) {
    double s = StepFor(c.p, target);
    lo = std::min(lo, s);
    hi = std::max(hi, s);
  }
  return Band{lo, mid, hi};
}

}  // namespace vigil::analysis
