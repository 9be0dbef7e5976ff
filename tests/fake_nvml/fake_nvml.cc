// A fake libnvidia-ml for tests: implements the NVML entry points that
// src/collect calls, with values scripted per GPU in the file named by
// $VIGIL_FAKE_NVML_SCRIPT (read at nvmlInit). Built twice: the full library
// (newest symbol versions) and, with FAKE_NVML_LEGACY, an old driver's
// (unversioned symbols only; no energy, remapped rows, field values, events
// or clocks-event-reasons entry points) to test the fallbacks.
//
// Script lines (# starts a comment; GPU may be * for every GPU):
//   gpus N                          number of GPUs (default 2)
//   driver VERSION                  nvmlSystemGetDriverVersion
//   name GPU TEXT...                nvmlDeviceGetName (default "Fake GPU")
//   set GPU FIELD V1 [V2 ...]       successive calls return V1, V2, ...; the
//                                   last value repeats
//   error GPU FIELD CODE [after N]  the field's calls fail with CODE (an
//                                   nvmlReturn_t) after N successful calls
//   unsupported GPU FIELD           = error GPU FIELD 3
//   lost GPU [after N]              every call on GPU fails with
//                                   GPU_IS_LOST (15) after N rounds (a
//                                   round starts with the processes call,
//                                   the collector's first on a GPU)
//   proc GPU PID BYTES              a compute process on GPU
//   xid GPU CODE [after N]          an XID event delivered by the (N+1)th
//                                   nvmlEventSetWait call
//   init_error CODE                 nvmlInit fails
// Fields: utilization.gpu utilization.memory memory.total memory.used
// memory.free power.usage (mW) power.limit (mW) energy (mJ) temperature.gpu
// temperature.memory clocks.sm clocks.mem reasons pcie.tx pcie.rx (KB/s)
// nvlink.tx nvlink.rx (KiB counters) ecc.corrected ecc.uncorrected
// remapped.corrected remapped.uncorrected remapped.pending remapped.failure
// processes.
//
// Single-threaded use only (as the collector is).
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace {

struct Error {
  int code = 0;
  long after = 0;
};

struct FakeGpu {
  std::string name = "Fake GPU";
  std::map<std::string, std::vector<unsigned long long>> values;
  std::map<std::string, long> calls;
  std::map<std::string, Error> errors;
  long lost_after = -1;
  long rounds = 0;
  std::vector<std::pair<unsigned, unsigned long long>> procs;
};

struct Xid {
  unsigned gpu;
  unsigned long long code;
  long after;
  bool delivered = false;
};

struct State {
  bool loaded = false;
  int init_error = 0;
  std::string driver = "550.54.15";
  std::vector<FakeGpu> gpus;
  std::vector<Xid> xids;
  long waits = 0;
};

State& S() {
  static State s;
  return s;
}

// Defaults for fields a script does not set, distinct per GPU.
unsigned long long Default(const std::string& f, unsigned gpu) {
  if (f == "utilization.gpu") return 10 + gpu;
  if (f == "utilization.memory") return 5 + gpu;
  if (f == "memory.total") return 80ull << 30;
  if (f == "memory.used") return (1ull + gpu) << 30;
  if (f == "memory.free") return (80ull << 30) - ((1ull + gpu) << 30);
  if (f == "power.usage") return 100000 + 1000 * gpu;
  if (f == "power.limit") return 700000;
  if (f == "energy") return 1000000;
  if (f == "temperature.gpu") return 40 + gpu;
  if (f == "temperature.memory") return 50 + gpu;
  if (f == "clocks.sm") return 1980;
  if (f == "clocks.mem") return 2619;
  return 0;
}

void Load() {
  State& s = S();
  if (s.loaded) return;
  s.loaded = true;
  int n = 2;
  std::vector<std::string> lines;
  if (const char* path = std::getenv("VIGIL_FAKE_NVML_SCRIPT")) {
    std::ifstream in(path);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
  }
  for (const auto& line : lines) {  // first pass: the GPU count
    std::istringstream is(line);
    std::string cmd;
    if (is >> cmd && cmd == "gpus") is >> n;
  }
  s.gpus.assign(n, FakeGpu{});
  auto for_gpus = [&](const std::string& which, auto&& f) {
    for (unsigned i = 0; i < s.gpus.size(); ++i) {
      if (which == "*" || which == std::to_string(i)) f(s.gpus[i]);
    }
  };
  for (const auto& line : lines) {
    std::istringstream is(line);
    std::string cmd, gpu, field;
    if (!(is >> cmd) || cmd[0] == '#' || cmd == "gpus") continue;
    if (cmd == "driver") {
      is >> s.driver;
    } else if (cmd == "init_error") {
      is >> s.init_error;
    } else if (cmd == "name") {
      is >> gpu;
      std::string rest;
      std::getline(is, rest);
      rest.erase(0, rest.find_first_not_of(' '));
      for_gpus(gpu, [&](FakeGpu& g) { g.name = rest; });
    } else if (cmd == "set") {
      is >> gpu >> field;
      std::vector<unsigned long long> v;
      for (unsigned long long x; is >> x;) v.push_back(x);
      for_gpus(gpu, [&](FakeGpu& g) { g.values[field] = v; });
    } else if (cmd == "error" || cmd == "unsupported") {
      is >> gpu >> field;
      Error e;
      e.code = 3;
      if (cmd == "error") is >> e.code;
      std::string kw;
      if (is >> kw && kw == "after") is >> e.after;
      for_gpus(gpu, [&](FakeGpu& g) { g.errors[field] = e; });
    } else if (cmd == "lost") {
      is >> gpu;
      long after = 0;
      std::string kw;
      if (is >> kw && kw == "after") is >> after;
      for_gpus(gpu, [&](FakeGpu& g) { g.lost_after = after; });
    } else if (cmd == "proc") {
      unsigned pid = 0;
      unsigned long long bytes = 0;
      is >> gpu >> pid >> bytes;
      for_gpus(gpu, [&](FakeGpu& g) { g.procs.emplace_back(pid, bytes); });
    } else if (cmd == "xid") {
      Xid x{};
      is >> x.gpu >> x.code;
      std::string kw;
      if (is >> kw && kw == "after") is >> x.after;
      s.xids.push_back(x);
    }
  }
}

FakeGpu* Gpu(void* handle) {
  State& s = S();
  auto* p = static_cast<FakeGpu*>(handle);
  if (s.gpus.empty() || p < &s.gpus.front() || p > &s.gpus.back()) return nullptr;
  return p;
}

// Counts a call of `field` on `g` and returns 0 or the scripted error.
int Call(FakeGpu* g, const std::string& field) {
  if (!g) return 2;  // INVALID_ARGUMENT
  // Lost after N rounds, counted by the processes call that the collector
  // makes first on each GPU each round.
  if (field == "processes") ++g->rounds;
  if (g->lost_after >= 0 && g->rounds > g->lost_after) return 15;
  long n = g->calls[field]++;
  auto it = g->errors.find(field);
  if (it != g->errors.end() && n >= it->second.after) return it->second.code;
  return 0;
}

unsigned long long Value(FakeGpu* g, const std::string& field) {
  auto it = g->values.find(field);
  unsigned gpu = static_cast<unsigned>(g - &S().gpus.front());
  if (it == g->values.end() || it->second.empty()) return Default(field, gpu);
  long n = g->calls[field] - 1;  // Call() already counted this one
  size_t i = n < 0 ? 0 : static_cast<size_t>(n);
  return it->second[std::min(i, it->second.size() - 1)];
}

int Get(void* dev, const char* field, unsigned* out) {
  FakeGpu* g = Gpu(dev);
  if (int r = Call(g, field)) return r;
  *out = static_cast<unsigned>(Value(g, field));
  return 0;
}

int GetUll(void* dev, const char* field, unsigned long long* out) {
  FakeGpu* g = Gpu(dev);
  if (int r = Call(g, field)) return r;
  *out = Value(g, field);
  return 0;
}

}  // namespace

