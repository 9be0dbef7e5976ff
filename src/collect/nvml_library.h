// NvmlLibrary: libnvidia-ml loaded at run time with dlopen, its entry points
// resolved with dlsym, newest symbol version first (nvmlInit_v2, then
// nvmlInit; nvmlDeviceGetComputeRunningProcesses_v3, _v2, then the
// unversioned one; nvmlDeviceGetCurrentClocksEventReasons, then the older
// ...ThrottleReasons). vigil links no NVIDIA code: without a driver, Load()
// returns NotFound and the caller carries on with host metrics only.
//
// The path is $VIGIL_NVML_LIBRARY when set, else "libnvidia-ml.so.1" (the
// dynamic loader's search). An entry point that no version of resolves is
// left null; callers treat a null pointer as "not supported by this driver".
//
// Thread-safety: Load() once; the function pointers may then be called from
// any thread (NVML itself is thread-safe). The library stays loaded until
// the object dies (after nvmlShutdown).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "collect/nvml_api.h"
#include "core/result.h"

namespace vigil::collect {

struct NvmlFunctions {
  nvml::InitFn init = nullptr;
  nvml::ShutdownFn shutdown = nullptr;
  nvml::ErrorStringFn error_string = nullptr;
  nvml::SystemGetDriverVersionFn driver_version = nullptr;
  nvml::DeviceGetCountFn device_count = nullptr;
  nvml::DeviceGetHandleByIndexFn handle_by_index = nullptr;
  nvml::DeviceGetStringFn name = nullptr;
  nvml::DeviceGetStringFn uuid = nullptr;
  nvml::DeviceGetUtilizationRatesFn utilization = nullptr;
  nvml::DeviceGetMemoryInfoFn memory_info = nullptr;
  nvml::DeviceGetUintFn power_usage = nullptr;           // milliwatts
  nvml::DeviceGetUintFn enforced_power_limit = nullptr;  // milliwatts
  nvml::DeviceGetUllFn total_energy = nullptr;           // millijoules since driver load
  nvml::DeviceGetTemperatureFn temperature = nullptr;
  nvml::DeviceGetClockInfoFn clock_info = nullptr;
  nvml::DeviceGetUllFn clock_event_reasons = nullptr;
  nvml::DeviceGetPcieThroughputFn pcie_throughput = nullptr;
  nvml::DeviceGetTotalEccErrorsFn total_ecc_errors = nullptr;
  nvml::DeviceGetRemappedRowsFn remapped_rows = nullptr;
  nvml::DeviceGetProcessesFn compute_processes = nullptr;
  int compute_processes_version = 0;  // 1: ProcessInfoV1 layout, 2 or 3: ProcessInfoV2
  nvml::DeviceGetFieldValuesFn field_values = nullptr;
  nvml::EventSetCreateFn event_set_create = nullptr;
  nvml::DeviceRegisterEventsFn register_events = nullptr;
  nvml::EventSetWaitFn event_set_wait = nullptr;
  nvml::EventSetFreeFn event_set_free = nullptr;
};

class NvmlLibrary {
 public:
  // Opens the library and calls its init. NotFound when the library is
  // absent (no driver), Unavailable when init fails (message from NVML's
  // error string), InvalidArgument when the library lacks the core entry
  // points (init, device count, handle by index).
  static Result<std::unique_ptr<NvmlLibrary>> Load();
  static Result<std::unique_ptr<NvmlLibrary>> LoadFrom(const std::string& path);
  // The path Load() opens.
  static std::string DefaultPath();

  ~NvmlLibrary();  // nvmlShutdown, dlclose
  NvmlLibrary(const NvmlLibrary&) = delete;
  NvmlLibrary& operator=(const NvmlLibrary&) = delete;

  const NvmlFunctions& fn() const { return fn_; }
  const std::string& path() const { return path_; }
  // "NVML error 15 (GPU is lost)"; uses nvmlErrorString when present.
  std::string ErrorString(nvml::Return r) const;

 private:
  NvmlLibrary() = default;
  void* handle_ = nullptr;
  std::string path_;
  NvmlFunctions fn_;
};

}  // namespace vigil::collect
