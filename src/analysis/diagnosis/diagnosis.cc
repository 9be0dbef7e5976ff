// The rules of docs/diagnosis.md: bottleneck class, suggestions, health.
#include "analysis/diagnosis/diagnosis.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include <fmt/format.h>

namespace vigil::analysis {
namespace {

// --- Formatting of the numbers in sentences ---------------------------------

std::string Pct(double fraction) {
  return fmt::format("{:.0f}%", 100 * fraction);
}

std::string Secs(double s) {
  if (s >= 1) return fmt::format("{:.2f} s", s);
  if (s >= 0.001) return fmt::format("{:.1f} ms", s * 1e3);
  return fmt::format("{:.0f} µs", s * 1e6);
}

std::string GiB(double bytes) {
  return fmt::format("{:.1f}", bytes / (1024.0 * 1024 * 1024));
}

std::string Steps(int64_t n) {
  std::string digits = fmt::format("{}", n < 0 ? -n : n), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return n < 0 ? "-" + out : out;
}

std::string Duration(double s) {
  if (s < 120) return fmt::format("{:.0f} s", s);
  if (s < 7200) return fmt::format("{:.0f} min", s / 60);
  if (s < 172800) return fmt::format("{:.1f} h", s / 3600);
  return fmt::format("{:.1f} days", s / 86400);
}

// --- The window in wall-clock time, for the agent's series ------------------

struct TimeWindow {
  int64_t from = INT64_MIN;
  int64_t to = INT64_MAX;
};

// Mean over every series of `metric` (e.g. one per GPU) of its mean within
// the window; falls back to the last fifth of each series when the window
// holds none of its points.
std::optional<double> MeanAcross(const RunSeries& run, std::string_view metric, TimeWindow w) {
  double sum = 0;
  int n = 0;
  for (const SeriesData* s : run.FindAll(metric)) {
    auto m = MeanIn(*s, w.from, w.to, true);
    if (!m && s->size() > 0) {
      int64_t t0 = s->times.front(), t1 = s->times.back();
      m = MeanIn(*s, t1 - (t1 - t0) / 5, t1, true);
    }
    if (m) {
      sum += *m;
      ++n;
    }
  }
  if (n == 0) return std::nullopt;
  return sum / n;
}

// NVML clock-event reasons that slow a busy GPU down (power cap 0x4, HW
// slowdown 0x8, SW thermal 0x20, HW thermal 0x40, power brake 0x80); idle
// (0x1), application clocks (0x2), sync boost (0x10) and display (0x100)
// are benign.
constexpr uint64_t kThrottleMask = 0x4 | 0x8 | 0x20 | 0x40 | 0x80;

bool IsThrottleMetric(std::string_view m) {
  return m.rfind("sys/", 0) == 0 && (m.find("throttl") != std::string_view::npos ||
                                     m.find("clock_event") != std::string_view::npos);
}

// The largest fraction, over throttle series, of window samples with a
// slowing reason set.
std::optional<double> ThrottleFraction(const RunSeries& run, TimeWindow w) {
  std::optional<double> best;
  for (const SeriesData& s : run.all()) {
    if (!IsThrottleMetric(s.metric)) continue;
    bool bitmask = s.metric.find("clock_event") != std::string::npos ||
                   s.metric.find("reasons") != std::string::npos;
    size_t n = 0, on = 0;
    for (size_t i = 0; i < s.size(); ++i) {
      if (s.times[i] < w.from || s.times[i] > w.to || !std::isfinite(s.values[i])) continue;
      ++n;
      double v = s.values[i];
      bool set = bitmask ? (static_cast<uint64_t>(std::max(0.0, v)) & kThrottleMask) != 0 : v != 0;
      if (set) ++on;
    }
    if (n > 0) best = std::max(best.value_or(0), static_cast<double>(on) / n);
  }
  return best;
}

struct MemoryPeak {
  double fraction = 0;
  double used = 0;
  double total = 0;
  std::string gpu;
};

std::optional<MemoryPeak> PeakMemory(const RunSeries& run, TimeWindow w) {
  std::optional<MemoryPeak> best;
  for (const SeriesData* used : run.FindAll("sys/gpu/memory_used_bytes")) {
    std::string gpu(used->Label("gpu"));
    const SeriesData* total = run.FindLabeled("sys/gpu/memory_total_bytes", "gpu", gpu);
    if (total == nullptr) total = run.Find("sys/gpu/memory_total_bytes");
    if (total == nullptr) continue;
    auto limit = LastValue(*total);
    auto peak = MaxIn(*used, w.from, w.to, true);
    if (!peak) peak = MaxIn(*used, INT64_MIN, INT64_MAX, true);
    if (!limit || !peak || *limit <= 0) continue;
    MemoryPeak m{*peak / *limit, *peak, *limit, gpu};
    if (!best || m.fraction > best->fraction) best = m;
  }
  return best;
}

// The time window of the step window: from the time of its first step.
TimeWindow ToTimeWindow(const RunSeries& run, int64_t from_step) {
  TimeWindow w;
  for (const SeriesData& s : run.all()) {
    if (s.metric.rfind("sys/", 0) == 0) continue;
    for (size_t i = 0; i < s.size(); ++i) {
      if (s.steps[i] >= from_step) {
        w.from = w.from == INT64_MIN ? s.times[i] : std::min(w.from, s.times[i]);
        break;
      }
    }
  }
  return w;
}

// --- Health --------------------------------------------------------------

struct Windowed {
  std::optional<double> now, change;
};

Windowed WindowChange(const SeriesData* s, int64_t from, int64_t to) {
  Windowed out;
  if (s == nullptr) return out;
  out.now = MedianIn(*s, from, to, false);
  int64_t len = to - from + 1;
  auto earlier = MedianIn(*s, from - len, from - 1, false);
  if (out.now && earlier && *earlier != 0) out.change = *out.now / *earlier - 1;
  return out;
}

// Steps since the loss entered (and stayed in) the band of plateau_tolerance
// around its recent level, judged on bin medians.
std::optional<int64_t> FlatSteps(const SeriesData& s, double level, double tolerance) {
  if (s.size() < 20) return std::nullopt;
  const int64_t first = s.steps.front(), last = s.steps.back();
  if (last <= first) return std::nullopt;
  const int bins = static_cast<int>(std::min<size_t>(100, s.size() / 5));
  std::vector<std::vector<double>> v(static_cast<size_t>(bins));
  const double width = static_cast<double>(last - first + 1) / bins;
  for (size_t i = 0; i < s.size(); ++i) {
    if (!std::isfinite(s.values[i])) continue;
    auto b = static_cast<size_t>(static_cast<double>(s.steps[i] - first) / width);
    v[std::min(b, v.size() - 1)].push_back(s.values[i]);
  }
  const double band = tolerance * std::abs(level) + 1e-12;
  int k = bins;
  while (k > 0) {
    const auto& bin = v[static_cast<size_t>(k - 1)];
    if (!bin.empty() && std::abs(Median(bin) - level) > band) break;
    --k;
  }
  if (k >= bins) return 0;
  return last - (first + static_cast<int64_t>(std::ceil(k * width)));
}

Health ComputeHealth(const DiagnosisInput& in, const DiagnosisThresholds& t,
                     const BreakdownOptions& wo) {
  Health h;
  const RunSeries& run = in.series;
  const SeriesData* loss = run.Find(in.loss_metric);
  const SeriesData* ref = loss;
  if (ref == nullptr || ref->size() == 0) ref = run.Find("train/grad_norm");
  if (ref == nullptr || ref->size() == 0) return h;
  auto [from, to] = RecentWindow(ref->steps.front(), ref->steps.back(), wo);
  h.window_from = from;
  h.window_to = to;
  Windowed l = WindowChange(loss, from, to);
  h.loss_now = l.now;
  h.loss_change = l.change;
  Windowed d = WindowChange(run.Find("train/loss_dispersion"), from, to);
  h.dispersion_now = d.now;
  h.dispersion_change = d.change;
  const SeriesData* g = run.Find("train/grad_norm");
  const SeriesData* p = run.Find("train/param_norm");
  if (g && p) {
    std::map<int64_t, double> pn;
    for (size_t i = 0; i < p->size(); ++i) {
      if (p->steps[i] >= from && p->steps[i] <= to) pn[p->steps[i]] = p->values[i];
    }
    std::vector<double> ratios;
    for (size_t i = 0; i < g->size(); ++i) {
      auto it = pn.find(g->steps[i]);
      if (it != pn.end() && it->second > 0 && std::isfinite(g->values[i])) {
        ratios.push_back(g->values[i] / it->second);
      }
    }
    if (!ratios.empty()) h.grad_param_ratio = Median(std::move(ratios));
  }
  std::set<int64_t> window_steps;
  for (size_t i = 0; i < ref->size(); ++i) {
    if (ref->steps[i] >= from && ref->steps[i] <= to) window_steps.insert(ref->steps[i]);
  }
  if (!window_steps.empty()) {
    std::set<int64_t> alerted;
    for (int64_t s : in.alert_steps) {
      if (s >= from && s <= to) alerted.insert(s);
    }
    h.alert_fraction = static_cast<double>(alerted.size()) / window_steps.size();
  }
  if (const SeriesData* lr = run.Find("train/lr")) {
    h.lr_now = LastValue(*lr);
    h.lr_peak = MaxIn(*lr, INT64_MIN, INT64_MAX, false);
  }
  if (loss && h.loss_now) h.flat_steps = FlatSteps(*loss, *h.loss_now, t.plateau_tolerance);
  return h;
}

// --- Classification and suggestions -----------------------------------------

class Builder {
 public:
  Builder(const DiagnosisInput& in, const DiagnosisThresholds& t, Diagnosis* d)
      : in_(in), t_(t), d_(d) {}

