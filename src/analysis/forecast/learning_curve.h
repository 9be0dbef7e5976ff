// Learning-curve forecasting: fits a smoothly broken power law with a floor,
//   L(t) = c + a · (τ^k + t^k)^(−b/k),   t = step + 1,
// to a loss curve, robustly, and answers the questions a person asks of a
// running curve: what will the loss be at the planned last step, and at
// which step will it reach a target, each with an uncertainty band. The
// method and its measured accuracy are in docs/diagnosis.md ("Forecasts");
// bench/forecast measures it on generated and real curves.
//
// Why this form: far from the start, training losses follow a power law in
// steps with an irreducible floor (Kaplan et al. 2020, Hoffmann et al.
// 2022): τ = 0 gives exactly a·t^(−b) + c. Real runs often sit on a plateau
// first (a fresh classifier at ln(classes)) and bend into the power law
// around step τ, with k the sharpness of the bend (a "broken" power law,
// Caballero et al. 2022); a plain power law fitted to such a prefix bends
// the wrong way and overshoots. For a fixed shape (b, τ, k) the model is
// linear in (a, c), so a search over a grid of shapes with a closed-form
// weighted least-squares fit per shape is exact and cheap.
//
// The fit, in order (learning_curve.cc has the details):
//   1. the first skip_fraction of the steps is dropped; the rest is reduced
//      to step bins of at least points_per_bin points (median step, median
//      value): smoothing that keeps the median, not the mean, of noisy
//      per-batch losses;
//   2. each bin is weighted by its point count, by 1/level² when the loss
//      is positive (relative errors: a fit in log space, so the low tail
//      counts as much as the high start), and by its age ((t−t0)/(T−t0))^2,
//      so the recent shape, which the extrapolation continues, counts most;
//   3. every shape of the grid is fitted by Huber-reweighted least squares,
//      a bent one with a prior pulling the floor c towards 0 (a curve just
//      off its plateau has not shown its floor yet); the best plain shape
//      and the best bent shape of each sharpness are refined;
//   4. a bend (τ > 0) is kept only if it beats the best plain power law by
//      an F-test, and any power law only if it beats a constant.
//
// The band at a step is the union of three things: the 5–95% range of the
// predictions of all grid shapes, and of the profile along b around the
// best one, weighted by their (tempered) likelihood;
// two standard errors of the best fit's (a, c); and a backtest: the same
// fit on the first half of the observed steps, its error at the last
// observed step, scaled by how much further (in log steps) the forecast
// reaches. The third makes the band honest when the model family is off.
//
// Thread-safety: pure functions; a LearningCurve is an immutable value.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "core/result.h"

