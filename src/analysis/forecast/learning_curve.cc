#include "analysis/forecast/learning_curve.h"
#include "analysis/median.h"

#include <algorithm>
#include <array>
#include <cassert>
#include <cmath>
#include <functional>
#include <iterator>
#include <limits>
#include <utility>

#include <fmt/format.h>

#include "analysis/forecast/learning_curve_shapes.h"

namespace vigil::analysis {
namespace {

using curve_fit::Basis;
using curve_fit::Bin;
using curve_fit::LinearFit;
using curve_fit::Problem;
using curve_fit::Shape;

constexpr double kInf = std::numeric_limits<double>::infinity();
// The sharpness values of the bend searched (k = 1: a gentle bend over
// about two decades of steps; k = 8: a corner).
constexpr double kSharpness[] = {1, 2, 4, 8};
// Half-steps of the local profile around the best shape (±3 grid steps),
// and the golden-section iterations of τ at each (bracket × 0.618^12 ≈ 0.3%).
constexpr int kLocalSteps = 6;
constexpr int kLocalIterations = 12;

// Sorted finite points with step >= 0.
std::vector<std::pair<int64_t, double>> SortedPoints(std::span<const int64_t> steps,
                                                     std::span<const double> values) {
  std::vector<std::pair<int64_t, double>> pts;
  pts.reserve(values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    if (std::isfinite(values[i]) && steps[i] >= 0) pts.emplace_back(steps[i], values[i]);
  }
  std::stable_sort(pts.begin(), pts.end(),
                   [](const auto& x, const auto& y) { return x.first < y.first; });
  return pts;
}

// The points after the first skip_fraction of the step range, as equal-width
// step bins (median step, median value) of at least points_per_bin points
// once there are enough (see CurveFitOptions).
std::vector<Bin> MakeBins(const std::vector<std::pair<int64_t, double>>& pts,
                          const CurveFitOptions& o, size_t* used) {
  std::vector<Bin> bins;
  if (pts.empty()) return bins;
  const double first = static_cast<double>(pts.front().first);
  const double last = static_cast<double>(pts.back().first);
  const double cut = first + o.skip_fraction * (last - first);
  auto begin = std::find_if(pts.begin(), pts.end(),
                            [&](const auto& p) { return static_cast<double>(p.first) >= cut; });
  const size_t n = static_cast<size_t>(pts.end() - begin);
  *used = n;
  size_t nb = n;
  if (n > o.min_bins) {
    nb = std::clamp(n / std::max<size_t>(1, o.points_per_bin), o.min_bins, o.max_bins);
  }
  if (nb >= n) {
    for (auto it = begin; it != pts.end(); ++it) {
      bins.push_back({static_cast<double>(it->first), it->second, 1.0});
    }
    return bins;
  }
  const double lo = static_cast<double>(begin->first);
  const double width = (last - lo) / static_cast<double>(nb);
  std::vector<double> bs, bv;
  size_t current = 0;
  auto flush = [&] {
    if (bs.empty()) return;
    bins.push_back({Median(bs), Median(bv), static_cast<double>(bs.size())});
    bs.clear();
    bv.clear();
  };
  for (auto it = begin; it != pts.end(); ++it) {
    double pos = width > 0 ? (static_cast<double>(it->first) - lo) / width : 0;
    size_t b = std::min(nb - 1, static_cast<size_t>(pos));
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

std::vector<double> LogGrid(double lo, double hi, int count) {
  std::vector<double> g(static_cast<size_t>(std::max(count, 1)));
  for (size_t i = 0; i < g.size(); ++i) {
    double u = g.size() == 1 ? 0 : static_cast<double>(i) / static_cast<double>(g.size() - 1);
    g[i] = lo * std::pow(hi / lo, u);
  }
  return g;
}

// The grid values on either side of v (v itself at the ends).
std::pair<double, double> Neighbours(const std::vector<double>& grid, double v) {
  auto it = std::lower_bound(grid.begin(), grid.end(), v * (1 - 1e-12));
  size_t i = static_cast<size_t>(it - grid.begin());
  if (i >= grid.size()) i = grid.size() - 1;
  return {grid[i == 0 ? 0 : i - 1], grid[std::min(i + 1, grid.size() - 1)]};
}

double RobustScale(const std::vector<Bin>& bins, const PowerLawParams& p) {
  std::vector<double> r;
  r.reserve(bins.size());
  for (const Bin& bin : bins) r.push_back(std::abs(bin.value - p.Eval(bin.step)));
  return 1.4826 * Median(std::move(r));
}

double StepFor(const PowerLawParams& p, double target) {
  if (p.a <= 0 || p.b <= 0 || !(target > p.c)) return kInf;
  const double la = std::log(p.a / (target - p.c));  // log of (τ^k + t^k)^(b/k)
  double lt = 0;                                     // log t
  if (p.tau <= 0) {
    lt = la / p.b;
  } else {
    const double l1 = p.k / p.b * la, l2 = p.k * std::log(p.tau);
    if (l1 <= l2) return 0;  // even the plateau is at or below the target
    lt = (l1 + std::log1p(-std::exp(l2 - l1))) / p.k;
  }
  if (lt > 700) return kInf;
  return std::max(0.0, std::exp(lt) - 1.0);
}

// The first step at which f(step) <= target: scanned on a log grid up to
// 10^4 times `horizon`, then bisected. +infinity when it never is.
double FirstStepAtOrBelow(const std::function<double(double)>& f, double target, double horizon) {
  if (f(0) <= target) return 0;
  constexpr int kScan = 160;
  const double top = std::log(std::max(horizon, 1.0) * 1e4 + 1);
  double prev = 0;
  for (int i = 1; i <= kScan; ++i) {
    double lt = top * i / kScan;
    if (f(std::exp(lt) - 1) <= target) {
      double lo = prev, hi = lt;
      for (int it = 0; it < 30; ++it) {
        double mid = (lo + hi) / 2;
        (f(std::exp(mid) - 1) <= target ? hi : lo) = mid;
      }
      return std::exp(hi) - 1;
    }
    prev = lt;
  }
  return kInf;
}

}  // namespace

double PowerLawParams::Eval(double step) const {
  if (a == 0) return c;
  const double t = std::max(step, 0.0) + 1.0;
  Shape s{b, tau, k};
  return a * Basis(t, std::log(t), s) + c;
}

Result<LearningCurve> LearningCurve::Fit(std::span<const int64_t> steps,
                                         std::span<const double> values, const CurveFitOptions& o) {
  assert(steps.size() == values.size());
  const auto pts = SortedPoints(steps, values);
  size_t used = 0;
  std::vector<Bin> bins = MakeBins(pts, o, &used);
  if (bins.size() < o.min_points) {
    return Status::FailedPrecondition(
        fmt::format("a learning-curve fit needs at least {} finite points, the series has {}",
                    o.min_points, bins.size()));
  }
  if (bins.front().step == bins.back().step) {
    return Status::FailedPrecondition("a learning-curve fit needs more than one distinct step");
  }
  const bool positive =
      std::all_of(bins.begin(), bins.end(), [](const Bin& b) { return b.value > 0; });
  Problem prob = curve_fit::MakeProblem(bins, positive, o);
  const size_t n = bins.size();

  // The shapes: plain power laws, then bent ones.
  const std::vector<double> b_plain = LogGrid(o.b_min, o.b_max, o.b_grid);
  const std::vector<double> b_bent = LogGrid(o.b_min, o.b_max, o.b_bent_grid);
  const double t_last = bins.back().step + 1;
  const std::vector<double> taus = LogGrid(1.0, o.tau_max_factor * t_last, o.tau_grid);
  std::vector<Shape> shapes;
  for (double b : b_plain) shapes.push_back({b, 0, 1});
  if (o.bend && o.tau_grid > 0 && o.b_bent_grid > 0 && t_last > 2) {
    for (double b : b_bent) {
      for (double tau : taus) {
        for (double k : kSharpness) shapes.push_back({b, tau, k});
      }
    }
  }

  // Refines a fit: golden section on b within its grid cell for a plain
  // power law, Nelder–Mead on (b, τ) within the grid's range for a bent one.
  auto refine = [&](LinearFit f) {
    if (!std::isfinite(f.loss)) return f;
    if (f.shape.tau <= 0) {
      auto [lo, hi] = Neighbours(b_plain, f.shape.b);
      return curve_fit::RefineCoordinate(prob, f, lo, hi, &Shape::b);
    }
    const double step_b = std::log(o.b_max / o.b_min) / std::max(1, o.b_bent_grid - 1);
    const double step_tau = std::log(taus.back() / taus.front()) / std::max(1, o.tau_grid - 1);
    return curve_fit::NelderMead(prob, f, step_b, step_tau, {o.b_min, o.b_max},
                                 {taus.front(), taus.back()});
  };

  // Pass 1: plain least squares; the residuals' robust scale of the best
  // shape, refined (so that the grid's coarseness does not count as noise).
  LinearFit plain;
  for (const Shape& s : shapes) {
    LinearFit f = curve_fit::FitShape(prob, s);
    if (!f.flat && f.loss < plain.loss) plain = f;
  }
  plain = refine(plain);
  {
    std::vector<double> z;
    const Shape& sh = plain.shape;
    for (size_t i = 0; i < n; ++i) {
      double x = std::isfinite(plain.loss) ? Basis(prob.t[i], prob.lt[i], sh) : 0;
      z.push_back(prob.sqw[i] * std::abs(prob.y[i] - (plain.a * x + plain.c)));
    }
    prob.s = 1.4826 * Median(std::move(z));
    if (!(prob.s > 0)) prob.s = 1e-12 * std::max(1.0, std::abs(plain.c));
  }
  if (prob.nonneg && o.floor_prior > 0) {
    std::vector<double> tail;
    for (size_t i = n - std::max<size_t>(3, n / 10); i < n; ++i) tail.push_back(prob.y[i]);
    const double level = Median(std::move(tail));
    if (level > 0) prob.mu = o.floor_prior * prob.s * prob.s / (level * level);
  }

  // Pass 2: Huber fits of every shape. The best plain shape is refined, and
  // the best bent shape of each sharpness (b and τ trade off against k: the
  // grid's best k is not always the refined best).
  std::vector<LinearFit> fits;
  fits.reserve(shapes.size());
  LinearFit best_plain, best_bent;
  std::array<LinearFit, std::size(kSharpness)> best_by_k;
  for (const Shape& s : shapes) {
    fits.push_back(curve_fit::FitShape(prob, s));
    const LinearFit& f = fits.back();
    if (f.flat) continue;
    LinearFit* slot = &best_plain;
    if (s.tau > 0) {
      slot = &best_by_k[static_cast<size_t>(
          std::find(std::begin(kSharpness), std::end(kSharpness), s.k) - std::begin(kSharpness))];
    }
    if (f.loss < slot->loss) *slot = f;
  }
  best_plain = refine(best_plain);
  for (LinearFit& f : best_by_k) {
    f = refine(f);
    if (f.loss < best_bent.loss) best_bent = f;
  }
  // Model selection: a bend must beat the plain power law by more than its
  // two extra parameters explain, F(2, n−5) ≥ bend_f; any power law must
  // beat a constant by F(2, n−3) ≥ 4 (~2% false positives on a flat noisy
  // curve).
  LinearFit top = best_plain;
  if (std::isfinite(best_bent.loss) && best_bent.loss < best_plain.loss) {
    const double dof = static_cast<double>(n) - 5;
    double f_stat =
        best_bent.loss > 0 ? (best_plain.loss - best_bent.loss) / best_bent.loss * dof / 2 : kInf;
    if (!std::isfinite(best_plain.loss) || (dof > 0 && f_stat >= o.bend_f)) top = best_bent;
  }
  LinearFit constant = curve_fit::FitConstant(prob);
  bool flat = !std::isfinite(top.loss);
  if (!flat) {
    const double dof = static_cast<double>(n) - 3;
    double f_stat = top.loss > 0 ? (constant.loss - top.loss) / top.loss * dof / 2 : kInf;
    flat = f_stat < 4;
  }
  if (flat) top = constant;

  LearningCurve curve;
  curve.points_used_ = used;
  curve.bins_ = n;
  curve.first_step_ = static_cast<int64_t>(bins.front().step);
  curve.last_step_ = static_cast<int64_t>(bins.back().step);
  curve.flat_ = flat;
  curve.positive_ = positive;
  curve.band_quantile_ = o.band_quantile;
  curve.backtest_factor_ = o.backtest_factor;
  curve.best_ = flat ? PowerLawParams{0, 0, top.c, 0, 1}
                     : PowerLawParams{top.a, top.shape.b, top.c, top.shape.tau, top.shape.k};
  curve.residual_scale_ = RobustScale(bins, curve.best_);
  double det = top.sw * top.sxx - top.sx * top.sx;
  if (!flat && det > 0) {
    curve.cov_aa_ = top.sigma2 * top.sw / det;
    curve.cov_cc_ = top.sigma2 * top.sxx / det;
    curve.cov_ac_ = -top.sigma2 * top.sx / det;
  } else {
    curve.cov_cc_ = top.sigma2 / std::max(top.sw, 1.0);
  }

  // The profile: every shape weighted by its tempered likelihood, the
  // effective number of bins discounted for the residuals' lag-1
  // autocorrelation ρ (n_eff = n·(1−ρ)/(1+ρ)).
  double rho = 0;
  {
    double num = 0, den = 0, prev = 0;
    for (size_t i = 0; i < n; ++i) {
      double z = prob.sqw[i] * (prob.y[i] - curve.best_.Eval(bins[i].step));
      den += z * z;
      if (i > 0) num += z * prev;
      prev = z;
    }
    rho = den > 0 ? std::clamp(num / den, 0.0, 0.95) : 0;
  }
  const double n_eff = std::max(3.0, static_cast<double>(n) * (1 - rho) / (1 + rho));
  const double scale = o.temperature * n_eff / static_cast<double>(n) / (prob.s * prob.s);
  // The grid is coarser than the likelihood's peak is wide on a clean
  // curve, and b, τ and c trade off along a narrow curved valley: the
  // profile along b is sampled again around the best shape, at half the
  // grid step for ±kLocalSteps half-steps, τ re-optimised for each b (within
  // ±3 τ grid steps), each sample weighted by its share of a grid cell so the
  // local detail adds no prior mass.
  std::vector<std::pair<LinearFit, double>> local;  // fit, cell share
  if (!flat) {
    const bool bent = top.shape.tau > 0;
    const double db =
        std::log(o.b_max / o.b_min) / std::max(1, (bent ? o.b_bent_grid : o.b_grid) - 1);
    const double dt = bent ? std::log(taus.back() / taus.front()) / std::max(1, o.tau_grid - 1) : 0;
    for (int i = -kLocalSteps; i <= kLocalSteps; ++i) {
      if (i == 0) continue;
      Shape sh = top.shape;
      sh.b = top.shape.b * std::exp(i * db / 2);
      if (sh.b < o.b_min || sh.b > o.b_max) continue;
      LinearFit f = curve_fit::FitShape(prob, sh);
      if (bent) {
        f = curve_fit::RefineCoordinate(prob, f, std::max(taus.front(), sh.tau * std::exp(-3 * dt)),
                                        std::min(taus.back(), sh.tau * std::exp(3 * dt)),
                                        &Shape::tau, kLocalIterations);
      }
      if (!f.flat) local.emplace_back(f, 0.5);
    }
  }
  double min_loss = top.loss;
  for (const LinearFit& f : fits) {
    if (!f.flat) min_loss = std::min(min_loss, f.loss);
  }
  for (const auto& [f, share] : local) min_loss = std::min(min_loss, f.loss);
  double total = 0;
  auto add = [&](const LinearFit& f, double share) {
    // Weights below 1e-6 of the best's change no 5–95% quantile.
    double w = share * std::exp(-scale * (f.loss - min_loss));
    if (!(w >= 1e-6)) return;
    curve.profile_.push_back({{f.a, f.shape.b, f.c, f.shape.tau, f.shape.k}, w});
    total += w;
  };
  add(top, 1.0);
  for (const LinearFit& f : fits) {
    if (!f.flat) add(f, 1.0);
  }
  for (const auto& [f, share] : local) add(f, share);
  if (curve.profile_.empty()) curve.profile_.push_back({curve.best_, 1.0});
  total = 0;
  for (const Candidate& c : curve.profile_) total += c.weight;
  for (Candidate& c : curve.profile_) c.weight /= total;

  // The backtest: the same fit on the first half of the observed steps.
  if (o.backtest_factor > 0 && !flat) {
    const int64_t half = pts.front().first + (pts.back().first - pts.front().first) / 2;
    std::vector<int64_t> hs;
    std::vector<double> hv;
    for (const auto& [s, v] : pts) {
      if (s > half) break;
      hs.push_back(s);
      hv.push_back(v);
    }
    CurveFitOptions ho = o;
    ho.backtest_factor = 0;
    auto back = LearningCurve::Fit(hs, hv, ho);
    const double at = static_cast<double>(curve.last_step_);
    if (back.ok() && back->last_step() < curve.last_step_) {
      double then = back->params().Eval(at), now = curve.best_.Eval(at);
      if (!positive) {
        curve.backtest_error_ = std::abs(then - now);
      } else if (then > 0 && now > 0) {
        curve.backtest_error_ = std::abs(std::log(then / now));
      }
      curve.backtest_last_step_ = back->last_step();
    }
  }
  return curve;
}

std::pair<double, double> LearningCurve::Quantiles(double step) const {
  std::vector<std::pair<double, double>> v;
  v.reserve(profile_.size());
  for (const Candidate& c : profile_) v.emplace_back(c.p.Eval(step), c.weight);
  std::sort(v.begin(), v.end());
  double acc = 0, lo = v.front().first, hi = v.back().first;
  bool have_lo = false;
  for (const auto& [value, weight] : v) {
    acc += weight;
    if (!have_lo && acc >= band_quantile_) {
      lo = value;
      have_lo = true;
    }
    if (acc >= 1 - band_quantile_) {
      hi = value;
      break;
    }
  }
  return {lo, hi};
}

Band LearningCurve::Edges(double step) const {
  const double mid = best_.Eval(step);
  auto [lo, hi] = Quantiles(step);
  const double t = std::max(step, 0.0) + 1.0;
  const double x = flat_ ? 0 : Basis(t, std::log(t), {best_.b, best_.tau, best_.k});
  const double var = x * x * cov_aa_ + 2 * x * cov_ac_ + cov_cc_;
  const double se = std::sqrt(std::max(var, 0.0));
  lo -= 2 * se;
  hi += 2 * se;
  if (backtest_error_ && step > static_cast<double>(last_step_) &&
      backtest_last_step_ < last_step_) {
    const double reach = std::log((step + 1) / (static_cast<double>(last_step_) + 1));
    const double back = std::log((static_cast<double>(last_step_) + 1) /
                                 (static_cast<double>(backtest_last_step_) + 1));
    const double w = backtest_factor_ * *backtest_error_ * reach / back;
    if (positive_) {
      lo = std::min(lo, mid * std::exp(-w));
      hi = std::max(hi, mid * std::exp(w));
    } else {
      lo = std::min(lo, mid - w);
      hi = std::max(hi, mid + w);
    }
  }
  if (positive_) lo = std::max(lo, 0.0);
  return {lo, mid, hi};
}

Band LearningCurve::PredictAt(double step) const {
  Band e = Edges(step);
  return {std::min(e.low, e.mid), e.mid, std::max(e.high, e.mid)};
}

std::optional<Band> LearningCurve::StepToReach(double target) const {
  double mid = StepFor(best_, target);
  if (!std::isfinite(mid)) return std::nullopt;
  const double horizon = std::max(static_cast<double>(last_step_), mid);
  double lo = FirstStepAtOrBelow([&](double s) { return Edges(s).low; }, target, horizon);
  double hi = FirstStepAtOrBelow([&](double s) { return Edges(s).high; }, target, horizon);
  return Band{std::min(lo, mid), mid, std::max(hi, mid)};
}

}  // namespace vigil::analysis
