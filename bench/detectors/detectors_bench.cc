// bench/detectors: precision, recall, detection delay, false alarms and cost
// of the streaming detectors (src/analysis/detectors) on synthetic training
// curves with labelled faults (curve_generator.h).
//
//   detectors_bench [--seed N] [--scale F] [--clean-steps N]
//
// For every curve the detectors a server would attach (DetectorsForMetric,
// plus a user's parameters where a real user gives them: the memory limit,
// a temperature bound, an absence span) see the points in arrival order.
// Plateau, off by default, is switched on for loss curves so that it can be
// measured; its false alarms are listed apart. A firing of class C counts as
// a true positive when it is the first firing of C within the fault's match
// window on a curve with a fault of class C, as a false positive anywhere
// else (before the fault, after the window, on clean curves), except that a
// firing of another class while a fault lasts counts as "other" (a true
// anomaly, e.g. a gradient explosion is also a spike of the gradient norm). Delays are in points
// (one point per step; for absence and stall, seconds). Time-based detectors are ticked every 10 s
// of series time.
#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "analysis/detectors/detector.h"
#include "curve_generator.h"

namespace vigil::bench {
namespace {

using analysis::FindingKind;

struct ClassStats {
  int64_t faults = 0;
  int64_t tp = 0;
  int64_t fp = 0;
  int64_t clean_fa = 0;
  int64_t other = 0;  // firings inside another class's fault window
  std::vector<double> delays;
};

struct Totals {
  std::map<FindingKind, ClassStats> by_class;
  int64_t clean_points = 0;
  int64_t observed = 0;  // detector × point evaluations
  double observe_ns = 0;
};

constexpr int64_t kTickMs = 10'000;

// CPU time of this thread: the cost figure is not inflated by other
// processes sharing the machine.
int64_t ThreadCpuNanos() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}
// --verbose K: print the first K false positives of class `g_verbose_kind`
// (all classes when empty), with their message, for tuning.
int g_verbose = 0;
std::string g_verbose_kind;
std::string g_last_message;
// --set DETECTOR:k=v,k=v overrides parameters of a default detector.
std::vector<std::pair<std::string, analysis::DetectorParams>> g_overrides;

std::vector<analysis::DetectorSpec> SpecsFor(const Curve& c) {
  std::vector<analysis::DetectorSpec> specs = analysis::DetectorsForMetric(c.metric, {});
  for (auto& s : specs) {
    if (s.detector == "plateau") s.enabled = true;  // measured, though off by default
  }
  for (auto& s : specs) {
    for (const auto& [name, params] : g_overrides) {
      if (s.detector != name) continue;
      for (const auto& [k, v] : params.items()) s.params.Set(k, v);
    }
  }
  for (const auto& e : c.extra) {
    auto it = std::find_if(specs.begin(), specs.end(),
                           [&](const auto& s) { return s.detector == e.detector; });
    if (it == specs.end()) {
      specs.push_back(e);
    } else {
      for (const auto& [k, v] : e.params.items()) it->params.Set(k, v);
    }
  }
  return specs;
}

void Record(const Curve& c, FindingKind kind, size_t index, double delay, bool* matched,
            Totals* t) {
  ClassStats& s = t->by_class[kind];
  bool clean = !c.has_fault && c.clean_for_fa;
  if (clean) ++s.clean_fa;
  bool ours = c.has_fault && (c.fault == kind ||
                              (kind == FindingKind::kStall && c.fault == FindingKind::kAbsence));
  if (ours && index >= c.fault_index && index <= c.window_end && !*matched) {
    *matched = true;
    ++s.tp;
    s.delays.push_back(delay);
    return;
  }
  if (ours && index >= c.fault_index && index <= c.window_end) return;  // repeat in window
  if (c.has_fault && !ours && index >= c.fault_index && index <= c.fault_end) {
    ++s.other;  // a true anomaly of another class (a grad explosion is also a spike)
    return;
  }
  ++s.fp;
  if (g_verbose > 0 &&
      (g_verbose_kind.empty() || g_verbose_kind == analysis::FindingKindName(kind))) {
    --g_verbose;
    fmt::print("FP {} on {} (fault {} at {}) index {}: {}\n", analysis::FindingKindName(kind),
               c.metric, c.has_fault ? analysis::FindingKindName(c.fault) : "none", c.fault_index,
               index, g_last_message);
  }
}

void RunCurve(const Curve& c, Totals* t) {
  if (c.has_fault) {
    ++t->by_class[c.fault].faults;
    if (c.fault == FindingKind::kAbsence) ++t->by_class[FindingKind::kStall].faults;
  } else if (c.clean_for_fa) {
    t->clean_points += static_cast<int64_t>(c.points.size());
  }
  for (const auto& spec : SpecsFor(c)) {
    if (!spec.enabled) continue;
    auto d = analysis::MakeDetector(spec.detector, spec.params, c.metric);
    if (!d.ok()) {
      fmt::print(stderr, "{}: {}\n", c.metric, d.status().ToString());
      std::exit(1);
    }
    analysis::Detector& det = **d;
    bool matched = false;
    bool timed = det.kind() == FindingKind::kAbsence;
    int64_t next_tick = c.points.empty() ? 0 : c.points[0].time_ms + kTickMs;
    int64_t start = ThreadCpuNanos();
    for (size_t i = 0; i < c.points.size(); ++i) {
      const Point& p = c.points[i];
      if (timed) {
        for (; next_tick < p.time_ms; next_tick += kTickMs) {
          if (auto f = det.Tick(next_tick); f && f->transition == analysis::Transition::kFiring) {
            g_last_message = f->message;
            size_t at = i == 0 ? 0 : i - 1;
            double delay = static_cast<double>(next_tick - c.points[at].time_ms) / 1000;
            Record(c, f->kind, at, delay, &matched, t);
          }
        }
      }
      std::optional<analysis::Finding> f = det.Observe(p);
      if (f && f->transition == analysis::Transition::kFiring) {
        g_last_message = f->message;
        Record(c, f->kind, i, static_cast<double>(i) - static_cast<double>(c.fault_index), &matched,
               t);
      }
    }
    t->observe_ns += static_cast<double>(ThreadCpuNanos() - start);
    t->observed += static_cast<int64_t>(c.points.size());
  }
  // Stall: the run-level check over the same series as activity.
  if (c.metric == "run/heartbeat") {
    analysis::ActivityTracker tracker;
    analysis::StallParams sp;
    bool matched = false, firing = false;
    int64_t next_tick = c.points[0].time_ms + kTickMs;
    for (size_t i = 0; i < c.points.size(); ++i) {
      for (; next_tick < c.points[i].time_ms; next_tick += kTickMs) {
        auto f = analysis::CheckStall(next_tick, tracker.last_activity_ms(),
                                      tracker.high_interval_ms(), sp, "bench");
        if (f && !firing) {
          firing = true;
          size_t at = i == 0 ? 0 : i - 1;
          Record(c, FindingKind::kStall, at,
                 static_cast<double>(next_tick - c.points[at].time_ms) / 1000, &matched, t);
        }
      }
      tracker.Observe(c.points[i].time_ms);
      firing = false;
    }
  }
}

double Quantile(std::vector<double> v, double q) {
  if (v.empty()) return std::nan("");
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(q * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

}  // namespace
}  // namespace vigil::bench

int main(int argc, char** argv) {
  using namespace vigil::bench;
  uint64_t seed = 42;
  double scale = 1.0;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--seed") == 0) seed = std::strtoull(argv[i + 1], nullptr, 10);
    if (std::strcmp(argv[i], "--scale") == 0) scale = std::strtod(argv[i + 1], nullptr);
    if (std::strcmp(argv[i], "--verbose") == 0) g_verbose = std::atoi(argv[i + 1]);
    if (std::strcmp(argv[i], "--kind") == 0) g_verbose_kind = argv[i + 1];
    if (std::strcmp(argv[i], "--set") == 0) {
      std::string a = argv[i + 1];
      size_t colon = a.find(':');
      auto params = vigil::analysis::DetectorParams::Parse(
          colon == std::string::npos ? "" : a.substr(colon + 1));
      if (colon == std::string::npos || !params.ok()) {
        fmt::print(stderr, "--set DETECTOR:k=v,...\n");
        return 2;
      }
      g_overrides.emplace_back(a.substr(0, colon), *params);
    }
  }
  std::mt19937_64 rng(seed);
  Totals totals;
  auto n_of = [&](int n) { return std::max(1, static_cast<int>(n * scale)); };

