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

// a·(step+1)^-b + c at steps [0, n), times (1 + noise·N(0,1)).
Curve Make(double a, double b, double c, int64_t n, double noise, std::mt19937_64* rng) {
  Curve out;
  std::normal_distribution<double> gauss(0, 1);
  for (int64_t s = 0; s < n; ++s) {
    double v = a * std::pow(static_cast<double>(s + 1), -b) + c;
    if (noise > 0) v *= 1 + noise * gauss(*rng);
    out.steps.push_back(s);
    out.values.push_back(v);
  }
  return out;
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
