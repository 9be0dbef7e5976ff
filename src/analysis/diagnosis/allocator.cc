#include "analysis/diagnosis/allocator.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

namespace vigil::analysis {
namespace {

constexpr const char* kRetries = "cuda/num_alloc_retries";
constexpr const char* kReserved = "cuda/memory_reserved_bytes";
constexpr const char* kPeak = "cuda/max_memory_allocated_bytes";

const SeriesData* ForDevice(const RunSeries& run, const char* metric, const std::string& device) {
  for (const SeriesData* s : run.FindAll(metric)) {
    if (s->Label("device") == device) return s;
  }
  return nullptr;
}

// Counter increments at steps in [from, to], the first one measured from
// the last point before `from` (so the window counts what happened in it).
// A value below its predecessor is a restart of the counter: the new value
// is what accumulated since.
std::optional<double> IncreaseIn(const SeriesData& s, int64_t from, int64_t to) {
  std::optional<double> prev, total;
  for (size_t i = 0; i < s.size(); ++i) {
    const double v = s.values[i];
    if (!std::isfinite(v) || s.steps[i] > to) continue;
    if (s.steps[i] >= from) {
      double inc = !prev ? 0 : v >= *prev ? v - *prev : v;
      total = total.value_or(0) + inc;
    }
    prev = v;
  }
  return total;
}

// Median over steps in [from, to] of 1 − peak / reserved, matched by step.
std::optional<double> FragmentationIn(const SeriesData& reserved, const SeriesData& peak,
                                      int64_t from, int64_t to) {
  std::map<int64_t, double> pk;
  for (size_t i = 0; i < peak.size(); ++i) {
    if (peak.steps[i] >= from && peak.steps[i] <= to && std::isfinite(peak.values[i])) {
      pk[peak.steps[i]] = peak.values[i];
    }
  }
  std::vector<double> f;
  for (size_t i = 0; i < reserved.size(); ++i) {
    auto it = pk.find(reserved.steps[i]);
    const double r = reserved.values[i];
    if (it == pk.end() || !(r > 0) || !std::isfinite(r)) continue;
    f.push_back(std::max(0.0, 1 - it->second / r));
  }
  if (f.empty()) return std::nullopt;
  return Median(std::move(f));
}

}  // namespace

std::vector<AllocatorStats> ComputeAllocatorStats(const RunSeries& run,
                                                  const BreakdownOptions& wo) {
  std::set<std::string> devices;
  for (const char* m : {kRetries, kReserved, kPeak}) {
    for (const SeriesData* s : run.FindAll(m)) {
      if (s->size() > 0) devices.insert(std::string(s->Label("device")));
    }
  }
  std::vector<AllocatorStats> out;
  for (const std::string& device : devices) {
    const SeriesData* retries = ForDevice(run, kRetries, device);
    const SeriesData* reserved = ForDevice(run, kReserved, device);
    const SeriesData* peak = ForDevice(run, kPeak, device);
    // The window over the steps of whichever series the device has.
    int64_t first = INT64_MAX, last = INT64_MIN;
    for (const SeriesData* s : {retries, reserved, peak}) {
      if (s == nullptr || s->size() == 0) continue;
      first = std::min(first, s->steps.front());
      last = std::max(last, s->steps.back());
    }
    if (first > last) continue;
    AllocatorStats a;
    a.device = device;
    std::tie(a.window_from, a.window_to) = RecentWindow(first, last, wo);
    const int64_t len = a.window_to - a.window_from + 1;
    if (retries != nullptr) a.retries = IncreaseIn(*retries, a.window_from, a.window_to);
    if (reserved != nullptr && peak != nullptr) {
      a.fragmentation = FragmentationIn(*reserved, *peak, a.window_from, a.window_to);
      if (a.window_from > first) {
        a.earlier_fragmentation =
            FragmentationIn(*reserved, *peak, a.window_from - len, a.window_from - 1);
      }
    }
    if (reserved != nullptr)
      a.reserved_bytes = MedianIn(*reserved, a.window_from, a.window_to, false);
    if (peak != nullptr) a.peak_allocated_bytes = LastValue(*peak);
    out.push_back(std::move(a));
  }
  return out;
}

}  // namespace vigil::analysis
