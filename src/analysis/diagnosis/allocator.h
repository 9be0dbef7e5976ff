// CUDA caching-allocator churn, per device, from the series `vigil.torch`
// logs at steps (label `device`):
//   cuda/num_alloc_retries         cumulative count of cudaMalloc calls that
//                                  failed and were retried after the
//                                  allocator freed its whole cache
//                                  (torch.cuda.memory_stats()
//                                  ["num_alloc_retries"]);
//   cuda/memory_reserved_bytes     bytes the allocator holds from the driver;
//   cuda/max_memory_allocated_bytes  the peak of bytes in live tensors.
// A retry synchronises the device and frees and re-maps every cached
// block: a few per hundred steps cost real time and announce an OOM.
// Fragmentation is the part of the reserved memory that even the peak of
// live tensors never used: 1 − peak allocated / reserved; when it grows,
// the cache holds blocks of the wrong sizes (variable shapes). The rules
// that read these numbers are in diagnosis.cc; docs/diagnosis.md has them.
//
// Thread-safety: pure function.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "analysis/diagnosis/run_series.h"
#include "analysis/diagnosis/step_breakdown.h"

namespace vigil::analysis {

struct AllocatorStats {
  std::string device;  // the `device` label ("" when absent)
  // The recent window of the device's series, in steps (RecentWindow).
  int64_t window_from = 0;
  int64_t window_to = 0;
  // Retries within the window (counter increments; a drop of the counter is
  // a restart, after which its value counts); nullopt without the series.
  std::optional<double> retries;
  // Window medians of 1 − peak allocated / reserved (at least 0), now and
  // over the window before; nullopt without both series or points there.
  std::optional<double> fragmentation;
  std::optional<double> earlier_fragmentation;
  std::optional<double> reserved_bytes;        // window median
  std::optional<double> peak_allocated_bytes;  // last value

  int64_t window_steps() const { return window_to - window_from + 1; }
};

// One entry per device that has any of the three series, in label order.
std::vector<AllocatorStats> ComputeAllocatorStats(const RunSeries& run,
                                                  const BreakdownOptions& window = {});

}  // namespace vigil::analysis
