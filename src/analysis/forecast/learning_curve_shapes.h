// Internal to learning_curve.cc: the shapes of the model family and the
// robust weighted fit of (a, c) for one shape, with the searches that
// refine a shape. learning_curve.h describes the model and the method; only
// learning_curve.cc includes this header.
//
// Thread-safety: pure functions over values.
#pragma once

#include <limits>
#include <utility>
#include <vector>

#include "analysis/forecast/learning_curve.h"

namespace vigil::analysis::curve_fit {

// One shape of the family: (τ^k + t^k)^(−b/k); τ = 0 is t^(−b).
struct Shape {
  double b = 0;
  double tau = 0;  // 0: plain power law
  double k = 1;
};

// (τ^k + t^k)^(−b/k) with t = step + 1 (lt = log t); t^(−b) when τ = 0.
double Basis(double t, double lt, const Shape& s);

// A step bin: median step and value of `count` points.
struct Bin {
  double step = 0;
  double value = 0;
  double count = 0;
};

// The bins as a weighted regression problem (learning_curve.h, step 2).
struct Problem {
  std::vector<double> t, lt, y;  // step + 1, its log, the value
  std::vector<double> w;         // prior weights, mean 1
  std::vector<double> sqw;       // sqrt(w)
  bool nonneg = false;           // c >= 0
  double mu = 0;                 // floor prior of bent shapes: + 0.5·mu·c²
  double s = 0;                  // Huber scale of sqrt(w)·residual (0: plain LS)
  double huber_k = 1.345;
};

// REQUIRES: bins not empty; positive: every value > 0.
Problem MakeProblem(const std::vector<Bin>& bins, bool positive, const CurveFitOptions& o);

struct LinearFit {
  Shape shape;
  double a = 0, c = 0;
  double loss = std::numeric_limits<double>::infinity();  // until fitted
  bool flat = true;
  double sw = 0, sx = 0, sxx = 0;  // of the final weights
  double sigma2 = 0;               // residual variance per unit weight
};

// Weighted least squares of y = a·x(shape) + c, with a > 0 (else flat:
// a = 0, c the weighted mean) and c >= 0 when p.nonneg, plus, for a bent
// shape, the floor prior p.mu; reweighted 4 times by Huber's ψ at scale p.s
// when p.s > 0. loss = Σ ρ(sqrt(w)·|r|) + 0.5·mu·c² (ρ: Huber's, or r²/2
// when p.s = 0).
LinearFit FitShape(const Problem& p, const Shape& shape);

// The Huber location of the bins (the flat model), and its loss.
LinearFit FitConstant(const Problem& p);

// Golden-section search of `coordinate` (on a log scale) within [lo, hi]
// from `best`, `iterations` times (each shrinks the bracket by 0.618); the
// better of the two.
LinearFit RefineCoordinate(const Problem& p, LinearFit best, double lo, double hi,
                           double Shape::*coordinate, int iterations = 24);

// Nelder–Mead on (log b, log τ) of a bent fit, from the simplex spanned by
// one step of each (in log units); b and τ stay within their ranges. b, τ
// and the floor trade off along a curved valley that a search one
// coordinate at a time crawls along. Returns the best fit seen.
LinearFit NelderMead(const Problem& p, LinearFit best, double step_b, double step_tau,
                     std::pair<double, double> b_range, std::pair<double, double> tau_range);

}  // namespace vigil::analysis::curve_fit
