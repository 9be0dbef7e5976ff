#include "analysis/diagnosis/diagnosis.h"

#include <cmath>
#include <random>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "analysis/diagnosis/diagnosis_test_util.h"
#include "testing/testing.h"

namespace vigil::analysis {
namespace {

using testutil::AddPerSecond;
using testutil::AddPerStep;
using testutil::AddPerStepLabeled;
using testutil::Const;
using testutil::kGiB;

// A run of `steps` steps with the given phase seconds, logged at the wall
// clock pace `step_s` (phases + unaccounted), and GPU/CPU series covering
// its duration.
void AddPhases(RunSeries* run, int64_t steps, double step_s, double data, double fwd, double bwd,
               double opt, double comm = 0) {
  AddPerStep(run, "time/data", steps, step_s, Const(data));
  AddPerStep(run, "time/forward", steps, step_s, Const(fwd));
  AddPerStep(run, "time/backward", steps, step_s, Const(bwd));
  AddPerStep(run, "time/optimizer", steps, step_s, Const(opt));
  if (comm > 0) AddPerStep(run, "time/comm", steps, step_s, Const(comm));
  AddPerStep(run, "train/loss", steps, step_s,
             [](int64_t s) { return 2.0 * std::pow(s + 1.0, -0.3) + 0.5; });
}

int64_t Seconds(int64_t steps, double step_s) {
  return static_cast<int64_t>(static_cast<double>(steps) * step_s) + 1;
}

const Suggestion* FindSuggestion(const Diagnosis& d, std::string_view kind) {
  for (const auto& s : d.suggestions) {
    if (s.kind == kind) return &s;
  }
  return nullptr;
}

double Number(const Suggestion& s, std::string_view name) {
  for (const auto& [k, v] : s.numbers) {
    if (k == name) return v;
  }
  return NAN;
}

TEST(Diagnose, EmptyRunIsNoneWithNotes) {
  DiagnosisInput in;
  Diagnosis d = Diagnose(in);
  EXPECT_EQ(d.bottleneck, "none");
  EXPECT_TRUE(d.suggestions.empty());
  EXPECT_FALSE(d.breakdown.has_value());
  EXPECT_GE(d.notes.size(), 3u);  // no phases, no GPU, no loss
}

TEST(Diagnose, InputBound) {
  DiagnosisInput in;
  AddPhases(&in.series, 1000, 0.21, 0.12, 0.03, 0.05, 0.01);
  AddPerSecond(&in.series, "sys/gpu/utilization", {{"gpu", "0"}}, Seconds(1000, 0.21), Const(31));
  in.hints.num_workers = 2;
  Diagnosis d = Diagnose(in);
  EXPECT_EQ(d.bottleneck, "input");
  ASSERT_FALSE(d.suggestions.empty());
  const Suggestion& s = d.suggestions[0];
  EXPECT_EQ(s.kind, "input");
  EXPECT_NE(s.text.find("57%"), std::string::npos) << s.text;  // 0.12 / 0.21
  EXPECT_NE(s.text.find("31%"), std::string::npos) << s.text;
  EXPECT_NE(s.text.find("num_workers (now 2)"), std::string::npos) << s.text;
  EXPECT_NE(s.text.find("pin_memory"), std::string::npos) << s.text;
  EXPECT_NEAR(Number(s, "data_share"), 0.12 / 0.21, 1e-3);
  EXPECT_NEAR(Number(s, "gpu_utilization"), 31, 1e-9);
}

TEST(Diagnose, InputBoundWithoutGpuMetricsNeedsALargerShare) {
  DiagnosisInput in;
  AddPhases(&in.series, 500, 0.2, 0.07, 0.05, 0.06, 0.02);  // data 35%
  EXPECT_EQ(Diagnose(in).bottleneck, "none");
  DiagnosisInput more;
  AddPhases(&more.series, 500, 0.2, 0.1, 0.04, 0.04, 0.02);  // data 50%
  EXPECT_EQ(Diagnose(more).bottleneck, "input");
}

TEST(Diagnose, BusyGpuIsNotInputBound) {
  DiagnosisInput in;
  AddPhases(&in.series, 1000, 0.2, 0.08, 0.04, 0.06, 0.02);  // data 40%
  AddPerSecond(&in.series, "sys/gpu/utilization", {{"gpu", "0"}}, Seconds(1000, 0.2), Const(92));
  Diagnosis d = Diagnose(in);
  EXPECT_EQ(d.bottleneck, "compute");
}

TEST(Diagnose, CommunicationBound) {
  DiagnosisInput in;
  AddPhases(&in.series, 1000, 0.25, 0.01, 0.04, 0.08, 0.02, 0.10);
  AddPerSecond(&in.series, "sys/gpu/utilization", {{"gpu", "0"}}, Seconds(1000, 0.25), Const(55));
  Diagnosis d = Diagnose(in);
  EXPECT_EQ(d.bottleneck, "communication");
  ASSERT_FALSE(d.suggestions.empty());
  EXPECT_EQ(d.suggestions[0].kind, "communication");
  EXPECT_NE(d.suggestions[0].text.find("40%"), std::string::npos) << d.suggestions[0].text;
  EXPECT_NE(d.suggestions[0].text.find("100.0 ms of 250.0 ms"), std::string::npos)
      << d.suggestions[0].text;
}

TEST(Diagnose, ComputeBound) {
  DiagnosisInput in;
  AddPhases(&in.series, 1000, 0.2, 0.005, 0.07, 0.11, 0.01);
  AddPerSecond(&in.series, "sys/gpu/utilization", {{"gpu", "0"}}, Seconds(1000, 0.2), Const(95));
  AddPerSecond(&in.series, "sys/gpu/utilization", {{"gpu", "1"}}, Seconds(1000, 0.2), Const(93));
  Diagnosis d = Diagnose(in);
  EXPECT_EQ(d.bottleneck, "compute");
  const Suggestion* s = FindSuggestion(d, "compute");
  ASSERT_NE(s, nullptr);
  EXPECT_NE(s->text.find("94%"), std::string::npos) << s->text;  // mean of both GPUs
  EXPECT_NE(s->text.find("95% of each step"), std::string::npos) << s->text;
}

TEST(Diagnose, HostBound) {
  DiagnosisInput in;
  AddPhases(&in.series, 1000, 0.2, 0.07, 0.05, 0.06, 0.02);
  AddPerSecond(&in.series, "sys/gpu/utilization", {{"gpu", "0"}}, Seconds(1000, 0.2), Const(40));
  AddPerSecond(&in.series, "sys/cpu/utilization", {}, Seconds(1000, 0.2), Const(97));
  Diagnosis d = Diagnose(in);
  EXPECT_EQ(d.bottleneck, "host");
  ASSERT_FALSE(d.suggestions.empty());
  EXPECT_NE(d.suggestions[0].text.find("97%"), std::string::npos) << d.suggestions[0].text;
  EXPECT_NE(d.suggestions[0].text.find("40%"), std::string::npos) << d.suggestions[0].text;
}

TEST(Diagnose, MemoryNearTheLimit) {
  DiagnosisInput in;
  AddPhases(&in.series, 1000, 0.2, 0.005, 0.07, 0.11, 0.01);
  int64_t secs = Seconds(1000, 0.2);
  AddPerSecond(&in.series, "sys/gpu/utilization", {{"gpu", "0"}}, secs, Const(90));
  AddPerSecond(&in.series, "sys/gpu/memory_used_bytes", {{"gpu", "0"}}, secs, Const(76 * kGiB));
  AddPerSecond(&in.series, "sys/gpu/memory_total_bytes", {{"gpu", "0"}}, secs, Const(80 * kGiB));
  in.hints.batch_size = 64;
  Diagnosis d = Diagnose(in);
  EXPECT_EQ(d.bottleneck, "memory");
  const Suggestion* s = FindSuggestion(d, "memory_near_limit");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(&d.suggestions[0], s);
  EXPECT_NE(s->text.find("95%"), std::string::npos) << s->text;
  EXPECT_NE(s->text.find("76.0 of 80.0 GiB"), std::string::npos) << s->text;
  EXPECT_NE(s->text.find("(now 64)"), std::string::npos) << s->text;
}

TEST(Diagnose, MemoryGrowthBeforeThePlannedEnd) {
  DiagnosisInput in;
  AddPhases(&in.series, 1000, 1.0, 0.005, 0.3, 0.6, 0.05);  // 1000 s so far
  AddPerSecond(&in.series, "sys/gpu/utilization", {{"gpu", "0"}}, 1001, Const(90));
  // 20 GiB growing 10 MiB/s: 60 GiB left at the end -> ~6,100 s to OOM.
  AddPerSecond(&in.series, "sys/gpu/memory_used_bytes", {{"gpu", "0"}}, 1001,
               [](int64_t i) { return 10 * kGiB + 10.0 * 1024 * 1024 * static_cast<double>(i); });
  AddPerSecond(&in.series, "sys/gpu/memory_total_bytes", {{"gpu", "0"}}, 1001, Const(80 * kGiB));
  in.hints.max_steps = 20'000;  // 19,000 s left
  Diagnosis d = Diagnose(in);
  EXPECT_EQ(d.bottleneck, "memory");
  const Suggestion* s = FindSuggestion(d, "memory_growth");
  ASSERT_NE(s, nullptr);
  double truth = (80 * kGiB - (10 * kGiB + 10.0 * 1024 * 1024 * 1000)) / (10.0 * 1024 * 1024);
  EXPECT_NEAR(Number(*s, "seconds_to_oom"), truth, 0.01 * truth);
  EXPECT_NE(s->text.find("before the run's planned end"), std::string::npos) << s->text;
  ASSERT_TRUE(d.forecast.memory.has_value());
  EXPECT_EQ(d.forecast.memory_gpu, "0");
}

// A busy GPU (compute-bound but for the allocator) with the CUDA memory
// series of vigil.torch for device 0.
void AddBusyGpu(RunSeries* run, int64_t steps) {
  AddPhases(run, steps, 0.2, 0.005, 0.07, 0.11, 0.01);
  int64_t secs = Seconds(steps, 0.2);
  AddPerSecond(run, "sys/gpu/utilization", {{"gpu", "0"}}, secs, Const(95));
  AddPerSecond(run, "sys/gpu/memory_used_bytes", {{"gpu", "0"}}, secs, Const(60 * kGiB));
  AddPerSecond(run, "sys/gpu/memory_total_bytes", {{"gpu", "0"}}, secs, Const(80 * kGiB));
}

TEST(Diagnose, AllocatorChurnIsMemoryBound) {
  DiagnosisInput in;
  AddBusyGpu(&in.series, 1000);
  // 37 retries in the last 200 steps (none before).
  AddPerStepLabeled(&in.series, "cuda/num_alloc_retries", {{"device", "0"}}, 1000, 0.2,
                    [](int64_t s) { return s < 800 ? 0.0 : std::min(37.0, (s - 799) / 5.0); });
  AddPerStepLabeled(&in.series, "cuda/memory_reserved_bytes", {{"device", "0"}}, 1000, 0.2,
                    Const(58 * kGiB));
  AddPerStepLabeled(&in.series, "cuda/max_memory_allocated_bytes", {{"device", "0"}}, 1000, 0.2,
                    Const(52 * kGiB));
  in.hints.batch_size = 64;
  Diagnosis d = Diagnose(in);
  EXPECT_EQ(d.bottleneck, "memory");
  EXPECT_NE(d.summary.find("retried 37 times in the last 200 steps"), std::string::npos)
      << d.summary;
  const Suggestion* s = FindSuggestion(d, "allocator_churn");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(&d.suggestions[0], s);
  EXPECT_EQ(Number(*s, "alloc_retries"), 37);
  EXPECT_EQ(Number(*s, "window_steps"), 200);
  EXPECT_NEAR(Number(*s, "retries_per_100_steps"), 18.5, 1e-9);
  EXPECT_NEAR(Number(*s, "fragmentation"), 1 - 52.0 / 58, 1e-9);
  EXPECT_NE(s->text.find("expandable_segments:True"), std::string::npos) << s->text;
  EXPECT_NE(s->text.find("(now 64)"), std::string::npos) << s->text;
  EXPECT_NE(s->text.find("10% of the 58.0 GiB reserved"), std::string::npos) << s->text;
  EXPECT_EQ(FindSuggestion(d, "memory_headroom"), nullptr);
  bool evidence = false;
  for (const auto& e : d.evidence) evidence |= e.name == "alloc_retries" && e.value == 37;
  EXPECT_TRUE(evidence);
}

TEST(Diagnose, FewRetriesAreNotChurn) {
  // 2 retries in 200 steps: below the minimum count.
  DiagnosisInput in;
  AddBusyGpu(&in.series, 1000);
  AddPerStepLabeled(&in.series, "cuda/num_alloc_retries", {{"device", "0"}}, 1000, 0.2,
                    [](int64_t s) { return s < 900 ? 0.0 : 2.0; });
  Diagnosis d = Diagnose(in);
  EXPECT_EQ(d.bottleneck, "compute");
  EXPECT_EQ(FindSuggestion(d, "allocator_churn"), nullptr);
}

TEST(Diagnose, SlowRetriesAreNotChurn) {
  // 5 retries over a 1,000-step window: 0.5 per 100 steps, below the rate.
  DiagnosisInput in;
  AddBusyGpu(&in.series, 5000);
  AddPerStepLabeled(&in.series, "cuda/num_alloc_retries", {{"device", "0"}}, 5000, 0.2,
                    [](int64_t s) { return static_cast<double>(s / 200); });
  Diagnosis d = Diagnose(in);
  EXPECT_EQ(d.bottleneck, "compute");
  EXPECT_EQ(FindSuggestion(d, "allocator_churn"), nullptr);
}

TEST(Diagnose, GrowingFragmentationIsSuggested) {
  // Reserved grows from 50 to 72 GiB while the peak of live tensors stays at
  // 45 GiB: 38% of the reserved memory is never used, up from 10%.
  DiagnosisInput in;
  AddBusyGpu(&in.series, 1000);
  AddPerStepLabeled(&in.series, "cuda/num_alloc_retries", {{"device", "0"}}, 1000, 0.2, Const(0));
  AddPerStepLabeled(&in.series, "cuda/memory_reserved_bytes", {{"device", "0"}}, 1000, 0.2,
                    [](int64_t s) { return (s < 800 ? 50 : 72) * kGiB; });
  AddPerStepLabeled(&in.series, "cuda/max_memory_allocated_bytes", {{"device", "0"}}, 1000, 0.2,
                    Const(45 * kGiB));
  Diagnosis d = Diagnose(in);
  EXPECT_EQ(d.bottleneck, "compute");  // a suggestion, not the class
  const Suggestion* s = FindSuggestion(d, "allocator_fragmentation");
  ASSERT_NE(s, nullptr);
  EXPECT_NEAR(Number(*s, "fragmentation"), 1 - 45.0 / 72, 1e-9);
  EXPECT_NEAR(Number(*s, "earlier_fragmentation"), 0.1, 1e-9);
  EXPECT_NE(s->text.find("38% of the 72.0 GiB"), std::string::npos) << s->text;
  EXPECT_NE(s->text.find("up from 10%"), std::string::npos) << s->text;
}

TEST(Diagnose, SteadyFragmentationIsQuiet) {
  // 40% unused but not growing: a fixed overhead, nothing to do.
  DiagnosisInput in;
  AddBusyGpu(&in.series, 1000);
  AddPerStepLabeled(&in.series, "cuda/memory_reserved_bytes", {{"device", "0"}}, 1000, 0.2,
                    Const(75 * kGiB));
  AddPerStepLabeled(&in.series, "cuda/max_memory_allocated_bytes", {{"device", "0"}}, 1000, 0.2,
                    Const(45 * kGiB));
  Diagnosis d = Diagnose(in);
  EXPECT_EQ(FindSuggestion(d, "allocator_fragmentation"), nullptr);
  bool noted = false;
  for (const auto& n : d.notes) noted |= n.find("cuda/num_alloc_retries") != std::string::npos;
  EXPECT_TRUE(noted);  // reserved is logged, retries are not
}

TEST(Diagnose, ThrottledByClockEvents) {
  DiagnosisInput in;
  AddPhases(&in.series, 1000, 0.2, 0.005, 0.07, 0.11, 0.01);
  int64_t secs = Seconds(1000, 0.2);
  AddPerSecond(&in.series, "sys/gpu/utilization", {{"gpu", "0"}}, secs, Const(97));
  // HW thermal slowdown (0x40) on every other sample.
  AddPerSecond(&in.series, "sys/gpu/clock_events", {{"gpu", "0"}}, secs,
               [](int64_t i) { return i % 2 ? 0x40 : 0x0; });
  AddPerSecond(&in.series, "sys/gpu/power_watts", {{"gpu", "0"}}, secs, Const(290));
  Diagnosis d = Diagnose(in);
  EXPECT_EQ(d.bottleneck, "throttled");
  ASSERT_FALSE(d.suggestions.empty());
  double frac = Number(d.suggestions[0], "throttle_fraction");
  EXPECT_NEAR(frac, 0.5, 0.02);
  EXPECT_NE(d.suggestions[0].text.find(fmt::format("{:.0f}%", 100 * frac)), std::string::npos)
      << d.suggestions[0].text;
  EXPECT_NE(d.suggestions[0].text.find("290 W"), std::string::npos) << d.suggestions[0].text;
}

TEST(Diagnose, BenignClockEventsAreNotThrottling) {
  DiagnosisInput in;
  AddPhases(&in.series, 1000, 0.2, 0.005, 0.07, 0.11, 0.01);
  int64_t secs = Seconds(1000, 0.2);
  AddPerSecond(&in.series, "sys/gpu/utilization", {{"gpu", "0"}}, secs, Const(97));
  // GPU idle (0x1) and application clocks (0x2) only.
  AddPerSecond(&in.series, "sys/gpu/clock_events", {{"gpu", "0"}}, secs, Const(0x3));
  EXPECT_EQ(Diagnose(in).bottleneck, "compute");
}

TEST(Diagnose, HeadroomSuggestsALargerBatch) {
  DiagnosisInput in;
  AddPhases(&in.series, 1000, 0.2, 0.005, 0.07, 0.11, 0.01);
  int64_t secs = Seconds(1000, 0.2);
  AddPerSecond(&in.series, "sys/gpu/utilization", {{"gpu", "0"}}, secs, Const(90));
  AddPerSecond(&in.series, "sys/gpu/memory_used_bytes", {{"gpu", "0"}}, secs,
               Const(0.41 * 80 * kGiB));
  AddPerSecond(&in.series, "sys/gpu/memory_total_bytes", {{"gpu", "0"}}, secs, Const(80 * kGiB));
  in.hints.batch_size = 64;
  Diagnosis d = Diagnose(in);
  EXPECT_EQ(d.bottleneck, "compute");
  const Suggestion* s = FindSuggestion(d, "memory_headroom");
  ASSERT_NE(s, nullptr);
  EXPECT_NE(s->text.find("41%"), std::string::npos) << s->text;
  EXPECT_NE(s->text.find("32.8 of 80.0 GiB"), std::string::npos) << s->text;
  EXPECT_NE(s->text.find("2.2×"), std::string::npos) << s->text;
  EXPECT_NE(s->text.find("about 140"), std::string::npos) << s->text;
}

TEST(Diagnose, PlateauAfterLearningRateDecay) {
  DiagnosisInput in;
  // Improves until step 7,000, then flat at 0.8 (lr decayed 100×).
  AddPerStep(&in.series, "train/loss", 10'000, 0.1,
             [](int64_t s) { return s < 7000 ? 0.8 + 1.0 * (7000 - s) / 7000.0 : 0.8; });
  AddPerStep(&in.series, "train/lr", 10'000, 0.1, [](int64_t s) { return s < 6000 ? 1e-3 : 1e-5; });
  Diagnosis d = Diagnose(in);
  const Suggestion* s = FindSuggestion(d, "plateau");
  ASSERT_NE(s, nullptr);
  EXPECT_NEAR(Number(*s, "flat_steps"), 3000, 150);
  EXPECT_NE(s->text.find("lr 1e-05"), std::string::npos) << s->text;
  EXPECT_NE(s->text.find("after decay from 0.001"), std::string::npos) << s->text;
}

TEST(Diagnose, ImprovingLossIsNoPlateau) {
  DiagnosisInput in;
  AddPerStep(&in.series, "train/loss", 10'000, 0.1,
             [](int64_t s) { return 3.0 * std::pow(s + 1.0, -0.5) + 0.1; });
  EXPECT_EQ(FindSuggestion(Diagnose(in), "plateau"), nullptr);
}

TEST(Diagnose, GradientClippedOnMostSteps) {
  DiagnosisInput in;
  AddPerStep(&in.series, "train/loss", 1000, 0.1, Const(1.0));
  AddPerStep(&in.series, "train/grad_norm", 1000, 0.1,
             [](int64_t s) { return s % 10 == 0 ? 0.5 : 4.0; });
  in.hints.grad_clip = 1.0;
  Diagnosis d = Diagnose(in);
  const Suggestion* s = FindSuggestion(d, "grad_clipping");
  ASSERT_NE(s, nullptr);
  EXPECT_NEAR(Number(*s, "clip_fraction"), 0.9, 1e-9);
  EXPECT_NE(s->text.find("90%"), std::string::npos) << s->text;
  in.hints.grad_clip = 5.0;
  EXPECT_EQ(FindSuggestion(Diagnose(in), "grad_clipping"), nullptr);
}

TEST(Diagnose, RisingLoss) {
  DiagnosisInput in;
  AddPerStep(&in.series, "train/loss", 1000, 0.1, [](int64_t s) { return s < 800 ? 1.0 : 1.5; });
  AddPerStep(&in.series, "train/lr", 1000, 0.1, Const(0.01));
  Diagnosis d = Diagnose(in);
  const Suggestion* s = FindSuggestion(d, "loss_rising");
  ASSERT_NE(s, nullptr);
  EXPECT_NE(s->text.find("50%"), std::string::npos) << s->text;
  EXPECT_NE(s->text.find("lr 0.01"), std::string::npos) << s->text;
}

TEST(Diagnose, HealthRatiosAndAlertFraction) {
  DiagnosisInput in;
  AddPerStep(&in.series, "train/loss", 1000, 0.1, Const(1.0));
  AddPerStep(&in.series, "train/grad_norm", 1000, 0.1, Const(2.0));
  AddPerStep(&in.series, "train/param_norm", 1000, 0.1, Const(400.0));
  AddPerStep(&in.series, "train/loss_dispersion", 1000, 0.1,
             [](int64_t s) { return s < 800 ? 0.1 : 0.2; });
  in.alert_steps = {10, 850, 860, 860, 900};
  Diagnosis d = Diagnose(in);
  ASSERT_TRUE(d.health.grad_param_ratio.has_value());
  EXPECT_NEAR(*d.health.grad_param_ratio, 0.005, 1e-12);
  ASSERT_TRUE(d.health.alert_fraction.has_value());
  EXPECT_NEAR(*d.health.alert_fraction, 3.0 / 200, 1e-12);  // window 800-999
  ASSERT_TRUE(d.health.dispersion_change.has_value());
  EXPECT_NEAR(*d.health.dispersion_change, 1.0, 1e-9);
  const Suggestion* s = FindSuggestion(d, "dispersion_rising");
  ASSERT_NE(s, nullptr);
  EXPECT_NE(s->text.find("100%"), std::string::npos) << s->text;
}

TEST(Diagnose, ForecastFinalLossTargetAndEta) {
  DiagnosisInput in;
  auto rng = testing::SeededRng();
  std::normal_distribution<double> noise(0, 0.01);
  // 0.5 s per step; 2,000 of 10,000 planned steps done.
  AddPerStep(&in.series, "train/loss", 2000, 0.5,
             [&](int64_t s) { return (3.0 * std::pow(s + 1.0, -0.5) + 0.4) * (1 + noise(rng)); });
  in.hints.max_steps = 10'000;
  in.target = 0.45;
  Diagnosis d = Diagnose(in);
  const Forecast& f = d.forecast;
  ASSERT_TRUE(f.loss.has_value()) << f.loss_error;
  ASSERT_TRUE(f.loss->final_loss.has_value());
  double final_truth = 3.0 * std::pow(10'001.0, -0.5) + 0.4;
  EXPECT_NEAR(f.loss->final_loss->mid, final_truth, 0.03 * final_truth);
  EXPECT_LE(f.loss->final_loss->low, final_truth);
  EXPECT_GE(f.loss->final_loss->high, final_truth);
  ASSERT_TRUE(f.loss->target_step.has_value());
  double step_truth = std::pow(3.0 / 0.05, 2) - 1;  // 3,599
  EXPECT_NEAR(f.loss->target_step->mid, step_truth, 0.15 * step_truth);
  ASSERT_TRUE(f.loss->target_time_ms.has_value());
  EXPECT_NEAR(f.loss->target_time_ms->mid,
              static_cast<double>(testutil::kT0) + 500.0 * f.loss->target_step->mid, 1000);
  ASSERT_TRUE(f.pace.has_value());
  EXPECT_NEAR(f.pace->seconds_per_step, 0.5, 1e-3);
  ASSERT_TRUE(f.seconds_remaining.has_value());
  EXPECT_NEAR(*f.seconds_remaining, 0.5 * (10'000 - 1999), 5);
  EXPECT_FALSE(f.loss->curve.empty());
  EXPECT_EQ(f.loss->curve.front().first, 1999);
  EXPECT_EQ(f.loss->curve.back().first, 10'000);
}

TEST(Diagnose, TargetAlreadyReachedAndUnreachable) {
  DiagnosisInput in;
  AddPerStep(&in.series, "train/loss", 1000, 0.5,
             [](int64_t s) { return 2.0 * std::pow(s + 1.0, -0.5) + 0.3; });
  in.target = 1.0;
  Diagnosis d = Diagnose(in);
  ASSERT_TRUE(d.forecast.loss.has_value());
  ASSERT_TRUE(d.forecast.loss->target_reached_step.has_value());
  EXPECT_EQ(*d.forecast.loss->target_reached_step, 8);  // 2/sqrt(9)+0.3 = 0.967
  in.target = 0.2;
  d = Diagnose(in);
  EXPECT_TRUE(d.forecast.loss->target_unreachable);
  EXPECT_FALSE(d.forecast.loss->target_step.has_value());
}

}  // namespace
}  // namespace vigil::analysis