  // Clean curves.
  struct CleanSet {
    SeriesKind kind;
    int count;
  };
  const CleanSet clean[] = {
      {SeriesKind::kLoss, 100},         {SeriesKind::kGradNorm, 60},  {SeriesKind::kStepTime, 30},
      {SeriesKind::kSamplesPerSec, 30}, {SeriesKind::kGpuUtil, 20},   {SeriesKind::kMemory, 20},
      {SeriesKind::kThrottle, 10},      {SeriesKind::kEcc, 5},        {SeriesKind::kXid, 5},
      {SeriesKind::kTemperature, 10},   {SeriesKind::kHeartbeat, 10},
  };
  for (const auto& cs : clean) {
    for (int i = 0; i < n_of(cs.count); ++i) {
      RunCurve(Generate(cs.kind, 20000, std::nullopt, rng), &totals);
    }
  }
  // Faulty curves, one fault each.
  struct FaultSet {
    SeriesKind kind;
    FindingKind fault;
    size_t n;
  };
  const FaultSet faults[] = {
      {SeriesKind::kLoss, FindingKind::kNonFinite, 5000},
      {SeriesKind::kLoss, FindingKind::kSpike, 5000},
      {SeriesKind::kLoss, FindingKind::kDivergence, 5000},
      {SeriesKind::kLoss, FindingKind::kPlateau, 10000},
      {SeriesKind::kGradNorm, FindingKind::kGradExplosion, 5000},
      {SeriesKind::kStepTime, FindingKind::kThroughputDrop, 5000},
      {SeriesKind::kSamplesPerSec, FindingKind::kThroughputDrop, 5000},
      {SeriesKind::kGpuUtil, FindingKind::kGpuIdle, 5000},
      {SeriesKind::kMemory, FindingKind::kMemoryGrowth, 5000},
      {SeriesKind::kThrottle, FindingKind::kThrottling, 5000},
      {SeriesKind::kEcc, FindingKind::kHwError, 5000},
      {SeriesKind::kXid, FindingKind::kHwError, 5000},
      {SeriesKind::kTemperature, FindingKind::kThreshold, 5000},
      {SeriesKind::kHeartbeat, FindingKind::kAbsence, 5000},
  };
  for (const auto& fs : faults) {
    int count =
        fs.fault == FindingKind::kThroughputDrop || fs.fault == FindingKind::kHwError ? 100 : 200;
    for (int i = 0; i < n_of(count); ++i) RunCurve(Generate(fs.kind, fs.n, fs.fault, rng), &totals);
  }

