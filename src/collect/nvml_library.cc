#include "collect/nvml_library.h"

#include <dlfcn.h>

#include <cstdlib>
#include <initializer_list>

#include <fmt/format.h>

namespace vigil::collect {
namespace {

// The first of `names` that the library exports, as a function pointer of
// type F; `which` is set to the index of the name found.
template <typename F>
F Resolve(void* handle, std::initializer_list<const char*> names, int* which = nullptr) {
  int i = 0;
  for (const char* name : names) {
    if (void* p = dlsym(handle, name)) {
      if (which) *which = i;
      return reinterpret_cast<F>(p);
    }
    ++i;
  }
  return nullptr;
}

}  // namespace

std::string NvmlLibrary::DefaultPath() {
  const char* env = std::getenv("VIGIL_NVML_LIBRARY");
  return env && *env ? env : "libnvidia-ml.so.1";
}

Result<std::unique_ptr<NvmlLibrary>> NvmlLibrary::Load() {
  return LoadFrom(DefaultPath());
}

Result<std::unique_ptr<NvmlLibrary>> NvmlLibrary::LoadFrom(const std::string& path) {
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* err = dlerror();
    return Status::NotFound(fmt::format("no NVIDIA GPU/driver found ({})", err ? err : path));
  }
  std::unique_ptr<NvmlLibrary> lib(new NvmlLibrary());
  lib->handle_ = handle;
  lib->path_ = path;
  NvmlFunctions& f = lib->fn_;
  f.init = Resolve<nvml::InitFn>(handle, {"nvmlInit_v2", "nvmlInit"});
  f.shutdown = Resolve<nvml::ShutdownFn>(handle, {"nvmlShutdown"});
  f.error_string = Resolve<nvml::ErrorStringFn>(handle, {"nvmlErrorString"});
  f.driver_version =
      Resolve<nvml::SystemGetDriverVersionFn>(handle, {"nvmlSystemGetDriverVersion"});
  f.device_count =
      Resolve<nvml::DeviceGetCountFn>(handle, {"nvmlDeviceGetCount_v2", "nvmlDeviceGetCount"});
  f.handle_by_index = Resolve<nvml::DeviceGetHandleByIndexFn>(
      handle, {"nvmlDeviceGetHandleByIndex_v2", "nvmlDeviceGetHandleByIndex"});
  f.name = Resolve<nvml::DeviceGetStringFn>(handle, {"nvmlDeviceGetName"});
  f.uuid = Resolve<nvml::DeviceGetStringFn>(handle, {"nvmlDeviceGetUUID"});
  f.utilization =
      Resolve<nvml::DeviceGetUtilizationRatesFn>(handle, {"nvmlDeviceGetUtilizationRates"});
  f.memory_info = Resolve<nvml::DeviceGetMemoryInfoFn>(handle, {"nvmlDeviceGetMemoryInfo"});
  f.power_usage = Resolve<nvml::DeviceGetUintFn>(handle, {"nvmlDeviceGetPowerUsage"});
  f.enforced_power_limit =
      Resolve<nvml::DeviceGetUintFn>(handle, {"nvmlDeviceGetEnforcedPowerLimit"});
  f.total_energy = Resolve<nvml::DeviceGetUllFn>(handle, {"nvmlDeviceGetTotalEnergyConsumption"});
  f.temperature = Resolve<nvml::DeviceGetTemperatureFn>(handle, {"nvmlDeviceGetTemperature"});
  f.clock_info = Resolve<nvml::DeviceGetClockInfoFn>(handle, {"nvmlDeviceGetClockInfo"});
  f.clock_event_reasons = Resolve<nvml::DeviceGetUllFn>(
      handle,
      {"nvmlDeviceGetCurrentClocksEventReasons", "nvmlDeviceGetCurrentClocksThrottleReasons"});
  f.pcie_throughput =
      Resolve<nvml::DeviceGetPcieThroughputFn>(handle, {"nvmlDeviceGetPcieThroughput"});
  f.total_ecc_errors =
      Resolve<nvml::DeviceGetTotalEccErrorsFn>(handle, {"nvmlDeviceGetTotalEccErrors"});
  f.remapped_rows = Resolve<nvml::DeviceGetRemappedRowsFn>(handle, {"nvmlDeviceGetRemappedRows"});
  int which = 0;
  f.compute_processes = Resolve<nvml::DeviceGetProcessesFn>(
      handle,
      {"nvmlDeviceGetComputeRunningProcesses_v3", "nvmlDeviceGetComputeRunningProcesses_v2",
       "nvmlDeviceGetComputeRunningProcesses"},
      &which);
  f.compute_processes_version = f.compute_processes ? 3 - which : 0;
  f.field_values = Resolve<nvml::DeviceGetFieldValuesFn>(handle, {"nvmlDeviceGetFieldValues"});
  f.event_set_create = Resolve<nvml::EventSetCreateFn>(handle, {"nvmlEventSetCreate"});
  f.register_events = Resolve<nvml::DeviceRegisterEventsFn>(handle, {"nvmlDeviceRegisterEvents"});
  f.event_set_wait =
      Resolve<nvml::EventSetWaitFn>(handle, {"nvmlEventSetWait_v2", "nvmlEventSetWait"});
  f.event_set_free = Resolve<nvml::EventSetFreeFn>(handle, {"nvmlEventSetFree"});

  if (!f.init || !f.device_count || !f.handle_by_index) {
    return Status::InvalidArgument(
        fmt::format("{} is not a usable NVML library (nvmlInit, nvmlDeviceGetCount or "
                    "nvmlDeviceGetHandleByIndex missing)",
                    path));
  }
  nvml::Return r = f.init();
  if (r != nvml::kSuccess) {
    std::string msg = lib->ErrorString(r);
    f.shutdown = nullptr;  // nothing to shut down
    return Status::Unavailable(fmt::format("no NVIDIA GPU/driver found (nvmlInit: {})", msg));
  }
  return lib;
}

NvmlLibrary::~NvmlLibrary() {
  if (fn_.shutdown) fn_.shutdown();
  if (handle_) dlclose(handle_);
}

std::string NvmlLibrary::ErrorString(nvml::Return r) const {
  const char* s = fn_.error_string ? fn_.error_string(r) : nullptr;
  return fmt::format("NVML error {} ({})", r, s ? s : "unknown");
}

}  // namespace vigil::collect