  void Evidence(std::string name, double value, std::string unit, std::string text) {
    d_->evidence.push_back({std::move(name), value, std::move(unit), std::move(text)});
  }
  void Suggest(std::string kind, double priority, std::string text,
               std::vector<std::pair<std::string, double>> numbers) {
    d_->suggestions.push_back({std::move(kind), priority, std::move(text), std::move(numbers)});
  }
  void Run();

 private:
  void Classify();
  void TrainingSuggestions();
  void MemorySuggestions();
  void AllocatorEvidence();
  std::string FragmentationClause(const AllocatorStats& a) const;

  const DiagnosisInput& in_;
  const DiagnosisThresholds& t_;
  Diagnosis* d_;
  std::optional<double> gpu_, cpu_, throttle_, power_;
  std::optional<MemoryPeak> mem_;
  bool oom_soon_ = false;
  // The device with the most allocator retries when they pass the churn
  // rule, and the most fragmented one when it passes its rule.
  const AllocatorStats* churn_ = nullptr;
  const AllocatorStats* fragmented_ = nullptr;
};

std::string Device(const AllocatorStats& a) {
  return a.device.empty() ? "" : ", GPU " + a.device;
}

void Builder::AllocatorEvidence() {
  for (const AllocatorStats& a : d_->allocator) {
    if (a.retries) {
      const double rate = *a.retries / static_cast<double>(a.window_steps());
      if (*a.retries >= t_.alloc_retries_min && rate >= t_.alloc_retry_rate &&
          (churn_ == nullptr || *a.retries > *churn_->retries)) {
        churn_ = &a;
      }
    }
    if (a.fragmentation && a.earlier_fragmentation && *a.fragmentation >= t_.fragmentation &&
        *a.fragmentation - *a.earlier_fragmentation >= t_.fragmentation_rise &&
        (fragmented_ == nullptr || *a.fragmentation > *fragmented_->fragmentation)) {
      fragmented_ = &a;
    }
  }
  // Evidence for the device the rules point at, else the one with the most
  // retries (or the most fragmented).
  const AllocatorStats* shown = churn_;
  if (shown == nullptr) {
    for (const AllocatorStats& a : d_->allocator) {
      if (a.retries && (shown == nullptr || *a.retries > *shown->retries)) shown = &a;
    }
  }
  if (shown != nullptr && shown->retries) {
    Evidence("alloc_retries", *shown->retries, "count",
             fmt::format("the CUDA caching allocator retried {:.0f} times over steps {}–{}{}",
                         *shown->retries, Steps(shown->window_from), Steps(shown->window_to),
                         Device(*shown)));
  }
  const AllocatorStats* frag = fragmented_ ? fragmented_ : churn_;
  for (const AllocatorStats& a : d_->allocator) {
    if (frag == nullptr && a.fragmentation) frag = &a;
  }
  if (frag != nullptr && frag->fragmentation && frag->reserved_bytes) {
    Evidence("allocator_fragmentation", *frag->fragmentation, "fraction",
             fmt::format("{} of the reserved CUDA memory ({} GiB) is unused even at the peak of "
                         "allocated memory{}",
                         Pct(*frag->fragmentation), GiB(*frag->reserved_bytes), Device(*frag)));
  }
  const bool any_retries =
      std::any_of(d_->allocator.begin(), d_->allocator.end(),
                  [](const AllocatorStats& a) { return a.retries.has_value(); });
  if (!d_->allocator.empty() && !any_retries) {
    d_->notes.push_back(
        "no cuda/num_alloc_retries series: allocator retries (churn) are not judged");
  }
}

std::string Builder::FragmentationClause(const AllocatorStats& a) const {
  if (!a.fragmentation || !a.reserved_bytes || !a.peak_allocated_bytes) return "";
  return fmt::format(
      "; {} of the {} GiB reserved is unused even at the {} GiB peak{}", Pct(*a.fragmentation),
      GiB(*a.reserved_bytes), GiB(*a.peak_allocated_bytes),
      a.earlier_fragmentation ? fmt::format(" (was {})", Pct(*a.earlier_fragmentation)) : "");
}

void Builder::Run() {
  const RunSeries& run = in_.series;
  TimeWindow tw;
  if (d_->breakdown) tw = ToTimeWindow(run, d_->breakdown->window_from);
  if (d_->breakdown && tw.from == INT64_MIN) tw = {};
  if (!d_->breakdown) {
    // No steps to anchor on: the last fifth of the agent's series.
    int64_t t0 = INT64_MAX, t1 = INT64_MIN;
    for (const SeriesData& s : run.all()) {
      if (s.metric.rfind("sys/", 0) != 0 || s.size() == 0) continue;
      t0 = std::min(t0, s.times.front());
      t1 = std::max(t1, s.times.back());
    }
    if (t0 <= t1) tw.from = t1 - (t1 - t0) / 5;
  }
  gpu_ = MeanAcross(run, "sys/gpu/utilization", tw);
  cpu_ = MeanAcross(run, "sys/cpu/utilization", tw);
  power_ = MeanAcross(run, "sys/gpu/power_watts", tw);
  throttle_ = ThrottleFraction(run, tw);
  mem_ = PeakMemory(run, tw);
  if (const StepBreakdown* b = d_->breakdown ? &*d_->breakdown : nullptr) {
    Evidence("step_seconds", b->step_seconds, "seconds",
             fmt::format("a step takes {} on average over steps {}–{} ({})", Secs(b->step_seconds),
                         Steps(b->window_from), Steps(b->window_to), b->step_source));
    for (const PhaseShare& p : b->phases) {
      if (p.seconds <= 0 && p.phase != "unaccounted") continue;
      Evidence(
          p.phase + "_share", p.share, "fraction",
          fmt::format("{} takes {} of each step ({})", p.phase, Pct(p.share), Secs(p.seconds)));
    }
  } else {
    d_->notes.push_back(
        "no time/<phase> series: log step phases (run.phase(\"data\"), ...) for a step-time "
        "breakdown");
  }
  if (gpu_) {
    Evidence("gpu_utilization", *gpu_, "percent",
             fmt::format("GPU utilisation averages {:.0f}%", *gpu_));
  } else {
    d_->notes.push_back("no sys/gpu/utilization series: GPU metrics come from the vigil agent");
  }
  if (cpu_) {
    Evidence("cpu_utilization", *cpu_, "percent",
             fmt::format("host CPU utilisation averages {:.0f}%", *cpu_));
  }
  if (mem_) {
    Evidence("memory_peak_fraction", mem_->fraction, "fraction",
             fmt::format("peak GPU memory is {} of the GPU's ({} of {} GiB{})", Pct(mem_->fraction),
                         GiB(mem_->used), GiB(mem_->total),
                         mem_->gpu.empty() ? "" : ", GPU " + mem_->gpu));
  }
  if (throttle_) {
    Evidence("throttle_fraction", *throttle_, "fraction",
             fmt::format("clocks throttled (power/thermal) on {} of samples", Pct(*throttle_)));
  }
  if (power_) {
    Evidence("gpu_power_watts", *power_, "watts",
             fmt::format("GPU power averages {:.0f} W", *power_));
  }
  const Forecast& f = d_->forecast;
  if (f.memory && f.memory->seconds_to_limit) {
    double horizon = t_.memory_oom_horizon_s;
    if (f.seconds_remaining) horizon = std::min(horizon, *f.seconds_remaining);
    oom_soon_ = *f.memory->seconds_to_limit < horizon;
    Evidence("seconds_to_oom", *f.memory->seconds_to_limit, "seconds",
             fmt::format("at its current growth GPU memory runs out in {}",
                         Duration(*f.memory->seconds_to_limit)));
  }
  AllocatorEvidence();
  Classify();
  MemorySuggestions();
  TrainingSuggestions();
  std::stable_sort(
      d_->suggestions.begin(), d_->suggestions.end(),
      [](const Suggestion& a, const Suggestion& b) { return a.priority > b.priority; });
}

void Builder::Classify() {
  const StepBreakdown* b = d_->breakdown ? &*d_->breakdown : nullptr;
  const double data = b ? b->Share("data") : 0;
  const double comm = b ? b->Share("comm") : 0;
  const double compute = b ? b->Share("forward") + b->Share("backward") + b->Share("optimizer") : 0;
  std::string gpu_clause =
      gpu_ ? fmt::format(" while GPU utilisation averages {:.0f}%", *gpu_) : "";
  auto workers = [&] {
    return in_.hints.num_workers ? fmt::format(" (now {:.0f})", *in_.hints.num_workers)
                                 : std::string();
  };

  if (throttle_ && *throttle_ >= t_.throttle_fraction) {
    d_->bottleneck = "throttled";
    d_->summary = fmt::format("GPU clocks were throttled for power or heat on {} of samples",
                              Pct(*throttle_));
    Suggest("throttled", 100 + 10 * *throttle_,
            fmt::format("GPU clocks were throttled (power/thermal reasons) on {} of samples{}: "
                        "check cooling, airflow and the power limit (nvidia-smi -q -d "
                        "PERFORMANCE); a throttled GPU runs every step slower",
                        Pct(*throttle_),
                        power_ ? fmt::format(", power averages {:.0f} W", *power_) : ""),
            {{"throttle_fraction", *throttle_}, {"gpu_power_watts", power_.value_or(NAN)}});
    return;
  }
  if ((mem_ && mem_->fraction >= t_.memory_near_limit) || oom_soon_ || churn_) {
    d_->bottleneck = "memory";
    if (mem_ && mem_->fraction >= t_.memory_near_limit) {
      d_->summary = fmt::format("peak GPU memory is {} of the GPU's ({} of {} GiB)",
                                Pct(mem_->fraction), GiB(mem_->used), GiB(mem_->total));
    } else if (churn_) {
      d_->summary = fmt::format(
          "the CUDA caching allocator retried {:.0f} times in the last {} steps{}: allocator "
          "churn",
          *churn_->retries, Steps(churn_->window_steps()), Device(*churn_));
    } else {
      d_->summary = fmt::format("GPU memory grows and runs out in about {}",
                                Duration(*d_->forecast.memory->seconds_to_limit));
    }
    return;  // the memory suggestions follow in MemorySuggestions
  }
  if (cpu_ && *cpu_ >= t_.host_cpu_util &&
      ((gpu_ && *gpu_ < t_.host_gpu_util_below) || (!gpu_ && data >= t_.input_data_share))) {
    d_->bottleneck = "host";
    d_->summary = fmt::format("host CPU utilisation averages {:.0f}%{}", *cpu_, gpu_clause);
    Suggest("host", 100 + *cpu_ / 10,
            fmt::format(
                "host CPU utilisation averages {:.0f}%{}{}: the CPU is the limit — move "
                "decoding and augmentation to the GPU, cache preprocessed samples, or "
                "give the job more cores; more DataLoader workers{} will not help on a "
                "saturated host",
                *cpu_, gpu_clause,
                data > 0 ? fmt::format(" and data loading takes {} of each step", Pct(data)) : "",
                workers()),
            {{"cpu_utilization", *cpu_},
             {"gpu_utilization", gpu_.value_or(NAN)},
             {"data_share", data}});
    return;
  }
  bool input = data >= t_.input_data_share &&
               (gpu_ ? *gpu_ < t_.input_gpu_util_below : data >= t_.input_data_share_no_gpu);
  if (input) {
    d_->bottleneck = "input";
    d_->summary = fmt::format("data loading takes {} of each step{}", Pct(data), gpu_clause);
    std::string pin = in_.hints.pin_memory.value_or(false) ? "" : ", enable pin_memory";
    Suggest("input", 100 + 10 * data,
            fmt::format("data loading takes {} of each step ({} of {}){}: raise DataLoader "
                        "num_workers{}{}, or prefetch batches ahead (prefetch_factor, a faster "
                        "storage or decoded cache)",
                        Pct(data), Secs(b->Seconds("data")), Secs(b->step_seconds), gpu_clause,
                        workers(), pin),
            {{"data_share", data},
             {"data_seconds", b->Seconds("data")},
             {"step_seconds", b->step_seconds},
             {"gpu_utilization", gpu_.value_or(NAN)},
             {"num_workers", in_.hints.num_workers.value_or(NAN)}});
    return;
  }
  if (comm >= t_.comm_share) {
    d_->bottleneck = "communication";
    d_->summary = fmt::format("communication takes {} of each step", Pct(comm));
    Suggest("communication", 100 + 10 * comm,
            fmt::format("communication takes {} of each step ({} of {}){}: overlap the gradient "
                        "all-reduce with backward (DDP bucket_cap_mb), accumulate gradients over "
                        "more micro-batches to communicate less often, or compress gradients "
                        "(bf16, PowerSGD)",
                        Pct(comm), Secs(b->Seconds("comm")), Secs(b->step_seconds), gpu_clause),
            {{"comm_share", comm},
             {"comm_seconds", b->Seconds("comm")},
             {"step_seconds", b->step_seconds},
             {"gpu_utilization", gpu_.value_or(NAN)}});
    return;
  }
  if ((gpu_ && *gpu_ >= t_.compute_gpu_util) ||
      (!gpu_ && b && compute >= t_.compute_share_no_gpu)) {
    d_->bottleneck = "compute";
    d_->summary =
        gpu_ ? fmt::format("the GPU is busy: utilisation averages {:.0f}%", *gpu_)
             : fmt::format("forward, backward and optimizer take {} of each step", Pct(compute));
    Suggest("compute", 30,
            fmt::format("{}{}: the run is compute-bound, which is healthy; mixed precision "
                        "(bf16), torch.compile or fused optimizer kernels raise throughput "
                        "further",
                        gpu_ ? fmt::format("GPU utilisation averages {:.0f}%", *gpu_) : "",
                        b ? fmt::format("{}forward+backward+optimizer take {} of each step",
                                        gpu_ ? " and " : "", Pct(compute))
                          : ""),
            {{"gpu_utilization", gpu_.value_or(NAN)}, {"compute_share", compute}});
    return;
  }
  d_->bottleneck = "none";
  if (!b && !gpu_) {
    d_->summary = "not enough data: no step phases and no GPU metrics";
  } else {
    d_->summary =
        fmt::format("no bottleneck stands out{}{}",
                    b ? fmt::format(": data {} of the step, compute {}, communication {}",
                                    Pct(data), Pct(compute), Pct(comm))
                      : "",
                    gpu_ ? fmt::format("{}GPU utilisation {:.0f}%", b ? ", " : ": ", *gpu_) : "");
  }
}

void Builder::MemorySuggestions() {
  const Forecast& f = d_->forecast;
  if (mem_ && mem_->fraction >= t_.memory_near_limit) {
    Suggest("memory_near_limit", 96,
            fmt::format(
                "peak memory is {} of the GPU's ({} of {} GiB): lower the batch size{}, "
                "enable activation checkpointing or mixed precision before it runs out",
                Pct(mem_->fraction), GiB(mem_->used), GiB(mem_->total),
                in_.hints.batch_size ? fmt::format(" (now {:.0f})", *in_.hints.batch_size) : ""),
            {{"memory_peak_fraction", mem_->fraction},
             {"memory_peak_bytes", mem_->used},
             {"memory_total_bytes", mem_->total}});
  }
  if (churn_) {
    const AllocatorStats& a = *churn_;
    const double per100 = 100 * *a.retries / static_cast<double>(a.window_steps());
    Suggest("allocator_churn", 94,
            fmt::format(
                "the CUDA caching allocator retried {:.0f} times in the last {} steps ({:.1f} per "
                "100 steps{}){}: each retry frees every cached block and synchronises the GPU; "
                "set PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True, lower the batch size{}, "
                "or keep tensor shapes fixed (pad variable-length batches)",
                *a.retries, Steps(a.window_steps()), per100, Device(a), FragmentationClause(a),
                in_.hints.batch_size ? fmt::format(" (now {:.0f})", *in_.hints.batch_size) : ""),
            {{"alloc_retries", *a.retries},
             {"window_steps", static_cast<double>(a.window_steps())},
             {"retries_per_100_steps", per100},
             {"fragmentation", a.fragmentation.value_or(NAN)},
             {"reserved_bytes", a.reserved_bytes.value_or(NAN)}});
  }
  if (fragmented_ && fragmented_ != churn_) {
    const AllocatorStats& a = *fragmented_;
    Suggest("allocator_fragmentation", 65,
            fmt::format("CUDA memory fragments: {} of the {} GiB the allocator reserved is unused "
                        "even at the {} GiB peak of live tensors, up from {}{}; set "
                        "PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True, or keep tensor shapes "
                        "fixed (pad variable-length batches) so freed blocks are reused",
                        Pct(*a.fragmentation), GiB(a.reserved_bytes.value_or(0)),
                        GiB(a.peak_allocated_bytes.value_or(0)), Pct(*a.earlier_fragmentation),
                        Device(a)),
            {{"fragmentation", *a.fragmentation},
             {"earlier_fragmentation", *a.earlier_fragmentation},
             {"reserved_bytes", a.reserved_bytes.value_or(NAN)},
             {"peak_allocated_bytes", a.peak_allocated_bytes.value_or(NAN)}});
  }
  if (f.memory && f.memory->seconds_to_limit) {
    const MemoryForecast& m = *f.memory;
    double per_h = m.slope_bytes_per_s * 3600;
    Suggest("memory_growth", oom_soon_ ? 95 : 50,
            fmt::format(
                "GPU {}memory grows by {} GiB/h (now {} of {} GiB): at this rate it runs "
                "out in {}{}; look for tensors kept across steps (a loss accumulated "
                "without .item(), growing caches)",
                f.memory_gpu.empty() ? "" : f.memory_gpu + " ", GiB(per_h), GiB(m.used_bytes),
                GiB(m.limit_bytes), Duration(*m.seconds_to_limit),
                f.seconds_remaining
                    ? fmt::format(", {} the run's planned end in {}",
                                  *m.seconds_to_limit < *f.seconds_remaining ? "before" : "after",
                                  Duration(*f.seconds_remaining))
                    : ""),
            {{"memory_growth_bytes_per_s", m.slope_bytes_per_s},
             {"memory_used_bytes", m.used_bytes},
             {"memory_total_bytes", m.limit_bytes},
             {"seconds_to_oom", *m.seconds_to_limit}});
  }
  if (mem_ && mem_->fraction > 0 && mem_->fraction < t_.memory_headroom && !oom_soon_ && !churn_) {
    // Activations scale with the batch; weights and optimizer state do not,
    // so the factor is an upper-side estimate kept under 90% of the GPU.
    double factor = 0.9 / mem_->fraction;
    Suggest("memory_headroom", 40,
            fmt::format("peak memory is {} of the GPU's ({} of {} GiB): a batch of about {:.1f}× "
                        "fits{}, which usually raises throughput",
                        Pct(mem_->fraction), GiB(mem_->used), GiB(mem_->total), factor,
                        in_.hints.batch_size
                            ? fmt::format(" (batch_size now {:.0f}, about {:.0f})",
                                          *in_.hints.batch_size, *in_.hints.batch_size * factor)
                            : ""),
            {{"memory_peak_fraction", mem_->fraction},
             {"memory_peak_bytes", mem_->used},
             {"memory_total_bytes", mem_->total},
             {"batch_factor", factor}});
  }
}

void Builder::TrainingSuggestions() {
  const Health& h = d_->health;
  const RunSeries& run = in_.series;
  const SeriesData* loss = run.Find(in_.loss_metric);
  const int64_t span = loss && loss->size() ? loss->steps.back() - loss->steps.front() : 0;
  const std::string lr_text = h.lr_now ? fmt::format(" at lr {:.3g}", *h.lr_now) : std::string();
  if (h.loss_change && *h.loss_change >= t_.loss_rise) {
    Suggest(
        "loss_rising", 90,
        fmt::format("{} rose {} over the last {} steps (median {:.4g} → {:.4g}){}: lower the "
                    "learning rate, or check the data of those steps",
                    in_.loss_metric, Pct(*h.loss_change), Steps(h.window_to - h.window_from + 1),
                    *h.loss_now / (1 + *h.loss_change), *h.loss_now, lr_text),
        {{"loss_change", *h.loss_change},
         {"loss_now", *h.loss_now},
         {"lr", h.lr_now.value_or(NAN)}});
  } else if (h.flat_steps && span > 0 && *h.flat_steps >= t_.plateau_min_steps &&
             static_cast<double>(*h.flat_steps) >= t_.plateau_min_fraction * span) {
    bool decayed =
        h.lr_now && h.lr_peak && *h.lr_peak > 0 && *h.lr_now <= t_.lr_decayed_fraction * *h.lr_peak;
    std::string why =
        decayed ? fmt::format(" after decay from {:.3g}: the schedule may end too low", *h.lr_peak)
                : ": more steps at this learning rate are unlikely to help; decay the learning "
                  "rate, or the model or data may be the limit";
    Suggest("plateau", 60,
            fmt::format("{} is flat (within {} of {:.4g}) for {} steps{}{}", in_.loss_metric,
                        Pct(t_.plateau_tolerance), *h.loss_now, Steps(*h.flat_steps), lr_text, why),
            {{"flat_steps", static_cast<double>(*h.flat_steps)},
             {"loss_now", *h.loss_now},
             {"lr", h.lr_now.value_or(NAN)},
             {"lr_peak", h.lr_peak.value_or(NAN)}});
  }
  const SeriesData* g = run.Find("train/grad_norm");
  if (g && in_.hints.grad_clip && *in_.hints.grad_clip > 0 && h.window_to > h.window_from) {
    size_t n = 0, over = 0;
    std::vector<double> norms;
    for (size_t i = 0; i < g->size(); ++i) {
      if (g->steps[i] < h.window_from || g->steps[i] > h.window_to) continue;
      if (!std::isfinite(g->values[i])) continue;
      ++n;
      norms.push_back(g->values[i]);
      if (g->values[i] > *in_.hints.grad_clip) ++over;
    }
    double frac = n ? static_cast<double>(over) / n : 0;
    if (n >= 10 && frac >= t_.clip_fraction) {
      Suggest("grad_clipping", 70,
              fmt::format("the gradient norm exceeds the clip threshold {:.3g} on {} of the last "
                          "{} steps (median norm {:.3g}){}: the clip threshold may be too tight "
                          "or the learning rate too high",
                          *in_.hints.grad_clip, Pct(frac), Steps(static_cast<int64_t>(n)),
                          Median(norms), lr_text),
              {{"clip_fraction", frac},
               {"grad_clip", *in_.hints.grad_clip},
               {"grad_norm_median", Median(norms)}});
    }
  }
  if (h.dispersion_change && h.loss_change) {
    if (*h.dispersion_change >= t_.dispersion_rise &&
        std::abs(*h.loss_change) < t_.dispersion_flat_loss) {
      Suggest("dispersion_rising", 55,
              fmt::format("loss dispersion P(t) rose {} while the mean loss changed {}: some "
                          "samples get harder as others get easier — look for noisy or "
                          "mislabelled data",
                          Pct(*h.dispersion_change), Pct(*h.loss_change)),
              {{"dispersion_change", *h.dispersion_change}, {"loss_change", *h.loss_change}});
    } else if (*h.dispersion_change <= -0.99) {
      Suggest("dispersion_collapse", 55,
              fmt::format("loss dispersion P(t) fell {} to {:.3g}: every sample gets the same "
                          "loss — the model may be dead (constant output)",
                          Pct(-*h.dispersion_change), h.dispersion_now.value_or(0)),
              {{"dispersion_change", *h.dispersion_change},
               {"dispersion_now", h.dispersion_now.value_or(NAN)}});
    }
  }
}

}  // namespace

Diagnosis Diagnose(const DiagnosisInput& in, const DiagnosisThresholds& t,
                   const BreakdownOptions& wo) {
  Diagnosis d;
  d.breakdown = ComputeStepBreakdown(in.series, wo);
  d.health = ComputeHealth(in, t, wo);
  d.forecast = ComputeForecast(in, t);
  d.allocator = ComputeAllocatorStats(in.series, wo);
  if (!d.forecast.loss && !d.forecast.loss_error.empty()) {
    d.notes.push_back("no loss forecast: " + d.forecast.loss_error);
  }
  Builder(in, t, &d).Run();
  return d;
}

}  // namespace vigil::analysis