  fmt::print("detectors_bench seed={} scale={} clean points={}\n", seed, scale,
             totals.clean_points);
  fmt::print("{:<16} {:>6} {:>6} {:>6} {:>6} {:>9} {:>7} {:>8} {:>7} {:>12}\n", "class", "faults",
             "TP", "FP", "other", "precision", "recall", "med.dly", "p90.dly", "FA/100k clean");
  int64_t fa_default = 0;
  for (const auto& [kind, s] : totals.by_class) {
    double precision = s.tp + s.fp > 0
                           ? static_cast<double>(s.tp) / static_cast<double>(s.tp + s.fp)
                           : std::nan("");
    double recall =
        s.faults > 0 ? static_cast<double>(s.tp) / static_cast<double>(s.faults) : std::nan("");
    double fa = 1e5 * static_cast<double>(s.clean_fa) / static_cast<double>(totals.clean_points);
    if (kind != FindingKind::kPlateau) fa_default += s.clean_fa;
    fmt::print("{:<16} {:>6} {:>6} {:>6} {:>6} {:>9.3f} {:>7.3f} {:>8.1f} {:>7.1f} {:>12.2f}\n",
               vigil::analysis::FindingKindName(kind), s.faults, s.tp, s.fp, s.other, precision,
               recall, Quantile(s.delays, 0.5), Quantile(s.delays, 0.9), fa);
  }
  fmt::print("false alarms per 100,000 clean points, all default detectors (plateau off): {:.2f}\n",
             1e5 * static_cast<double>(fa_default) / static_cast<double>(totals.clean_points));
  fmt::print("cost: {:.1f} ns of CPU per point per detector ({} evaluations)\n",
             totals.observe_ns / static_cast<double>(totals.observed), totals.observed);
  return 0;
}
