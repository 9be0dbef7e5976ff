// The subset of the NVIDIA Management Library's C ABI that the collector
// calls, declared here so that vigil builds without the CUDA toolkit and
// loads libnvidia-ml.so.1 at run time (nvml_library.h). Layouts and values
// are those of nvml.h (CUDA 12.x); each struct notes which symbol versions
// use it. The fake library in tests/fake_nvml implements the same ABI.
//
// Plain declarations; no state, any thread.
#pragma once

#include <cstdint>

namespace vigil::collect::nvml {

using Return = int;  // nvmlReturn_t
inline constexpr Return kSuccess = 0;
inline constexpr Return kErrorUninitialized = 1;
inline constexpr Return kErrorInvalidArgument = 2;
inline constexpr Return kErrorNotSupported = 3;
inline constexpr Return kErrorNoPermission = 4;
inline constexpr Return kErrorNotFound = 6;
inline constexpr Return kErrorInsufficientSize = 7;
inline constexpr Return kErrorDriverNotLoaded = 9;
inline constexpr Return kErrorTimeout = 10;
inline constexpr Return kErrorFunctionNotFound = 13;
inline constexpr Return kErrorGpuIsLost = 15;
inline constexpr Return kErrorUnknown = 999;

using Device = struct DeviceSt*;      // nvmlDevice_t
using EventSet = struct EventSetSt*;  // nvmlEventSet_t

// nvmlUtilization_t
struct Utilization {
  unsigned int gpu;     // percent of time a kernel ran in the last sample period
  unsigned int memory;  // percent of time device memory was read or written
};

// nvmlMemory_t (nvmlDeviceGetMemoryInfo, the unversioned v1 struct).
struct Memory {
  unsigned long long total;
  unsigned long long free;
  unsigned long long used;
};

// nvmlProcessInfo_v1_t: nvmlDeviceGetComputeRunningProcesses (unversioned).
struct ProcessInfoV1 {
  unsigned int pid;
  unsigned long long usedGpuMemory;
};

// nvmlProcessInfo_t (v2 layout): the _v2 and _v3 symbols.
struct ProcessInfoV2 {
  unsigned int pid;
  unsigned long long usedGpuMemory;
  unsigned int gpuInstanceId;
  unsigned int computeInstanceId;
};

// nvmlEventData_t (nvmlEventSetWait_v2; the old symbol fills the first three).
struct EventData {
  Device device;
  unsigned long long eventType;
  unsigned long long eventData;  // the XID for an XID event
  unsigned int gpuInstanceId;
  unsigned int computeInstanceId;
};
inline constexpr unsigned long long kEventTypeXidCriticalError = 0x8;

// nvmlValue_t / nvmlFieldValue_t (nvmlDeviceGetFieldValues).
union Value {
  double dVal;
  unsigned int uiVal;
  unsigned long ulVal;
  unsigned long long ullVal;
  long long sllVal;
};
struct FieldValue {
  unsigned int fieldId;
  unsigned int scopeId;
  long long timestamp;
  long long latencyUsec;
  int valueType;  // nvmlValueType_t, below
  Return nvmlReturn;
  Value value;
};
inline constexpr int kValueTypeDouble = 0;
inline constexpr int kValueTypeUnsignedInt = 1;
inline constexpr int kValueTypeUnsignedLong = 2;
inline constexpr int kValueTypeUnsignedLongLong = 3;
inline constexpr int kValueTypeSignedLongLong = 4;

// Field ids (nvml.h NVML_FI_DEV_*).
inline constexpr unsigned int kFieldMemoryTemp = 82;           // degrees C
inline constexpr unsigned int kFieldNvlinkThroughputTx = 138;  // KiB, counter
inline constexpr unsigned int kFieldNvlinkThroughputRx = 139;  // KiB, counter

// Enumerations passed to the getters.
inline constexpr int kTemperatureGpu = 0;  // nvmlTemperatureSensors_t
inline constexpr int kClockSm = 1;         // nvmlClockType_t
inline constexpr int kClockMem = 2;
inline constexpr int kPcieTxBytes = 0;  // nvmlPcieUtilCounter_t (KB/s)
inline constexpr int kPcieRxBytes = 1;
inline constexpr int kMemoryErrorCorrected = 0;  // nvmlMemoryErrorType_t
inline constexpr int kMemoryErrorUncorrected = 1;
inline constexpr int kVolatileEcc = 0;  // nvmlEccCounterType_t
inline constexpr int kAggregateEcc = 1;

// Clock event (throttle) reason bits (nvmlClocksEventReason*).
inline constexpr unsigned long long kReasonGpuIdle = 0x1;
inline constexpr unsigned long long kReasonApplicationsClocksSetting = 0x2;
inline constexpr unsigned long long kReasonSwPowerCap = 0x4;
inline constexpr unsigned long long kReasonHwSlowdown = 0x8;
inline constexpr unsigned long long kReasonSyncBoost = 0x10;
inline constexpr unsigned long long kReasonSwThermalSlowdown = 0x20;
inline constexpr unsigned long long kReasonHwThermalSlowdown = 0x40;
inline constexpr unsigned long long kReasonHwPowerBrakeSlowdown = 0x80;
inline constexpr unsigned long long kReasonDisplayClockSetting = 0x100;

// Function pointer types, one per entry point (all extern "C").
extern "C" {
using InitFn = Return (*)();
using ShutdownFn = Return (*)();
using ErrorStringFn = const char* (*)(Return);
using SystemGetDriverVersionFn = Return (*)(char*, unsigned int);
using DeviceGetCountFn = Return (*)(unsigned int*);
using DeviceGetHandleByIndexFn = Return (*)(unsigned int, Device*);
using DeviceGetStringFn = Return (*)(Device, char*, unsigned int);  // name, UUID
using DeviceGetUtilizationRatesFn = Return (*)(Device, Utilization*);
using DeviceGetMemoryInfoFn = Return (*)(Device, Memory*);
using DeviceGetUintFn = Return (*)(Device, unsigned int*);       // power, limit
using DeviceGetUllFn = Return (*)(Device, unsigned long long*);  // energy, reasons
using DeviceGetTemperatureFn = Return (*)(Device, int, unsigned int*);
using DeviceGetClockInfoFn = Return (*)(Device, int, unsigned int*);
using DeviceGetPcieThroughputFn = Return (*)(Device, int, unsigned int*);
using DeviceGetTotalEccErrorsFn = Return (*)(Device, int, int, unsigned long long*);
using DeviceGetRemappedRowsFn = Return (*)(Device, unsigned int*, unsigned int*, unsigned int*,
                                           unsigned int*);
using DeviceGetProcessesFn = Return (*)(Device, unsigned int*, void*);
using DeviceGetFieldValuesFn = Return (*)(Device, int, FieldValue*);
using EventSetCreateFn = Return (*)(EventSet*);
using DeviceRegisterEventsFn = Return (*)(Device, unsigned long long, EventSet);
using EventSetWaitFn = Return (*)(EventSet, EventData*, unsigned int);
using EventSetFreeFn = Return (*)(EventSet);
}

}  // namespace vigil::collect::nvml
