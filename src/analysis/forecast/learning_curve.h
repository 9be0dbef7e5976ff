// Learning-curve forecasting: fits a power law with an offset,
//   L(t) = a · t^(−b) + c,   t = step + 1,
// to a loss curve, robustly (Huber-weighted least squares for each b on a
// grid, then a golden-section refinement of b), and answers the questions a
// person asks of a running curve: what will the loss be at the planned last
// step, and at which step will it reach a target, each with an uncertainty
// band. The method and its measured accuracy are in docs/diagnosis.md
// ("Forecasts"); bench/forecast measures it on generated and real curves.
//
// Why this form: training losses of neural networks follow a power law in
// steps with an irreducible floor (Kaplan et al. 2020, Hoffmann et al.
// 2022); for a fixed b the model is linear in (a, c), so a 1-D search over
// b with closed-form weighted least squares is exact and cheap (O(n · grid)).
//
// The band comes from the profile of the fit over b: every b whose robust
// loss is within a chi-square(1) 2-sigma margin of the best (SSE ratio ≤
// 1 + 4/(n−3)) gives a prediction; the band is their range, widened by two
// standard errors of the best linear fit's prediction.
//
// Thread-safety: pure functions; a LearningCurve is an immutable value.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "core/result.h"

namespace vigil::analysis {

struct CurveFitOptions {
  // The first fraction of the observed steps is ignored: warm-up and the
  // very first steps rarely follow the power law.
  double skip_fraction = 0.05;
  // Curves longer than this are reduced to this many equal-width step bins
  // (median step, median value, weight = points in the bin): the median
  // makes each bin robust to spikes and bounds the cost.
  size_t max_bins = 400;
  // Exponent search range and grid size (log-spaced).
  double b_min = 0.01;
  double b_max = 3.0;
  int b_grid = 72;
  // Huber's constant, in units of the residuals' robust scale (1.345 gives
  // 95% efficiency on Gaussian noise).
  double huber_k = 1.345;
  // Fewer usable points than this (after skipping): FailedPrecondition.
  size_t min_points = 8;
};

// A value with its uncertainty band. `high` may be +infinity (e.g. a target
// that some plausible fits never reach).
struct Band {
  double low = 0;
  double mid = 0;
  double high = 0;
};

struct PowerLawParams {
  double a = 0;
  double b = 0;
  double c = 0;
  double Eval(double step) const;  // a · (step + 1)^(−b) + c
};

class LearningCurve {
 public:
  // Fits the finite points of (steps, values). REQUIRES: same lengths.
  // FailedPrecondition when fewer than min_points usable points remain or
  // the steps span fewer than 2 distinct values.
  static Result<LearningCurve> Fit(std::span<const int64_t> steps, std::span<const double> values,
                                   const CurveFitOptions& options = {});

  const PowerLawParams& params() const { return best_; }
  // True when no decreasing power law fits better than a constant: then
  // a = 0 and every prediction is c (the curve has plateaued or rises).
  bool flat() const { return flat_; }
  // Robust scale (1.4826 · MAD) of the fit's residuals on the bins.
  double residual_scale() const { return residual_scale_; }
  size_t points_used() const { return points_used_; }
  size_t bins() const { return bins_; }
  int64_t first_step() const { return first_step_; }
  int64_t last_step() const { return last_step_; }
  // How many b values the band's profile holds (>= 1).
  size_t profile_size() const { return profile_.size(); }

  // The fitted value at `step`, with its band.
  Band PredictAt(double step) const;
  // The first step at which the fitted curve reaches `target` (from above),
  // with its band: nullopt if the best fit never reaches it (target at or
  // below its floor c). Steps already past are allowed (the answer may be
  // before last_step()).
  std::optional<Band> StepToReach(double target) const;

 private:
  struct Candidate {
    PowerLawParams p;
    double loss = 0;
  };
  PowerLawParams best_;
  bool flat_ = false;
  double residual_scale_ = 0;
  size_t points_used_ = 0;
  size_t bins_ = 0;
  int64_t first_step_ = 0;
  int64_t last_step_ = 0;
  std::vector<Candidate> profile_;  // the plausible fits (best_ among them)
  // Standard error of the best fit's prediction: var(a·x + c) =
  // [x 1] Σ [x 1]ᵀ with Σ the WLS covariance of (a, c).
  double cov_aa_ = 0, cov_ac_ = 0, cov_cc_ = 0;
};

}  // namespace vigil::analysis
