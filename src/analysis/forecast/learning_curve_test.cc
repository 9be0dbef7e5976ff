#include "analysis/forecast/learning_curve.h"

#include <cmath>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "testing/testing.h"

namespace vigil::analysis {
namespace {

struct Curve {
  std::vector<int64_t> steps;
  std::vector<double> values;
};

// p.Eval(step) at steps [0, n), times (1 + noise·N(0,1)).
Curve MakeCurve(const PowerLawParams& p, int64_t n, double noise, std::mt19937_64* rng) {
  Curve out;
  std::normal_distribution<double> gauss(0, 1);
  for (int64_t s = 0; s < n; ++s) {
    double v = p.Eval(static_cast<double>(s));
    if (noise > 0) v *= 1 + noise * gauss(*rng);
    out.steps.push_back(s);
    out.values.push_back(v);
  }
  return out;
}

// a·(step+1)^-b + c.
Curve Make(double a, double b, double c, int64_t n, double noise, std::mt19937_64* rng) {
  return MakeCurve({a, b, c, 0, 1}, n, noise, rng);
}

// A classifier's curve: a plateau at 2.3 (ln 10) bending at step ~τ into a
// power law of exponent b towards the floor c, with sharpness k.
PowerLawParams Bent(double b, double tau, double k, double c) {
  return {(2.3 - c) * std::pow(tau, b), b, c, tau, k};
}

TEST(LearningCurve, RecoversExactParameters) {
  auto rng = testing::SeededRng();
  Curve c = Make(2.0, 0.5, 0.3, 2000, 0, &rng);
  auto fit = LearningCurve::Fit(c.steps, c.values);
  ASSERT_TRUE(fit.ok()) << fit.status().ToString();
  EXPECT_NEAR(fit->params().a, 2.0, 2e-3);
  EXPECT_NEAR(fit->params().b, 0.5, 1e-3);
  EXPECT_NEAR(fit->params().c, 0.3, 1e-3);
  EXPECT_FALSE(fit->flat());
}

TEST(LearningCurve, NoisyPrefixPredictsFinalLossWithinBand) {
  auto rng = testing::SeededRng();
  Curve c = Make(3.0, 0.7, 0.2, 4000, 0.03, &rng);
  const int64_t prefix = 1600;  // 40%
  auto fit =
      LearningCurve::Fit(std::span(c.steps).first(prefix), std::span(c.values).first(prefix));
  ASSERT_TRUE(fit.ok());
  double truth = 3.0 * std::pow(4000.0, -0.7) + 0.2;
  Band band = fit->PredictAt(3999);
  EXPECT_NEAR(band.mid, truth, 0.05 * truth);
  EXPECT_LE(band.low, truth);
  EXPECT_GE(band.high, truth);
  EXPECT_LT(band.low, band.mid);
  EXPECT_GT(band.high, band.mid);
}

TEST(LearningCurve, SpikesDoNotMoveTheFit) {
  auto rng = testing::SeededRng();
  Curve c = Make(2.0, 0.5, 0.5, 3000, 0.01, &rng);
  for (int64_t s : {300, 900, 1500, 2100, 2700}) c.values[static_cast<size_t>(s)] *= 20;
  auto fit = LearningCurve::Fit(c.steps, c.values);
  ASSERT_TRUE(fit.ok());
  double truth = 2.0 * std::pow(3000.0, -0.5) + 0.5;
  EXPECT_NEAR(fit->PredictAt(2999).mid, truth, 0.01 * truth);
}

TEST(LearningCurve, FlatCurveIsFlat) {
  auto rng = testing::SeededRng();
  Curve c = Make(0, 0.5, 1.25, 500, 0.02, &rng);
  auto fit = LearningCurve::Fit(c.steps, c.values);
  ASSERT_TRUE(fit.ok());
  EXPECT_TRUE(fit->flat());
  EXPECT_NEAR(fit->PredictAt(10'000).mid, 1.25, 0.01);
  EXPECT_FALSE(fit->StepToReach(1.0).has_value());
}

TEST(LearningCurve, RisingCurveIsFlat) {
  Curve c;
  for (int64_t s = 0; s < 300; ++s) {
    c.steps.push_back(s);
    c.values.push_back(1.0 + 0.001 * static_cast<double>(s));
  }
  auto fit = LearningCurve::Fit(c.steps, c.values);
  ASSERT_TRUE(fit.ok());
  EXPECT_TRUE(fit->flat());
  EXPECT_EQ(fit->params().a, 0);
}

TEST(LearningCurve, StepToReachMatchesTheClosedForm) {
  auto rng = testing::SeededRng();
  Curve c = Make(4.0, 0.6, 0.4, 1000, 0.005, &rng);
  auto fit = LearningCurve::Fit(c.steps, c.values);
  ASSERT_TRUE(fit.ok());
  const double target = 0.5;
  double truth = std::pow(4.0 / (target - 0.4), 1 / 0.6) - 1;  // ~ 3,160
  auto band = fit->StepToReach(target);
  ASSERT_TRUE(band.has_value());
  EXPECT_NEAR(band->mid, truth, 0.05 * truth);
  EXPECT_LE(band->low, band->mid);
  EXPECT_GE(band->high, band->mid);
}

TEST(LearningCurve, TargetBelowTheFloorIsUnreachable) {
  auto rng = testing::SeededRng();
  Curve c = Make(2.0, 0.5, 0.3, 1000, 0, &rng);
  auto fit = LearningCurve::Fit(c.steps, c.values);
  ASSERT_TRUE(fit.ok());
  EXPECT_FALSE(fit->StepToReach(0.29).has_value());
  ASSERT_TRUE(fit->StepToReach(0.31).has_value());
}

TEST(LearningCurve, TooFewPointsIsFailedPrecondition) {
  std::vector<int64_t> steps = {0, 1, 2, 3, 4};
  std::vector<double> values = {5, 4, 3, 2.5, 2.2};
  auto fit = LearningCurve::Fit(steps, values);
  ASSERT_FALSE(fit.ok());
  EXPECT_EQ(fit.status().code(), StatusCode::kFailedPrecondition);
}

TEST(LearningCurve, OneDistinctStepIsFailedPrecondition) {
  std::vector<int64_t> steps(20, 7);
  std::vector<double> values(20, 1.0);
  auto fit = LearningCurve::Fit(steps, values);
  ASSERT_FALSE(fit.ok());
  EXPECT_EQ(fit.status().code(), StatusCode::kFailedPrecondition);
}

TEST(LearningCurve, NonFinitePointsAreIgnored) {
  auto rng = testing::SeededRng();
  Curve c = Make(2.0, 0.5, 0.3, 1000, 0, &rng);
  c.values[500] = std::nan("");
  c.values[600] = INFINITY;
  auto fit = LearningCurve::Fit(c.steps, c.values);
  ASSERT_TRUE(fit.ok());
  EXPECT_NEAR(fit->params().b, 0.5, 1e-3);
  EXPECT_EQ(fit->points_used(), 1000u - 50u - 2u);  // 5% skipped, two non-finite
}

TEST(LearningCurve, LongCurvesAreBinned) {
  auto rng = testing::SeededRng();
  Curve c = Make(2.0, 0.4, 0.1, 200'000, 0.02, &rng);
  auto fit = LearningCurve::Fit(c.steps, c.values);
  ASSERT_TRUE(fit.ok());
  EXPECT_LE(fit->bins(), 400u);
  double truth = 2.0 * std::pow(200'000.0, -0.4) + 0.1;
  EXPECT_NEAR(fit->PredictAt(199'999).mid, truth, 0.01 * truth);
}

TEST(LearningCurve, EvalOfABentCurve) {
  PowerLawParams p = Bent(1.5, 100, 2, 0.1);
  EXPECT_NEAR(p.Eval(0), 2.3, 1e-3);  // the plateau
  // At t = τ: c + (L0 − c)·2^(−b/k).
  EXPECT_NEAR(p.Eval(99), 0.1 + 2.2 * std::pow(2.0, -0.75), 1e-12);
  // Far past the bend: the plain power law a·t^-b + c.
  EXPECT_NEAR(p.Eval(1e6 - 1), p.a * std::pow(1e6, -1.5) + 0.1, 1e-9);
}

TEST(LearningCurve, RecoversABentCurve) {
  auto rng = testing::SeededRng();
  const PowerLawParams truth = Bent(1.2, 300, 2, 0.05);
  Curve c = MakeCurve(truth, 3000, 0, &rng);
  auto fit = LearningCurve::Fit(c.steps, c.values);
  ASSERT_TRUE(fit.ok());
  EXPECT_EQ(fit->params().k, 2);
  EXPECT_NEAR(fit->params().tau, 300, 0.02 * 300);
  EXPECT_NEAR(fit->params().b, 1.2, 0.02);
  EXPECT_NEAR(fit->params().c, 0.05, 0.005);
  EXPECT_NEAR(fit->PredictAt(9999).mid, truth.Eval(9999), 0.01 * truth.Eval(9999));
}

TEST(LearningCurve, PlainPowerLawIsNotBent) {
  // Over 40 seeds: never bent, the forecast at 3× the observed steps within
  // 1.3% (b alone is loose: it trades off against c).
  auto rng = testing::SeededRng();
  Curve c = Make(3.0, 0.6, 0.4, 3000, 0.02, &rng);
  auto fit = LearningCurve::Fit(c.steps, c.values);
  ASSERT_TRUE(fit.ok());
  EXPECT_EQ(fit->params().tau, 0);
  const double truth = 3.0 * std::pow(9000.0, -0.6) + 0.4;
  EXPECT_NEAR(fit->PredictAt(8999).mid, truth, 0.03 * truth);
}

TEST(LearningCurve, PlateauPrefixForecastsTheDrop) {
  // 40% of a curve that has just left its plateau (3% noise). Over 20 seeds
  // the bent fit's forecast of the end was within 18% and inside its band
  // every time; a plain power law fitted to the same prefix overshoots by
  // ~47% (docs/diagnosis.md, "Learning curve").
  auto rng = testing::SeededRng();
  const PowerLawParams truth = Bent(1.3, 400, 2, 0.05);
  Curve c = MakeCurve(truth, 800, 0.03, &rng);
  auto fit = LearningCurve::Fit(c.steps, c.values);
  ASSERT_TRUE(fit.ok());
  EXPECT_GT(fit->params().tau, 0);
  const double end = truth.Eval(1999);  // 0.32
  Band band = fit->PredictAt(1999);
  EXPECT_NEAR(band.mid, end, 0.20 * end);
  EXPECT_LE(band.low, end);
  EXPECT_GE(band.high, end);
  CurveFitOptions plain;
  plain.bend = false;
  auto overshoot = LearningCurve::Fit(c.steps, c.values, plain);
  ASSERT_TRUE(overshoot.ok());
  EXPECT_GT(overshoot->PredictAt(1999).mid, 1.3 * end);
}

TEST(LearningCurve, StepToReachOnABentCurve) {
  auto rng = testing::SeededRng();
  const PowerLawParams truth = Bent(1.0, 200, 4, 0.1);
  Curve c = MakeCurve(truth, 2000, 0.005, &rng);
  auto fit = LearningCurve::Fit(c.steps, c.values);
  ASSERT_TRUE(fit.ok());
  const double target = 0.15;
  // (τ^k + t^k)^(b/k) = a / (target − c), solved for t.
  const double t = std::pow(std::pow(truth.a / (target - 0.1), 4.0) - std::pow(200.0, 4.0), 0.25);
  auto band = fit->StepToReach(target);
  ASSERT_TRUE(band.has_value());
  EXPECT_NEAR(band->mid, t - 1, 0.08 * t);  // ~8,800; within 3.4% over 40 seeds
  EXPECT_LT(band->low, band->mid);
  EXPECT_GT(band->high, band->mid);
}

TEST(LearningCurve, StepToReachOnThePlateauIsZero) {
  const PowerLawParams p = Bent(1.0, 200, 2, 0.1);
  Curve c = MakeCurve(p, 2000, 0, nullptr);
  auto fit = LearningCurve::Fit(c.steps, c.values);
  ASSERT_TRUE(fit.ok());
  auto band = fit->StepToReach(2.5);  // above the plateau
  ASSERT_TRUE(band.has_value());
  EXPECT_EQ(band->mid, 0);
}

TEST(LearningCurve, BandWidensWithTheHorizon) {
  auto rng = testing::SeededRng();
  Curve c = Make(2.0, 0.5, 0.2, 1000, 0.03, &rng);
  auto fit = LearningCurve::Fit(c.steps, c.values);
  ASSERT_TRUE(fit.ok());
  Band near = fit->PredictAt(1500), far = fit->PredictAt(20'000);
  EXPECT_GT(far.high - far.low, near.high - near.low);
  EXPECT_GT(near.high, near.low);
}

TEST(LearningCurve, BacktestCatchesACurveThatChangedCourse) {
  // The loss follows one power law, then (a learning-rate decay at step
  // 1,000) drops to a lower one: the first half of the steps foretold the
  // end badly, so the band must say the forecast is uncertain.
  auto rng = testing::SeededRng();
  Curve steady = Make(2.0, 0.5, 0.3, 2000, 0.01, &rng);
  Curve changed = steady;
  for (size_t i = 1000; i < changed.values.size(); ++i) changed.values[i] *= 0.7;
  auto a = LearningCurve::Fit(steady.steps, steady.values);
  auto b = LearningCurve::Fit(changed.steps, changed.values);
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok());
  ASSERT_TRUE(a->backtest_error().has_value());
  ASSERT_TRUE(b->backtest_error().has_value());
  EXPECT_LT(*a->backtest_error(), 0.02);  // at most 0.008 over 40 seeds
  EXPECT_GT(*b->backtest_error(), 0.1);   // at least 0.36
  Band wa = a->PredictAt(6000), wb = b->PredictAt(6000);
  EXPECT_GT((wb.high - wb.low) / wb.mid, 5 * (wa.high - wa.low) / wa.mid);
}

TEST(LearningCurve, FloorPriorYieldsToAVisibleFloor) {
  // A curve that has clearly reached its floor keeps it: the prior towards
  // c = 0 only decides what the data leave open.
  auto rng = testing::SeededRng();
  Curve c = Make(1.0, 1.0, 1.5, 4000, 0.01, &rng);
  auto fit = LearningCurve::Fit(c.steps, c.values);
  ASSERT_TRUE(fit.ok());
  EXPECT_NEAR(fit->params().c, 1.5, 0.01);
}

TEST(LearningCurve, NegativeLossesAreFitted) {
  // A negative log-likelihood may go below zero: no floor at 0, no relative
  // weights, an additive band.
  auto rng = testing::SeededRng();
  Curve c = Make(3.0, 0.5, -2.0, 2000, 0, &rng);
  auto fit = LearningCurve::Fit(c.steps, c.values);
  ASSERT_TRUE(fit.ok());
  EXPECT_NEAR(fit->params().c, -2.0, 1e-3);
  EXPECT_NEAR(fit->params().b, 0.5, 1e-3);
  Band band = fit->PredictAt(9999);
  EXPECT_NEAR(band.mid, 3.0 * std::pow(10'000.0, -0.5) - 2.0, 1e-3);
  EXPECT_LE(band.low, band.mid);
}

TEST(LearningCurve, UnsortedInputIsSorted) {
  auto rng = testing::SeededRng();
  Curve c = Make(2.0, 0.5, 0.3, 500, 0, &rng);
  std::reverse(c.steps.begin(), c.steps.end());
  std::reverse(c.values.begin(), c.values.end());
  auto fit = LearningCurve::Fit(c.steps, c.values);
  ASSERT_TRUE(fit.ok());
  EXPECT_NEAR(fit->params().b, 0.5, 1e-3);
}

}  // namespace
}  // namespace vigil::analysis
