// HostCollector and ProcessTreeCollector: procfs snapshots turned into
// `sys/...` samples. Utilisation and rates need two readings, so the first
// Collect() after construction yields gauges only (memory, load, RSS, ...).
//
// Host series (docs/monitoring.md lists units and sources):
//   sys/cpu/utilization                 %, all CPUs
//   sys/cpu/core_utilization{cpu}       %, per core
//   sys/load/1, sys/load/5, sys/load/15
//   sys/mem/total_bytes, sys/mem/used_bytes, sys/mem/available_bytes
//   sys/swap/total_bytes, sys/swap/used_bytes
//   sys/disk/read_bytes_per_sec{device}, sys/disk/write_bytes_per_sec{device}
//   sys/net/rx_bytes_per_sec{interface}, sys/net/tx_bytes_per_sec{interface}
// Process tree series (the root pid and all its descendants, summed):
//   sys/proc/cpu_percent (100 = one core busy), sys/proc/rss_bytes,
//   sys/proc/threads, sys/proc/open_files, sys/proc/count,
//   sys/proc/read_bytes_per_sec, sys/proc/write_bytes_per_sec
//
// Thread-safety: none; one thread collects.
#pragma once

#include <cstdint>
#include <map>
#include <vector>

#include "collect/counter_rate.h"
#include "collect/procfs.h"
#include "collect/sample.h"

namespace vigil::collect {

class HostCollector {
 public:
  explicit HostCollector(ProcFs fs = ProcFs()) : fs_(std::move(fs)) {}
  // Appends this round's samples; `now_ns` is a monotonic time.
  Status Collect(int64_t now_ns, SampleSet* out);

 private:
  ProcFs fs_;
  std::vector<CpuTimes> last_cpus_;
  CounterRate rates_;
};

class ProcessTreeCollector {
 public:
  ProcessTreeCollector(int root_pid, ProcFs fs = ProcFs());
  // NotFound once the root process has exited.
  Status Collect(int64_t now_ns, SampleSet* out);
  // The pids of the tree at the last Collect (for GPU attribution).
  const std::vector<int>& pids() const { return pids_; }

 private:
  int root_;
  ProcFs fs_;
  long ticks_per_second_;
  long page_size_;
  std::vector<int> pids_;
  int64_t last_ns_ = 0;
  // Per process (pid, starttime): its CPU ticks at the previous round. A
  // process that exited between rounds drops out; a new one counts from
  // its first appearance (its earlier ticks happened before we watched).
  std::map<std::pair<int, uint64_t>, uint64_t> last_ticks_;
  CounterRate io_rates_;
};

}  // namespace vigil::collect
