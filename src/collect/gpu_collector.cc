#include "collect/gpu_collector.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <utility>

#include <fmt/format.h>

namespace vigil::collect {
namespace {

// The clock event (throttle) reasons, each a 0/1 series
// sys/gpu/throttle{reason=...}; names follow nvidia-smi's
// clocks_event_reasons.* fields.
constexpr std::array<std::pair<unsigned long long, const char*>, 9> kReasons{{
    {nvml::kReasonGpuIdle, "gpu_idle"},
    {nvml::kReasonApplicationsClocksSetting, "applications_clocks_setting"},
    {nvml::kReasonSwPowerCap, "sw_power_cap"},
    {nvml::kReasonHwSlowdown, "hw_slowdown"},
    {nvml::kReasonSyncBoost, "sync_boost"},
    {nvml::kReasonSwThermalSlowdown, "sw_thermal_slowdown"},
    {nvml::kReasonHwThermalSlowdown, "hw_thermal_slowdown"},
    {nvml::kReasonHwPowerBrakeSlowdown, "hw_power_brake_slowdown"},
    {nvml::kReasonDisplayClockSetting, "display_clock_setting"},
}};

std::string CString(const char* buf, size_t n) {
  return std::string(buf, strnlen(buf, n));
}

}  // namespace

Result<std::unique_ptr<GpuCollector>> GpuCollector::Open() {
  VIGIL_ASSIGN_OR_RETURN(auto lib, NvmlLibrary::Load());
  return Open(std::move(lib));
}

Result<std::unique_ptr<GpuCollector>> GpuCollector::Open(std::unique_ptr<NvmlLibrary> lib) {
  std::unique_ptr<GpuCollector> c(new GpuCollector(std::move(lib)));
  const NvmlFunctions& f = c->lib_->fn();
  if (f.driver_version) {
    char buf[96] = {};
    if (f.driver_version(buf, sizeof(buf)) == nvml::kSuccess) {
      c->driver_version_ = CString(buf, sizeof(buf));
    }
  }
  unsigned count = 0;
  nvml::Return r = f.device_count(&count);
  if (r != nvml::kSuccess) {
    return Status::Unavailable(fmt::format("no NVIDIA GPU/driver found (nvmlDeviceGetCount: {})",
                                           c->lib_->ErrorString(r)));
  }
  if (f.event_set_create && f.register_events && f.event_set_wait &&
      f.event_set_create(&c->events_) != nvml::kSuccess) {
    c->events_ = nullptr;
  }
  for (unsigned i = 0; i < count; ++i) {
    Gpu g;
    g.index = i;
    if (f.handle_by_index(i, &g.handle) != nvml::kSuccess) {
      g.lost = true;  // reported as lost on the first round
    } else {
      char buf[96] = {};
      if (f.uuid && f.uuid(g.handle, buf, sizeof(buf)) == nvml::kSuccess) {
        g.uuid = CString(buf, sizeof(buf));
      }
      char name[96] = {};
      if (f.name && f.name(g.handle, name, sizeof(name)) == nvml::kSuccess) {
        g.name = CString(name, sizeof(name));
      }
      if (c->events_) {
        // NOT_SUPPORTED on GPUs without XID events: they simply report none.
        f.register_events(g.handle, nvml::kEventTypeXidCriticalError, c->events_);
      }
    }
    if (g.uuid.empty()) g.uuid = fmt::format("unknown-{}", i);
    c->gpus_.push_back(std::move(g));
  }
  return c;
}

std::vector<std::pair<std::string, std::string>> GpuCollector::Info() const {
  std::vector<std::pair<std::string, std::string>> info;
  if (!driver_version_.empty()) info.emplace_back("nvml/driver_version", driver_version_);
  for (const Gpu& g : gpus_) {
    info.emplace_back(fmt::format("gpu/{}/name", g.index), g.name);
    info.emplace_back(fmt::format("gpu/{}/uuid", g.index), g.uuid);
  }
  return info;
}

GpuCollector::~GpuCollector() {
  if (events_ && lib_->fn().event_set_free) lib_->fn().event_set_free(events_);
}

void GpuCollector::MarkUnsupported(Gpu& gpu, const char* field, const std::string& why,
                                   SampleSet* out) {
  if (!gpu.unsupported.insert(field).second) return;
  out->notices.push_back(
      fmt::format("GPU {} ({}): {} is not supported ({})", gpu.index, gpu.uuid, field, why));
  out->Add("sys/gpu/unsupported",
           {{"gpu", std::to_string(gpu.index)}, {"uuid", gpu.uuid}, {"field", field}}, 1);
}

bool GpuCollector::Wanted(Gpu& gpu, const char* field, const void* fn, SampleSet* out) {
  if (gpu.lost || gpu.unsupported.count(field)) return false;
  if (!fn) {
    MarkUnsupported(gpu, field, "this NVML library lacks the entry point", out);
    return false;
  }
  return true;
}

bool GpuCollector::Check(Gpu& gpu, const char* field, nvml::Return r, SampleSet* out) {
  if (r == nvml::kSuccess) return true;
  if (r == nvml::kErrorNotSupported || r == nvml::kErrorNoPermission ||
      r == nvml::kErrorFunctionNotFound) {
    MarkUnsupported(gpu, field, lib_->ErrorString(r), out);
  } else if (r == nvml::kErrorGpuIsLost) {
    if (!gpu.lost) {
      gpu.lost = true;
      out->notices.push_back(
          fmt::format("GPU {} ({}) is lost ({}); the other GPUs keep being sampled", gpu.index,
                      gpu.uuid, lib_->ErrorString(r)));
    }
  } else if (gpu.reported_errors.insert(fmt::format("{}/{}", field, r)).second) {
    out->notices.push_back(fmt::format("GPU {} ({}): reading {} failed: {}", gpu.index, gpu.uuid,
                                       field, lib_->ErrorString(r)));
  }
  return false;
}

void GpuCollector::Collect(int64_t now_ns, const std::vector<int>* tree, SampleSet* out) {
  PollEvents(out);
  bool any_used = false;
  for (const Gpu& g : gpus_) any_used = any_used || g.used_by_tree;
  double tree_gpu_memory = 0;
  for (Gpu& g : gpus_) {
    // Attribution decided from the previous rounds; a GPU first used now is
    // included from the next round on.
    bool emit = tree == nullptr || !any_used || g.used_by_tree;
    CollectGpu(g, now_ns, tree, emit, &tree_gpu_memory, out);
  }
  if (tree) out->Add("sys/proc/gpu_memory_bytes", {}, tree_gpu_memory);
  rates_.Sweep();
}

void GpuCollector::CollectGpu(Gpu& g, int64_t now_ns, const std::vector<int>* tree, bool emit,
                              double* tree_gpu_memory, SampleSet* out) {
  const NvmlFunctions& f = lib_->fn();
  const std::string idx = std::to_string(g.index);
  auto add = [&](const char* metric, double v) {
    if (emit) out->Add(metric, {{"gpu", idx}, {"uuid", g.uuid}}, v);
  };
  if (g.lost) {
    if (emit) add("sys/gpu/lost", 1);
    return;
  }
  // Processes first: they decide attribution for the next round.
  if (Wanted(g, "processes", reinterpret_cast<const void*>(f.compute_processes), out)) {
    unsigned n = 64;
    std::vector<nvml::ProcessInfoV2> v2;
    std::vector<nvml::ProcessInfoV1> v1;
    nvml::Return r;
    for (int attempt = 0;; ++attempt) {
      unsigned cap = n;
      if (f.compute_processes_version >= 2) {
        v2.resize(cap);
        r = f.compute_processes(g.handle, &n, v2.data());
      } else {
        v1.resize(cap);
        r = f.compute_processes(g.handle, &n, v1.data());
      }
      if (r != nvml::kErrorInsufficientSize || attempt == 2) break;
      n += 16;  // processes started between the calls
    }
    if (Check(g, "processes", r, out)) {
      for (unsigned i = 0; i < n; ++i) {
        unsigned pid = f.compute_processes_version >= 2 ? v2[i].pid : v1[i].pid;
        unsigned long long mem =
            f.compute_processes_version >= 2 ? v2[i].usedGpuMemory : v1[i].usedGpuMemory;
        // NVML_VALUE_NOT_AVAILABLE (all ones) under some virtualisation.
        double bytes = mem == ~0ull ? 0.0 : static_cast<double>(mem);
        bool in_tree =
            tree && std::find(tree->begin(), tree->end(), static_cast<int>(pid)) != tree->end();
        if (in_tree) {
          g.used_by_tree = true;
          *tree_gpu_memory += bytes;
        }
        if (emit && (tree == nullptr || in_tree)) {
          out->Add("sys/gpu/process_memory_bytes",
                   {{"gpu", idx}, {"uuid", g.uuid}, {"pid", std::to_string(pid)}}, bytes);
        }
      }
    }
  }
  if (g.lost) {
    add("sys/gpu/lost", 1);
    return;
  }
  if (!emit) return;
  add("sys/gpu/lost", 0);

  if (Wanted(g, "utilization", reinterpret_cast<const void*>(f.utilization), out)) {
    nvml::Utilization u{};
    if (Check(g, "utilization", f.utilization(g.handle, &u), out)) {
      add("sys/gpu/utilization", u.gpu);
      add("sys/gpu/memory_utilization", u.memory);
    }
  }
  if (Wanted(g, "memory", reinterpret_cast<const void*>(f.memory_info), out)) {
    nvml::Memory m{};
    if (Check(g, "memory", f.memory_info(g.handle, &m), out)) {
      add("sys/gpu/memory_used_bytes", static_cast<double>(m.used));
      add("sys/gpu/memory_free_bytes", static_cast<double>(m.free));
      add("sys/gpu/memory_total_bytes", static_cast<double>(m.total));
    }
  }
  unsigned u32 = 0;
  unsigned long long u64 = 0;
  if (Wanted(g, "power", reinterpret_cast<const void*>(f.power_usage), out) &&
      Check(g, "power", f.power_usage(g.handle, &u32), out)) {
    add("sys/gpu/power_watts", u32 / 1000.0);
  }
  if (Wanted(g, "power_limit", reinterpret_cast<const void*>(f.enforced_power_limit), out) &&
      Check(g, "power_limit", f.enforced_power_limit(g.handle, &u32), out)) {
    add("sys/gpu/power_limit_watts", u32 / 1000.0);
  }
  if (Wanted(g, "energy", reinterpret_cast<const void*>(f.total_energy), out) &&
      Check(g, "energy", f.total_energy(g.handle, &u64), out)) {
    add("sys/gpu/energy_joules", static_cast<double>(u64) / 1000.0);
  }
  if (Wanted(g, "temperature", reinterpret_cast<const void*>(f.temperature), out) &&
      Check(g, "temperature", f.temperature(g.handle, nvml::kTemperatureGpu, &u32), out)) {
    add("sys/gpu/temperature_celsius", u32);
  }
  if (Wanted(g, "sm_clock", reinterpret_cast<const void*>(f.clock_info), out) &&
      Check(g, "sm_clock", f.clock_info(g.handle, nvml::kClockSm, &u32), out)) {
    add("sys/gpu/sm_clock_mhz", u32);
  }
  if (Wanted(g, "memory_clock", reinterpret_cast<const void*>(f.clock_info), out) &&
      Check(g, "memory_clock", f.clock_info(g.handle, nvml::kClockMem, &u32), out)) {
    add("sys/gpu/memory_clock_mhz", u32);
  }
  if (Wanted(g, "clock_event_reasons", reinterpret_cast<const void*>(f.clock_event_reasons), out) &&
      Check(g, "clock_event_reasons", f.clock_event_reasons(g.handle, &u64), out)) {
    add("sys/gpu/clock_event_reasons", static_cast<double>(u64));
    for (const auto& [bit, reason] : kReasons) {
      out->Add("sys/gpu/throttle", {{"gpu", idx}, {"uuid", g.uuid}, {"reason", reason}},
               (u64 & bit) ? 1 : 0);
    }
  }
  if (Wanted(g, "pcie_throughput", reinterpret_cast<const void*>(f.pcie_throughput), out)) {
    unsigned tx = 0, rx = 0;
    if (Check(g, "pcie_throughput", f.pcie_throughput(g.handle, nvml::kPcieTxBytes, &tx), out) &&
        Check(g, "pcie_throughput", f.pcie_throughput(g.handle, nvml::kPcieRxBytes, &rx), out)) {
      add("sys/gpu/pcie_tx_bytes_per_sec", tx * 1024.0);  // NVML reports KB/s
      add("sys/gpu/pcie_rx_bytes_per_sec", rx * 1024.0);
    }
  }
  if (Wanted(g, "ecc", reinterpret_cast<const void*>(f.total_ecc_errors), out)) {
    unsigned long long c = 0, u = 0;
    if (Check(g, "ecc",
              f.total_ecc_errors(g.handle, nvml::kMemoryErrorCorrected, nvml::kVolatileEcc, &c),
              out) &&
        Check(g, "ecc",
              f.total_ecc_errors(g.handle, nvml::kMemoryErrorUncorrected, nvml::kVolatileEcc, &u),
              out)) {
      add("sys/gpu/ecc_corrected_errors", static_cast<double>(c));
      add("sys/gpu/ecc_uncorrected_errors", static_cast<double>(u));
    }
  }
  if (Wanted(g, "remapped_rows", reinterpret_cast<const void*>(f.remapped_rows), out)) {
    unsigned corr = 0, unc = 0, pending = 0, failure = 0;
    if (Check(g, "remapped_rows", f.remapped_rows(g.handle, &corr, &unc, &pending, &failure),
              out)) {
      add("sys/gpu/remapped_rows_corrected", corr);
      add("sys/gpu/remapped_rows_uncorrected", unc);
      add("sys/gpu/remapped_rows_pending", pending);
      add("sys/gpu/remapped_rows_failure", failure);
    }
  }
  // Field values: memory temperature and NVLink throughput (KiB counters).
  const bool want_memtemp =
      Wanted(g, "memory_temperature", reinterpret_cast<const void*>(f.field_values), out);
  const bool want_nvlink = Wanted(g, "nvlink", reinterpret_cast<const void*>(f.field_values), out);
  if (want_memtemp || want_nvlink) {
    nvml::FieldValue fv[3] = {};
    fv[0].fieldId = nvml::kFieldMemoryTemp;
    fv[1].fieldId = nvml::kFieldNvlinkThroughputTx;
    fv[2].fieldId = nvml::kFieldNvlinkThroughputRx;
    nvml::Return r = f.field_values(g.handle, 3, fv);
    if (Check(g, want_memtemp ? "memory_temperature" : "nvlink", r, out)) {
      auto as_u64 = [](const nvml::FieldValue& v) -> uint64_t {
        switch (v.valueType) {
          case nvml::kValueTypeDouble:
            return static_cast<uint64_t>(v.value.dVal);
          case nvml::kValueTypeUnsignedInt:
            return v.value.uiVal;
          case nvml::kValueTypeUnsignedLong:
            return v.value.ulVal;
          case nvml::kValueTypeSignedLongLong:
            return v.value.sllVal < 0 ? 0 : static_cast<uint64_t>(v.value.sllVal);
          default:
            return v.value.ullVal;
        }
      };
      if (want_memtemp && Check(g, "memory_temperature", fv[0].nvmlReturn, out)) {
        add("sys/gpu/memory_temperature_celsius", static_cast<double>(as_u64(fv[0])));
      }
      // A GPU without NVLink answers NOT_SUPPORTED for these fields.
      if (want_nvlink && Check(g, "nvlink", fv[1].nvmlReturn, out) &&
          Check(g, "nvlink", fv[2].nvmlReturn, out)) {
        if (auto tx = rates_.Update(fmt::format("nvtx/{}", g.index), as_u64(fv[1]), now_ns)) {
          add("sys/gpu/nvlink_tx_bytes_per_sec", *tx * 1024.0);
        }
        if (auto rx = rates_.Update(fmt::format("nvrx/{}", g.index), as_u64(fv[2]), now_ns)) {
          add("sys/gpu/nvlink_rx_bytes_per_sec", *rx * 1024.0);
        }
      }
    }
  }
  if (g.lost) return;  // lost during this round: no xid count on a half-read GPU
  add("sys/gpu/xid_errors", static_cast<double>(g.xid_count));
}

void GpuCollector::PollEvents(SampleSet* out) {
  if (!events_) return;
  const NvmlFunctions& f = lib_->fn();
  for (int i = 0; i < 1024; ++i) {  // bounded: a storm of events cannot stall a round
    nvml::EventData e{};
    if (f.event_set_wait(events_, &e, 0) != nvml::kSuccess) return;  // TIMEOUT: none left
    if (!(e.eventType & nvml::kEventTypeXidCriticalError)) continue;
    for (Gpu& g : gpus_) {
      if (g.handle != e.device) continue;
      ++g.xid_count;
      out->notices.push_back(
          fmt::format("GPU {} ({}): XID {} error", g.index, g.uuid, e.eventData));
      out->Add("sys/gpu/xid", {{"gpu", std::to_string(g.index)}, {"uuid", g.uuid}},
               static_cast<double>(e.eventData));
      break;
    }
  }
}

}  // namespace vigil::collect
