#include "analysis/forecast/learning_curve_shapes.h"
#include "analysis/median.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

namespace vigil::analysis::curve_fit {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
// Nelder–Mead iterations of the bent refinement (converges in ~100).
constexpr int kNelderMeadIterations = 200;

double LogAddExp(double x, double y) {
  double m = std::max(x, y);
  return m + std::log1p(std::exp(-std::abs(x - y)));
}

double Rho(double z, double ks) {
  return ks <= 0 || z <= ks ? 0.5 * z * z : ks * (z - 0.5 * ks);
}

}  // namespace

double Basis(double t, double lt, const Shape& s) {
  if (s.tau <= 0) return std::pow(t, -s.b);
  return std::exp(-(s.b / s.k) * LogAddExp(s.k * std::log(s.tau), s.k * lt));
}

Problem MakeProblem(const std::vector<Bin>& bins, bool positive, const CurveFitOptions& o) {
  Problem p;
  const size_t n = bins.size();
  p.huber_k = o.huber_k;
  p.nonneg = std::all_of(bins.begin(), bins.end(), [](const Bin& b) { return b.value >= 0; });
  std::vector<double> level(n, 1.0);
  if (positive) {
    // The local level: a running median over ±h bins.
    const size_t h = std::max<size_t>(2, n / 20);
    double top = 0;
    for (const Bin& b : bins) top = std::max(top, b.value);
    for (size_t i = 0; i < n; ++i) {
      std::vector<double> v;
      for (size_t j = i > h ? i - h : 0; j < std::min(n, i + h + 1); ++j) {
        v.push_back(bins[j].value);
      }
      level[i] = std::max(Median(std::move(v)), 1e-12 * top);
    }
  }
  const double t0 = bins.front().step, span = bins.back().step - t0 + 1;
  double sum = 0;
  for (size_t i = 0; i < n; ++i) {
    p.t.push_back(bins[i].step + 1);
    p.lt.push_back(std::log(bins[i].step + 1));
    p.y.push_back(bins[i].value);
    double w = bins[i].count / (level[i] * level[i]);
    if (o.recency_power > 0) w *= std::pow((bins[i].step - t0 + 1) / span, o.recency_power);
    p.w.push_back(w);
    sum += w;
  }
  for (double& w : p.w) w *= static_cast<double>(n) / sum;
  for (double w : p.w) p.sqw.push_back(std::sqrt(w));
  return p;
}

LinearFit FitShape(const Problem& p, const Shape& shape) {
  const size_t n = p.y.size();
  const double mu = shape.tau > 0 ? p.mu : 0;  // the floor prior is for bends only
  std::vector<double> x(n), ww(p.w), r(n);
  for (size_t i = 0; i < n; ++i) x[i] = Basis(p.t[i], p.lt[i], shape);
  LinearFit f;
  f.shape = shape;
  const double ks = p.s > 0 ? p.huber_k * p.s : 0;
  const int iterations = ks > 0 ? 5 : 1;
  for (int it = 0; it < iterations; ++it) {
    double sw = 0, sx = 0, sy = 0, sxx = 0, sxy = 0;
    for (size_t i = 0; i < n; ++i) {
      sw += ww[i];
      sx += ww[i] * x[i];
      sy += ww[i] * p.y[i];
      sxx += ww[i] * x[i] * x[i];
      sxy += ww[i] * x[i] * p.y[i];
    }
    const double swm = sw + mu;
    const double det = swm * sxx - sx * sx;
    double a = 0, c = sy / sw;
    bool flat = true;
    if (det > 1e-300 * std::max(1.0, swm * sxx)) {
      a = (swm * sxy - sx * sy) / det;
      c = (sxx * sy - sx * sxy) / det;
      flat = false;
      if (p.nonneg && c < 0) {
        c = 0;
        a = sxy / sxx;
      }
      if (a <= 0) {
        a = 0;
        c = sy / sw;
        flat = true;
      }
    }
    f.a = a;
    f.c = c;
    f.flat = flat;
    f.sw = sw;
    f.sx = sx;
    f.sxx = sxx;
    for (size_t i = 0; i < n; ++i) r[i] = p.y[i] - (a * x[i] + c);
    if (ks > 0) {
      for (size_t i = 0; i < n; ++i) {
        double z = p.sqw[i] * std::abs(r[i]);
        ww[i] = p.w[i] * (z <= ks ? 1.0 : ks / z);
      }
    }
  }
  double loss = 0, wr2 = 0;
  for (size_t i = 0; i < n; ++i) {
    loss += Rho(p.sqw[i] * std::abs(r[i]), ks);
    wr2 += ww[i] * r[i] * r[i];
  }
  if (!f.flat) loss += 0.5 * mu * f.c * f.c;
  f.loss = loss;
  f.sigma2 = n > 2 ? wr2 / static_cast<double>(n - 2) : 0;
  return f;
}

