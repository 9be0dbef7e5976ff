// GpuCollector: every NVIDIA GPU's state through NVML (nvml_library.h), as
// `sys/gpu/...` samples labelled {gpu: index, uuid}. docs/monitoring.md
// lists each series with its unit and NVML call.
//
// Failure handling, per GPU and per field:
//   - a field the GPU or driver does not support (NVML_ERROR_NOT_SUPPORTED,
//     NO_PERMISSION, or an entry point this driver lacks) is reported once:
//     a notice, and one sample of sys/gpu/unsupported{gpu,uuid,field} = 1;
//     it is not read again;
//   - NVML_ERROR_GPU_IS_LOST marks the GPU lost: a notice once,
//     sys/gpu/lost = 1 from then on, no further calls on it; the other
//     GPUs keep being sampled;
//   - any other error skips the value this round, with one notice per
//     (field, error code).
// XID critical errors arrive through an NVML event set polled (without
// waiting) each round: sys/gpu/xid = the XID code at the time it was seen,
// sys/gpu/xid_errors = how many this agent has seen, and a notice.
//
// Thread-safety: none; one thread collects.
#pragma once

#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "collect/counter_rate.h"
#include "collect/nvml_library.h"
#include "collect/sample.h"

namespace vigil::collect {

class GpuCollector {
 public:
  // NotFound (no driver) or Unavailable (NVML would not start) carry the
  // one-line "no NVIDIA GPU/driver found (...)" message.
  static Result<std::unique_ptr<GpuCollector>> Open();
  static Result<std::unique_ptr<GpuCollector>> Open(std::unique_ptr<NvmlLibrary> lib);
  ~GpuCollector();
  GpuCollector(const GpuCollector&) = delete;
  GpuCollector& operator=(const GpuCollector&) = delete;

  size_t gpu_count() const { return gpus_.size(); }
  const std::string& driver_version() const { return driver_version_; }
  // ("gpu/<index>/name", "NVIDIA H100 80GB HBM3"), ("gpu/<index>/uuid", ...)
  // and ("nvml/driver_version", ...): facts for the run's or host's info.
  std::vector<std::pair<std::string, std::string>> Info() const;

  // One round. With `tree` (sidecar mode: the pids of the watched process
  // tree), per-process memory is limited to those pids and GPU series to
  // the GPUs the tree has used so far (all GPUs until it has been seen on
  // one: pids may be invisible to NVML inside a container); the tree's
  // total is sys/proc/gpu_memory_bytes. Without `tree`, every GPU and
  // every process.
  void Collect(int64_t now_ns, const std::vector<int>* tree, SampleSet* out);

 private:
  struct Gpu {
    unsigned index = 0;
    nvml::Device handle = nullptr;
    std::string uuid, name;
    bool lost = false;
    bool used_by_tree = false;
    std::set<std::string> unsupported;      // fields not read again
    std::set<std::string> reported_errors;  // "field/code" already noticed
    uint64_t xid_count = 0;
  };
  explicit GpuCollector(std::unique_ptr<NvmlLibrary> lib) : lib_(std::move(lib)) {}
  // True if the call succeeded; otherwise handles the error per the rules above.
  bool Check(Gpu& gpu, const char* field, nvml::Return r, SampleSet* out);
  // False (and reports once) when the entry point is missing or the field
  // is known unsupported.
  bool Wanted(Gpu& gpu, const char* field, const void* fn, SampleSet* out);
  void MarkUnsupported(Gpu& gpu, const char* field, const std::string& why, SampleSet* out);
  void CollectGpu(Gpu& gpu, int64_t now_ns, const std::vector<int>* tree, bool emit,
                  double* tree_gpu_memory, SampleSet* out);
  void PollEvents(SampleSet* out);

  std::unique_ptr<NvmlLibrary> lib_;
  std::vector<Gpu> gpus_;
  std::string driver_version_;
  nvml::EventSet events_ = nullptr;
  CounterRate rates_;
};

}  // namespace vigil::collect