extern "C" {

#define FAKE_EXPORT __attribute__((visibility("default")))

struct FakeUtilization {
  unsigned gpu, memory;
};
struct FakeMemory {
  unsigned long long total, free, used;
};
struct FakeProcV1 {
  unsigned pid;
  unsigned long long used;
};
struct FakeProcV2 {
  unsigned pid;
  unsigned long long used;
  unsigned gi, ci;
};
struct FakeEvent {
  void* device;
  unsigned long long type, data;
  unsigned gi, ci;
};
union FakeValue {
  double d;
  unsigned ui;
  unsigned long ul;
  unsigned long long ull;
  long long sll;
};
struct FakeField {
  unsigned fieldId, scopeId;
  long long timestamp, latency;
  int valueType, ret;
  FakeValue value;
};

static int FakeInit() {
  Load();
  int r = S().init_error;
  if (r != 0) S() = State{};  // a failed init is not followed by nvmlShutdown
  return r;
}

#ifdef FAKE_NVML_LEGACY
FAKE_EXPORT int nvmlInit() {
  return FakeInit();
}
#else
FAKE_EXPORT int nvmlInit_v2() {
  return FakeInit();
}
#endif
// Forgets the script: the next nvmlInit reads it again (tests load the
// library many times in one process, and dlclose may not unload it).
FAKE_EXPORT int nvmlShutdown() {
  S() = State{};
  return 0;
}
FAKE_EXPORT const char* nvmlErrorString(int r) {
  switch (r) {
    case 0:
      return "Success";
    case 3:
      return "Not Supported";
    case 4:
      return "Insufficient Permissions";
    case 9:
      return "Driver Not Loaded";
    case 15:
      return "GPU is lost";
    case 999:
      return "Unknown Error";
    default:
      return "Fake NVML error";
  }
}
FAKE_EXPORT int nvmlSystemGetDriverVersion(char* buf, unsigned len) {
  std::snprintf(buf, len, "%s", S().driver.c_str());
  return 0;
}
static int Count(unsigned* n) {
  *n = static_cast<unsigned>(S().gpus.size());
  return 0;
}
static int Handle(unsigned i, void** dev) {
  if (i >= S().gpus.size()) return 2;
  *dev = &S().gpus[i];
  return 0;
}
#ifdef FAKE_NVML_LEGACY
FAKE_EXPORT int nvmlDeviceGetCount(unsigned* n) {
  return Count(n);
}
FAKE_EXPORT int nvmlDeviceGetHandleByIndex(unsigned i, void** dev) {
  return Handle(i, dev);
}
#else
FAKE_EXPORT int nvmlDeviceGetCount_v2(unsigned* n) {
  return Count(n);
}
FAKE_EXPORT int nvmlDeviceGetHandleByIndex_v2(unsigned i, void** dev) {
  return Handle(i, dev);
}
#endif
FAKE_EXPORT int nvmlDeviceGetName(void* dev, char* buf, unsigned len) {
  FakeGpu* g = Gpu(dev);
  if (!g) return 2;
  std::snprintf(buf, len, "%s", g->name.c_str());
  return 0;
}
FAKE_EXPORT int nvmlDeviceGetUUID(void* dev, char* buf, unsigned len) {
  FakeGpu* g = Gpu(dev);
  if (!g) return 2;
  std::snprintf(buf, len, "GPU-fake-%04u", static_cast<unsigned>(g - &S().gpus.front()));
  return 0;
}
FAKE_EXPORT int nvmlDeviceGetUtilizationRates(void* dev, FakeUtilization* u) {
  if (int r = Get(dev, "utilization.gpu", &u->gpu)) return r;
  return Get(dev, "utilization.memory", &u->memory);
}
FAKE_EXPORT int nvmlDeviceGetMemoryInfo(void* dev, FakeMemory* m) {
  if (int r = GetUll(dev, "memory.total", &m->total)) return r;
  if (int r = GetUll(dev, "memory.used", &m->used)) return r;
  return GetUll(dev, "memory.free", &m->free);
}
FAKE_EXPORT int nvmlDeviceGetPowerUsage(void* dev, unsigned* v) {
  return Get(dev, "power.usage", v);
}
FAKE_EXPORT int nvmlDeviceGetEnforcedPowerLimit(void* dev, unsigned* v) {
  return Get(dev, "power.limit", v);
}
FAKE_EXPORT int nvmlDeviceGetTemperature(void* dev, int sensor, unsigned* v) {
  return sensor == 0 ? Get(dev, "temperature.gpu", v) : 2;
}
FAKE_EXPORT int nvmlDeviceGetClockInfo(void* dev, int type, unsigned* v) {
  return type == 1 ? Get(dev, "clocks.sm", v) : type == 2 ? Get(dev, "clocks.mem", v) : 2;
}
FAKE_EXPORT int nvmlDeviceGetPcieThroughput(void* dev, int counter, unsigned* v) {
  return Get(dev, counter == 0 ? "pcie.tx" : "pcie.rx", v);
}
FAKE_EXPORT int nvmlDeviceGetTotalEccErrors(void* dev, int type, int counter,
                                            unsigned long long* v) {
  if (counter != 0) return 2;  // the collector reads volatile counts
  return GetUll(dev, type == 0 ? "ecc.corrected" : "ecc.uncorrected", v);
}
static int Processes(void* dev, unsigned* n, void* infos, int version) {
  FakeGpu* g = Gpu(dev);
  if (int r = Call(g, "processes")) return r;
  unsigned cap = *n;
  *n = static_cast<unsigned>(g->procs.size());
  if (cap < g->procs.size()) return 7;  // INSUFFICIENT_SIZE
  for (size_t i = 0; i < g->procs.size(); ++i) {
    if (version == 1) {
      static_cast<FakeProcV1*>(infos)[i] = FakeProcV1{g->procs[i].first, g->procs[i].second};
    } else {
      static_cast<FakeProcV2*>(infos)[i] = FakeProcV2{g->procs[i].first, g->procs[i].second, 0, 0};
    }
  }
  return 0;
}
FAKE_EXPORT int nvmlDeviceGetComputeRunningProcesses(void* dev, unsigned* n, void* infos) {
  return Processes(dev, n, infos, 1);
}
FAKE_EXPORT int nvmlDeviceGetCurrentClocksThrottleReasons(void* dev, unsigned long long* v) {
  return GetUll(dev, "reasons", v);
}
#ifndef FAKE_NVML_LEGACY
FAKE_EXPORT int nvmlDeviceGetComputeRunningProcesses_v3(void* dev, unsigned* n, void* infos) {
  return Processes(dev, n, infos, 3);
}
FAKE_EXPORT int nvmlDeviceGetCurrentClocksEventReasons(void* dev, unsigned long long* v) {
  return GetUll(dev, "reasons", v);
}
FAKE_EXPORT int nvmlDeviceGetTotalEnergyConsumption(void* dev, unsigned long long* v) {
  return GetUll(dev, "energy", v);
}
FAKE_EXPORT int nvmlDeviceGetRemappedRows(void* dev, unsigned* corr, unsigned* unc,
                                          unsigned* pending, unsigned* failure) {
  if (int r = Get(dev, "remapped.corrected", corr)) return r;
  if (int r = Get(dev, "remapped.uncorrected", unc)) return r;
  if (int r = Get(dev, "remapped.pending", pending)) return r;
  return Get(dev, "remapped.failure", failure);
}
FAKE_EXPORT int nvmlDeviceGetFieldValues(void* dev, int count, FakeField* values) {
  FakeGpu* g = Gpu(dev);
  if (!g) return 2;
  for (int i = 0; i < count; ++i) {
    FakeField& f = values[i];
    const char* field = f.fieldId == 82    ? "temperature.memory"
                        : f.fieldId == 138 ? "nvlink.tx"
                        : f.fieldId == 139 ? "nvlink.rx"
                                           : nullptr;
    if (!field) {
      f.ret = 2;
      continue;
    }
    f.ret = Call(g, field);
    if (f.ret == 15) return 15;
    f.valueType = f.fieldId == 82 ? 1 : 3;
    if (f.fieldId == 82) {
      f.value.ui = static_cast<unsigned>(Value(g, field));
    } else {
      f.value.ull = Value(g, field);
    }
  }
  return 0;
}
FAKE_EXPORT int nvmlEventSetCreate(void** set) {
  *set = &S();
  return 0;
}
FAKE_EXPORT int nvmlDeviceRegisterEvents(void* dev, unsigned long long, void*) {
  return Gpu(dev) ? 0 : 2;
}
FAKE_EXPORT int nvmlEventSetWait_v2(void*, FakeEvent* e, unsigned) {
  State& s = S();
  long n = s.waits++;
  for (Xid& x : s.xids) {
    if (x.delivered || n < x.after || x.gpu >= s.gpus.size()) continue;
    x.delivered = true;
    *e = FakeEvent{&s.gpus[x.gpu], 0x8, x.code, 0, 0};
    s.waits--;  // draining in one round does not advance the script
    return 0;
  }
  return 10;  // TIMEOUT
}
FAKE_EXPORT int nvmlEventSetFree(void*) {
  return 0;
}
#endif

}  // extern "C"