LinearFit FitConstant(const Problem& p) {
  const size_t n = p.y.size();
  const double ks = p.huber_k * p.s;
  std::vector<double> ww(p.w);
  double c = 0;
  for (int it = 0; it < 8; ++it) {
    double sw = 0, sy = 0;
    for (size_t i = 0; i < n; ++i) {
      sw += ww[i];
      sy += ww[i] * p.y[i];
    }
    c = sy / sw;
    for (size_t i = 0; i < n; ++i) {
      double z = p.sqw[i] * std::abs(p.y[i] - c);
      ww[i] = p.w[i] * (z <= ks ? 1.0 : ks / z);
    }
  }
  LinearFit f;
  f.c = c;
  f.loss = 0;
  double wr2 = 0;
  for (size_t i = 0; i < n; ++i) {
    double r = p.y[i] - c;
    f.loss += Rho(p.sqw[i] * std::abs(r), ks);
    f.sw += ww[i];
    wr2 += ww[i] * r * r;
  }
  f.sigma2 = n > 1 ? wr2 / static_cast<double>(n - 1) : 0;
  return f;
}

LinearFit RefineCoordinate(const Problem& p, LinearFit best, double lo, double hi,
                           double Shape::*coordinate, int iterations) {
  if (!(lo > 0) || !(hi > lo)) return best;
  auto at = [&](double log_v) {
    Shape s = best.shape;
    s.*coordinate = std::exp(log_v);
    LinearFit f = FitShape(p, s);
    if (f.flat) f.loss = kInf;
    return f;
  };
  const double g = (std::sqrt(5.0) - 1) / 2;
  double l = std::log(lo), h = std::log(hi);
  double x1 = h - g * (h - l), x2 = l + g * (h - l);
  LinearFit f1 = at(x1), f2 = at(x2);
  for (int it = 0; it < iterations; ++it) {
    if (f1.loss < f2.loss) {
      h = x2;
      x2 = x1;
      f2 = f1;
      x1 = h - g * (h - l);
      f1 = at(x1);
    } else {
      l = x1;
      x1 = x2;
      f1 = f2;
      x2 = l + g * (h - l);
      f2 = at(x2);
    }
  }
  const LinearFit& r = f1.loss < f2.loss ? f1 : f2;
  return r.loss < best.loss ? r : best;
}

LinearFit NelderMead(const Problem& p, LinearFit best, double step_b, double step_tau,
                     std::pair<double, double> b_range, std::pair<double, double> tau_range) {
  using Point = std::array<double, 2>;
  const std::array<double, 2> lo = {std::log(b_range.first), std::log(tau_range.first)};
  const std::array<double, 2> hi = {std::log(b_range.second), std::log(tau_range.second)};
  std::vector<LinearFit> fits;
  auto eval = [&](const Point& x) {
    for (int d = 0; d < 2; ++d) {
      if (x[d] < lo[d] || x[d] > hi[d]) return kInf;
    }
    Shape s = best.shape;
    s.b = std::exp(x[0]);
    s.tau = std::exp(x[1]);
    LinearFit f = FitShape(p, s);
    if (f.flat) return kInf;
    if (f.loss < best.loss) best = f;
    return f.loss;
  };
  const Point x0 = {std::log(best.shape.b), std::log(best.shape.tau)};
  std::array<Point, 3> x = {x0, Point{x0[0] + step_b, x0[1]}, Point{x0[0], x0[1] + step_tau}};
  std::array<double, 3> f = {best.loss, eval(x[1]), eval(x[2])};
  for (int it = 0; it < kNelderMeadIterations; ++it) {
    std::array<int, 3> o = {0, 1, 2};
    std::sort(o.begin(), o.end(), [&](int i, int j) { return f[i] < f[j]; });
    const Point& xb = x[o[0]];
    const Point& xm = x[o[1]];
    Point& xw = x[o[2]];
    if (std::abs(xw[0] - xb[0]) + std::abs(xw[1] - xb[1]) < 1e-9) break;
    const Point c = {(xb[0] + xm[0]) / 2, (xb[1] + xm[1]) / 2};
    auto along = [&](double t) {
      return Point{c[0] + t * (xw[0] - c[0]), c[1] + t * (xw[1] - c[1])};
    };
    Point xr = along(-1);
    double fr = eval(xr);
    if (fr < f[o[0]]) {
      Point xe = along(-2);
      double fe = eval(xe);
      if (fe < fr) {
        xw = xe;
        f[o[2]] = fe;
      } else {
        xw = xr;
        f[o[2]] = fr;
      }
    } else if (fr < f[o[1]]) {
      xw = xr;
      f[o[2]] = fr;
    } else {
      Point xc = along(fr < f[o[2]] ? -0.5 : 0.5);
      double fc = eval(xc);
      if (fc < std::min(fr, f[o[2]])) {
        xw = xc;
        f[o[2]] = fc;
      } else {  // shrink towards the best
        for (int j : {o[1], o[2]}) {
          x[static_cast<size_t>(j)] = {(x[static_cast<size_t>(j)][0] + xb[0]) / 2,
                                       (x[static_cast<size_t>(j)][1] + xb[1]) / 2};
          f[static_cast<size_t>(j)] = eval(x[static_cast<size_t>(j)]);
        }
      }
    }
  }
  return best;
}

}  // namespace vigil::analysis::curve_fit