namespace vigil::analysis {

struct CurveFitOptions {
  // The first fraction of the observed steps is ignored: warm-up and the
  // very first steps rarely follow any smooth law.
  double skip_fraction = 0.05;
  // Binning: up to min_bins points, none are merged; up to min_bins ·
  // points_per_bin points, min_bins bins; beyond, bins of points_per_bin
  // points (the median over 8 minibatch losses is a smooth value), at most
  // max_bins of them.
  size_t points_per_bin = 8;
  size_t min_bins = 32;
  size_t max_bins = 400;
  // Exponent b: range and log-spaced grid of the plain power law (τ = 0)...
  double b_min = 0.01;
  double b_max = 3.0;
  int b_grid = 72;
  // ...and of the bent shapes (τ > 0): b_bent_grid values of b times
  // tau_grid log-spaced values of τ in [1, tau_max_factor · last step]
  // times the sharpness k ∈ {1, 2, 4, 8}. bend = false fits τ = 0 only.
  bool bend = true;
  int b_bent_grid = 36;
  int tau_grid = 16;
  double tau_max_factor = 3.0;
  // A bend must beat the best plain power law by F(2, n−5) ≥ this: 8, not
  // the nominal 4, because the bent fit searches τ and k as well (on noisy
  // plain power laws and flat curves, 4 let ~5% of fits bend).
  double bend_f = 8.0;
  // Age weight exponent (0: all bins alike).
  double recency_power = 2.0;
  // The prior on the floor of a positive loss's bent shapes: a floor equal
  // to the current level costs as much as one residual of
  // sqrt(floor_prior) robust standard deviations. 0 disables it.
  double floor_prior = 64.0;
  // Huber's constant, in units of the residuals' robust scale (1.345 gives
  // 95% efficiency on Gaussian noise).
  double huber_k = 1.345;
  // Shapes are weighted by exp(−temperature · Δloss / s² · n_eff / n);
  // below 1 widens the band for the model's own misfit.
  double temperature = 0.3;
  // The band's edges are these weighted quantiles of the shapes' predictions.
  double band_quantile = 0.05;
  // The backtest's error is multiplied by this (0: no backtest).
  double backtest_factor = 2.0;
  // Fewer usable bins than this (after skipping): FailedPrecondition.
  size_t min_points = 8;
};

// A value with its uncertainty band. `high` may be +infinity (e.g. a target
// that some plausible fits never reach).
struct Band {
  double low = 0;
  double mid = 0;
  double high = 0;
};

// L(step) = c + a · (τ^k + (step+1)^k)^(−b/k); τ = 0 is a·(step+1)^(−b) + c.
struct PowerLawParams {
  double a = 0;
  double b = 0;
  double c = 0;
  double tau = 0;  // the step (+1) where the initial plateau bends; 0: none
  double k = 1;    // sharpness of the bend
  double Eval(double step) const;
};

class LearningCurve {
 public:
  // Fits the finite points of (steps, values). REQUIRES: same lengths.
  // FailedPrecondition when fewer than min_points usable bins remain or the
  // steps span fewer than 2 distinct values.
  static Result<LearningCurve> Fit(std::span<const int64_t> steps, std::span<const double> values,
                                   const CurveFitOptions& options = {});

  const PowerLawParams& params() const { return best_; }
  // True when no decreasing curve fits better than a constant: then a = 0
  // and every prediction is c (the curve has plateaued or rises).
  bool flat() const { return flat_; }
  // Robust scale (1.4826 · MAD) of the fit's residuals on the bins, in the
  // loss's units.
  double residual_scale() const { return residual_scale_; }
  size_t points_used() const { return points_used_; }
  size_t bins() const { return bins_; }
  int64_t first_step() const { return first_step_; }
  int64_t last_step() const { return last_step_; }
  // How many weighted shapes the band is made of (>= 1).
  size_t profile_size() const { return profile_.size(); }
  // The backtest's relative (positive loss) or absolute error at the last
  // step; nullopt when the half-length prefix could not be fitted.
  std::optional<double> backtest_error() const { return backtest_error_; }

  // The fitted value at `step`, with its band.
  Band PredictAt(double step) const;
  // The first step at which the fitted curve reaches `target` (from above),
  // with its band (the steps where the band's edges reach it; high is
  // +infinity when the upper edge never does): nullopt if the best fit never
  // reaches it (target at or below its floor c). Steps already past are
  // allowed (the answer may be before last_step()).
  std::optional<Band> StepToReach(double target) const;

 private:
  struct Candidate {
    PowerLawParams p;
    double weight = 0;  // normalised: the weights sum to 1
  };
  // The band_quantile and 1 − band_quantile weighted quantiles of the
  // profile's predictions at `step`.
  std::pair<double, double> Quantiles(double step) const;
  Band Edges(double step) const;  // the band without the best fit's mid

  PowerLawParams best_;
  bool flat_ = false;
  bool positive_ = false;  // every observed value > 0: relative band
  double residual_scale_ = 0;
  size_t points_used_ = 0;
  size_t bins_ = 0;
  int64_t first_step_ = 0;
  int64_t last_step_ = 0;
  std::vector<Candidate> profile_;  // the plausible shapes (best_ among them)
  // Standard error of the best fit's prediction: var(a·x + c) =
  // [x 1] Σ [x 1]ᵀ with Σ the WLS covariance of (a, c), in the loss's units.
  double cov_aa_ = 0, cov_ac_ = 0, cov_cc_ = 0;
  // The backtest: its error and the step its fit ended at.
  std::optional<double> backtest_error_;
  int64_t backtest_last_step_ = 0;
  double backtest_factor_ = 0;
  double band_quantile_ = 0.05;
};

}  // namespace vigil::analysis
