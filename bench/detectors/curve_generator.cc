#include "curve_generator.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numbers>

namespace vigil::bench {

using analysis::FindingKind;

namespace {

double U(std::mt19937_64& rng, double a, double b) {
  return std::uniform_real_distribution<double>(a, b)(rng);
}
int64_t UI(std::mt19937_64& rng, int64_t a, int64_t b) {
  return std::uniform_int_distribution<int64_t>(a, b)(rng);
}
// Student-t with 4 degrees of freedom, scaled to unit variance (its
// variance is 2).
double T4(std::mt19937_64& rng) {
  static thread_local std::student_t_distribution<double> t(4.0);
  return t(rng) / std::numbers::sqrt2;
}
double N01(std::mt19937_64& rng) {
  static thread_local std::normal_distribution<double> n(0, 1);
  return n(rng);
}

constexpr int64_t kT0Ms = 1'700'000'000'000;

void Label(Curve* c, FindingKind k, size_t at, size_t window, size_t len = SIZE_MAX) {
  c->has_fault = true;
  c->fault = k;
  c->fault_index = at;
  c->window_end = std::min(at + window, c->points.size() - 1);
  c->fault_end =
      std::max(c->window_end,
               len == SIZE_MAX ? c->points.size() - 1 : std::min(at + len, c->points.size() - 1));
  c->clean_for_fa = false;
}

// The emitted step sequence of a run with resumptions: 0..n-1 in order,
// except that at each resumption the step goes back 100–1000 steps.
// `bump[i]` is the transient factor after a resumption (1 elsewhere).
void StepsWithResumptions(size_t n, size_t no_resume_after, std::mt19937_64& rng,
                          std::vector<int64_t>* steps, std::vector<double>* bump) {
  int resumptions = static_cast<int>(UI(rng, 0, 3));
  std::vector<size_t> at;
  for (int r = 0; r < resumptions; ++r) {
    size_t lo = n / 10, hi = std::min(no_resume_after, n - 1);
    if (hi > lo + 10) at.push_back(static_cast<size_t>(UI(rng, lo, hi)));
  }
  std::sort(at.begin(), at.end());
  steps->clear();
  bump->clear();
  int64_t step = 0;
  size_t next = 0;
  double b = 0;
  int64_t since = 0;
  for (size_t i = 0; i < n; ++i) {
    if (next < at.size() && i == at[next]) {
      step = std::max<int64_t>(0, step - UI(rng, 100, 1000));
      b = U(rng, 0, 0.03);
      since = 0;
      ++next;
    }
    steps->push_back(step++);
    bump->push_back(1 + b * std::exp(-static_cast<double>(since++) / 10));
  }
}

Curve Loss(size_t n, std::optional<FindingKind> fault, std::mt19937_64& rng) {
  Curve c;
  c.metric = "train/loss";
  size_t fi = static_cast<size_t>(U(rng, 0.3, 0.8) * static_cast<double>(n));
  // Deterministic part by step (resumptions replay it).
  size_t max_step = n + 1;
  double Linf = U(rng, 0.5, 2.5), A = U(rng, 1, 8), p = U(rng, 0.2, 0.6), t0 = U(rng, 50, 500);
  double warm = U(rng, 100, 2000);
  int schedule = static_cast<int>(UI(rng, 0, 2));
  double cx = U(rng, 0.02, 0.12);
  std::vector<double> base(max_step);
  double tau = 0, lr_s = 0;
  for (size_t t = 0; t < max_step; ++t) {
    double x = static_cast<double>(t);
    double lr = x < warm ? (x + 1) / warm : 1.0;
    if (x >= warm) {
      double f = (x - warm) / std::max(1.0, static_cast<double>(max_step) - warm);
      if (schedule == 0) lr = f < 0.5 ? 1.0 : f < 0.75 ? 0.3 : 0.1;
      if (schedule == 1) lr = std::max(0.05, 0.5 * (1 + std::cos(std::numbers::pi * f)));
    }
    tau += lr;
    lr_s += (lr - lr_s) / 15;
    base[t] = (Linf + A * std::pow(1 + tau / t0, -p)) * (1 + cx * lr_s);
  }
  double s0 = U(rng, 0.003, 0.01), P = U(rng, 2000, 20000), phi = U(rng, 0, 6.3);
  std::vector<int64_t> steps;
  std::vector<double> bump;
  StepsWithResumptions(n, fault ? fi - std::min<size_t>(fi, 400) : n, rng, &steps, &bump);
  int64_t time = kT0Ms;
  for (size_t i = 0; i < n; ++i) {
    double sigma =
        s0 * std::exp(0.5 * std::sin(2 * std::numbers::pi * static_cast<double>(i) / P + phi));
    double v = base[static_cast<size_t>(steps[i])] * bump[i] * std::exp(sigma * T4(rng));
    time += 500;
    c.points.push_back({steps[i], time, v});
  }
  if (!fault) return c;
  switch (*fault) {
    case FindingKind::kNonFinite: {
      int64_t len = UI(rng, 1, 3);
      double bad = UI(rng, 0, 3) == 0 ? std::numeric_limits<double>::infinity()
                                      : std::numeric_limits<double>::quiet_NaN();
      for (int64_t k = 0; k < len; ++k) c.points[fi + static_cast<size_t>(k)].value = bad;
      Label(&c, *fault, fi, 0, static_cast<size_t>(len));
      break;
    }
    case FindingKind::kSpike: {
      double F = std::exp(U(rng, std::log(1.5), std::log(6.0)));
      double d = U(rng, 0.2, 0.7);
      size_t k = 0;
      for (double m = F; m > 1.01 && fi + k < n; m = 1 + (m - 1) * d, ++k) {
        c.points[fi + k].value *= m;
      }
      Label(&c, *fault, fi, k + 5, k + 5);
      break;
    }
    case FindingKind::kDivergence: {
      double r = U(rng, 0.003, 0.01);
      for (size_t k = 0; fi + k < n; ++k) {
        c.points[fi + k].value *= std::exp(r * static_cast<double>(std::min<size_t>(k, 400)));
      }
      Label(&c, *fault, fi, 300);
      break;
    }
    case FindingKind::kPlateau: {
      // From fi on, the curve stops improving: its noiseless value freezes.
      double frozen = base[static_cast<size_t>(c.points[fi].step)];
      for (size_t k = fi; k < n; ++k) {
        c.points[k].value *= frozen / base[static_cast<size_t>(c.points[k].step)];
      }
      Label(&c, *fault, fi, 4000);
      break;
    }
    default:
      break;
  }
  return c;
}

Curve GradNorm(size_t n, std::optional<FindingKind> fault, std::mt19937_64& rng) {
  Curve c;
  c.metric = "train/grad_norm";
  size_t fi = static_cast<size_t>(U(rng, 0.3, 0.8) * static_cast<double>(n));
  double g0 = std::exp(U(rng, std::log(0.1), std::log(10.0))), sigma = U(rng, 0.03, 0.10);
  double warm = U(rng, 100, 2000);
  std::vector<int64_t> steps;
  std::vector<double> bump;
  StepsWithResumptions(n, fault ? fi - std::min<size_t>(fi, 400) : n, rng, &steps, &bump);
  int64_t time = kT0Ms;
  for (size_t i = 0; i < n; ++i) {
    double t = static_cast<double>(steps[i]);
    double lr = t < warm ? (t + 1) / warm : (t < 0.6 * static_cast<double>(n) ? 1.0 : 0.3);
    double v = g0 * (1 + 3 * std::exp(-t / 300)) * (0.7 + 0.3 * lr) * std::exp(sigma * T4(rng));
    time += 500;
    c.points.push_back({steps[i], time, v});
  }
  if (fault == FindingKind::kGradExplosion) {
    double r = U(rng, std::log(1.5), std::log(4.0));
    size_t len = static_cast<size_t>(UI(rng, 8, 25));
    for (size_t k = 0; fi + k < n; ++k) {
      c.points[fi + k].value *= std::exp(r * static_cast<double>(std::min(k + 1, len)));
    }
    Label(&c, *fault, fi, 50);
  }
  return c;
}

Curve StepTime(size_t n, bool rate, std::optional<FindingKind> fault, std::mt19937_64& rng) {
  Curve c;
  c.metric = rate ? "perf/samples_per_s" : "time/step";
  size_t fi = static_cast<size_t>(U(rng, 0.3, 0.8) * static_cast<double>(n));
  double b = std::exp(U(rng, std::log(0.05), std::log(2.0))), sigma = U(rng, 0.01, 0.08);
  int64_t ckpt = UI(rng, 500, 2000);
  double batch = 256;
  std::vector<int64_t> steps;
  std::vector<double> bump;
  StepsWithResumptions(n, fault ? fi - std::min<size_t>(fi, 400) : n, rng, &steps, &bump);
  int64_t time = kT0Ms;
  double level = 1;
  for (size_t i = 0; i < n; ++i) {
    if (i > 0 && steps[i] < steps[i - 1]) level = U(rng, 0.9, 1.1);  // restarted elsewhere
    double v = b * level * std::exp(sigma * T4(rng));
    if (steps[i] > 0 && steps[i] % ckpt == 0) v *= U(rng, 3, 20);
    time += static_cast<int64_t>(1000 * v) + 1;
    c.points.push_back({steps[i], time, v});
  }
  if (fault == FindingKind::kThroughputDrop) {
    double f = U(rng, 1.2, 2.0);
    for (size_t k = fi; k < n; ++k) c.points[k].value *= f;
    Label(&c, *fault, fi, 200);
  }
  if (rate) {
    for (Point& p : c.points) p.value = batch / p.value;
  }
  return c;
}

Curve GpuUtil(size_t n, std::optional<FindingKind> fault, std::mt19937_64& rng) {
  Curve c;
  c.metric = "sys/gpu/utilization";
  size_t fi = static_cast<size_t>(U(rng, 0.3, 0.8) * static_cast<double>(n));
  double mean = U(rng, 80, 98);
  int64_t eval_every = UI(rng, 1000, 3000);
  size_t eval_left = 0;
  for (size_t i = 0; i < n; ++i) {
    double v = mean + 3 * N01(rng);
    if (static_cast<int64_t>(i) % eval_every == eval_every - 1) eval_left = UI(rng, 10, 90);
    if (eval_left > 0) {
      v = U(rng, 0, 15);
      --eval_left;
    } else if (U(rng, 0, 1) < 0.01) {
      v = U(rng, 0, 60);
    }
    c.points.push_back({static_cast<int64_t>(i), kT0Ms + 1000 * static_cast<int64_t>(i),
                        std::clamp(v, 0.0, 100.0)});
  }
  if (fault == FindingKind::kGpuIdle) {
    size_t len = static_cast<size_t>(UI(rng, 300, 900));
    for (size_t k = fi; k < std::min(n, fi + len); ++k) c.points[k].value = U(rng, 0, 5);
    Label(&c, *fault, fi, 400, len);
  }
  return c;
}

Curve Memory(size_t n, std::optional<FindingKind> fault, std::mt19937_64& rng) {
  Curve c;
  c.metric = "sys/gpu/memory_used_bytes";
  constexpr double kGiB = 1024.0 * 1024 * 1024;
  c.extra.push_back({"memory_growth", {{"limit", std::to_string(80 * kGiB)}}, true});
  size_t fi = static_cast<size_t>(U(rng, 0.3, 0.8) * static_cast<double>(n));
  double M = U(rng, 20, 60) * kGiB;
  int64_t eval_every = UI(rng, 300, 1000);
  size_t eval_left = 0;
  double eval_extra = 0;
  double rate = U(rng, 8, 40) * kGiB / 3600;  // bytes per second
  for (size_t i = 0; i < n; ++i) {
    double v = i < 30 ? 2 * kGiB + (M - 2 * kGiB) * static_cast<double>(i) / 30 : M;
    if (static_cast<int64_t>(i) % eval_every == eval_every - 1) {
      eval_left = UI(rng, 20, 100);
      eval_extra = U(rng, 0.02, 0.1) * M;
    }
    if (eval_left > 0) {
      v += eval_extra;
      --eval_left;
    }
    if (fault == FindingKind::kMemoryGrowth && i >= fi) v += rate * 5 * static_cast<double>(i - fi);
    v *= 1 + 0.002 * N01(rng);
    c.points.push_back({static_cast<int64_t>(i), kT0Ms + 5000 * static_cast<int64_t>(i), v});
  }
  if (fault == FindingKind::kMemoryGrowth) Label(&c, *fault, fi, 1500);
  return c;
}

Curve Simple(SeriesKind kind, size_t n, std::optional<FindingKind> fault, std::mt19937_64& rng) {
  Curve c;
  size_t fi = static_cast<size_t>(U(rng, 0.3, 0.8) * static_cast<double>(n));
  double ecc = static_cast<double>(UI(rng, 0, 5));
  int64_t time = kT0Ms;
  size_t gap_len = fault == FindingKind::kAbsence ? static_cast<size_t>(UI(rng, 200, 1000)) : 0;
  for (size_t i = 0; i < n; ++i) {
    double v = 0;
    switch (kind) {
      case SeriesKind::kThrottle:
        v = U(rng, 0, 1) < 1e-3 ? 1 : 0;
        if (fault && i >= fi && i < fi + 20 + static_cast<size_t>(i % 7)) v = 1;
        break;
      case SeriesKind::kEcc:
        if (fault && i == fi) ecc += static_cast<double>(UI(rng, 1, 3));
        v = ecc;
        break;
      case SeriesKind::kXid:
        v = fault && i == fi ? 79 : 0;
        break;
      case SeriesKind::kTemperature:
        v = 70 + 3 * N01(rng);
        if (fault && i >= fi && i < fi + 30) v = U(rng, 88, 95);
        break;
      default:
        v = 1;
        break;
    }
    time += 1000;
    if (gap_len > 0 && i == fi) time += 1000 * static_cast<int64_t>(gap_len);
    c.points.push_back({static_cast<int64_t>(i), time, v});
  }
  switch (kind) {
    case SeriesKind::kThrottle:
      c.metric = "sys/gpu/throttle/thermal";
      break;
    case SeriesKind::kEcc:
      c.metric = "sys/gpu/ecc_uncorrected_total";
      break;
    case SeriesKind::kXid:
      c.metric = "sys/gpu/xid";
      break;
    case SeriesKind::kTemperature:
      c.metric = "sys/gpu/temperature_celsius";
      c.extra.push_back({"threshold", {{"above", "85"}, {"for_points", "3"}}, true});
      break;
    default:
      c.metric = "run/heartbeat";
      c.extra.push_back({"absence", {{"for_seconds", "120"}}, true});
      break;
  }
  if (fault) {
    size_t window = *fault == FindingKind::kThrottling  ? 10
                    : *fault == FindingKind::kThreshold ? 10
                    : *fault == FindingKind::kAbsence   ? 0
                                                        : 1;
    // An absence is "at" the last point before the gap and is found by a
    // Tick during it: the window is in ticks, matched by time in the bench.
    Label(&c, *fault, *fault == FindingKind::kAbsence ? fi - 1 : fi, window, 30);
  }
  return c;
}

}  // namespace

Curve Generate(SeriesKind kind, size_t n, std::optional<FindingKind> fault, std::mt19937_64& rng) {
  switch (kind) {
    case SeriesKind::kLoss:
      return Loss(n, fault, rng);
    case SeriesKind::kGradNorm:
      return GradNorm(n, fault, rng);
    case SeriesKind::kStepTime:
      return StepTime(n, false, fault, rng);
    case SeriesKind::kSamplesPerSec:
      return StepTime(n, true, fault, rng);
    case SeriesKind::kGpuUtil:
      return GpuUtil(n, fault, rng);
    case SeriesKind::kMemory:
      return Memory(n, fault, rng);
    default:
      return Simple(kind, n, fault, rng);
  }
}

}  // namespace vigil::bench
