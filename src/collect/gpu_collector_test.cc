// GpuCollector against the fake NVML library (tests/fake_nvml), scripted
// per test through $VIGIL_FAKE_NVML_SCRIPT.
#include "collect/gpu_collector.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <optional>

#include "testing/testing.h"

namespace vigil::collect {
namespace {

constexpr int64_t kSecond = 1'000'000'000;

class GpuCollectorTest : public ::testing::Test {
 protected:
  std::unique_ptr<GpuCollector> Open(const std::string& script,
                                     const char* library = VIGIL_FAKE_NVML_PATH) {
    std::string path = dir_.Join("script");
    vigil::testing::WriteFileOrDie(path, script);
    setenv("VIGIL_FAKE_NVML_SCRIPT", path.c_str(), 1);
    auto lib = NvmlLibrary::LoadFrom(library);
    EXPECT_TRUE(lib.ok()) << lib.status().ToString();
    if (!lib.ok()) return nullptr;
    auto c = GpuCollector::Open(std::move(*lib));
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.ok() ? std::move(*c) : nullptr;
  }

  SampleSet Round(GpuCollector* c, const std::vector<int>* tree = nullptr) {
    SampleSet s;
    c->Collect(++round_ * kSecond, tree, &s);
    return s;
  }

  static std::optional<double> Get(const SampleSet& s, const std::string& metric, int gpu,
                                   const Labels& more = {}) {
    Labels want{{"gpu", std::to_string(gpu)}, {"uuid", fmt_uuid(gpu)}};
    want.insert(want.end(), more.begin(), more.end());
    for (const Sample& x : s.samples) {
      if (x.metric == metric && x.labels == want) return x.value;
    }
    return std::nullopt;
  }
  static std::string fmt_uuid(int gpu) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "GPU-fake-%04d", gpu);
    return buf;
  }
  static int Count(const SampleSet& s, const std::string& metric) {
    int n = 0;
    for (const Sample& x : s.samples) n += x.metric == metric;
    return n;
  }

  vigil::testing::TempDir dir_;
  int64_t round_ = 0;
};

TEST_F(GpuCollectorTest, EveryFieldWithItsUnitAndLabels) {
  auto c = Open(
      "gpus 2\n"
      "driver 555.42.06\n"
      "name * NVIDIA H100 80GB HBM3\n"
      "set 1 utilization.gpu 87\n"
      "set 1 utilization.memory 41\n"
      "set 1 memory.total 85899345920\n"
      "set 1 memory.used 21474836480\n"
      "set 1 memory.free 64424509440\n"
      "set 1 power.usage 312500\n"
      "set 1 power.limit 700000\n"
      "set 1 energy 123456789\n"
      "set 1 temperature.gpu 67\n"
      "set 1 temperature.memory 71\n"
      "set 1 clocks.sm 1755\n"
      "set 1 clocks.mem 2619\n"
      "set 1 reasons 68\n"  // 0x44: sw power cap + hw thermal slowdown
      "set 1 pcie.tx 2000\n"
      "set 1 pcie.rx 500\n"
      "set 1 nvlink.tx 1000 5000\n"
      "set 1 nvlink.rx 0 2000\n"
      "set 1 ecc.corrected 3\n"
      "set 1 ecc.uncorrected 1\n"
      "set 1 remapped.corrected 2\n"
      "set 1 remapped.uncorrected 1\n"
      "set 1 remapped.pending 1\n"
      "set 1 remapped.failure 0\n"
      "proc 1 4242 1073741824\n");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->gpu_count(), 2u);
  EXPECT_EQ(c->driver_version(), "555.42.06");
  auto info = c->Info();
  EXPECT_NE(
      std::find(info.begin(), info.end(),
                std::make_pair(std::string("gpu/1/name"), std::string("NVIDIA H100 80GB HBM3"))),
      info.end());
  SampleSet a = Round(c.get());
  EXPECT_TRUE(a.notices.empty()) << a.notices[0];
  EXPECT_EQ(*Get(a, "sys/gpu/utilization", 1), 87);
  EXPECT_EQ(*Get(a, "sys/gpu/memory_utilization", 1), 41);
  EXPECT_EQ(*Get(a, "sys/gpu/memory_total_bytes", 1), 85899345920.0);
  EXPECT_EQ(*Get(a, "sys/gpu/memory_used_bytes", 1), 21474836480.0);
  EXPECT_EQ(*Get(a, "sys/gpu/memory_free_bytes", 1), 64424509440.0);
  EXPECT_DOUBLE_EQ(*Get(a, "sys/gpu/power_watts", 1), 312.5);
  EXPECT_DOUBLE_EQ(*Get(a, "sys/gpu/power_limit_watts", 1), 700);
  EXPECT_DOUBLE_EQ(*Get(a, "sys/gpu/energy_joules", 1), 123456.789);
  EXPECT_EQ(*Get(a, "sys/gpu/temperature_celsius", 1), 67);
  EXPECT_EQ(*Get(a, "sys/gpu/memory_temperature_celsius", 1), 71);
  EXPECT_EQ(*Get(a, "sys/gpu/sm_clock_mhz", 1), 1755);
  EXPECT_EQ(*Get(a, "sys/gpu/memory_clock_mhz", 1), 2619);
  EXPECT_EQ(*Get(a, "sys/gpu/clock_event_reasons", 1), 68);
  EXPECT_EQ(*Get(a, "sys/gpu/throttle", 1, {{"reason", "sw_power_cap"}}), 1);
  EXPECT_EQ(*Get(a, "sys/gpu/throttle", 1, {{"reason", "hw_thermal_slowdown"}}), 1);
  EXPECT_EQ(*Get(a, "sys/gpu/throttle", 1, {{"reason", "gpu_idle"}}), 0);
  EXPECT_EQ(*Get(a, "sys/gpu/throttle", 1, {{"reason", "hw_slowdown"}}), 0);
  EXPECT_EQ(*Get(a, "sys/gpu/pcie_tx_bytes_per_sec", 1), 2000 * 1024);
  EXPECT_EQ(*Get(a, "sys/gpu/pcie_rx_bytes_per_sec", 1), 500 * 1024);
  EXPECT_EQ(*Get(a, "sys/gpu/ecc_corrected_errors", 1), 3);
  EXPECT_EQ(*Get(a, "sys/gpu/ecc_uncorrected_errors", 1), 1);
  EXPECT_EQ(*Get(a, "sys/gpu/remapped_rows_corrected", 1), 2);
  EXPECT_EQ(*Get(a, "sys/gpu/remapped_rows_uncorrected", 1), 1);
  EXPECT_EQ(*Get(a, "sys/gpu/remapped_rows_pending", 1), 1);
  EXPECT_EQ(*Get(a, "sys/gpu/remapped_rows_failure", 1), 0);
  EXPECT_EQ(*Get(a, "sys/gpu/process_memory_bytes", 1, {{"pid", "4242"}}), 1073741824.0);
  EXPECT_EQ(*Get(a, "sys/gpu/lost", 1), 0);
  EXPECT_EQ(*Get(a, "sys/gpu/xid_errors", 1), 0);
  // NVLink throughput is a rate of KiB counters: none on the first round.
  EXPECT_FALSE(Get(a, "sys/gpu/nvlink_tx_bytes_per_sec", 1).has_value());
  SampleSet b = Round(c.get());
  EXPECT_EQ(*Get(b, "sys/gpu/nvlink_tx_bytes_per_sec", 1), 4000.0 * 1024);
  EXPECT_EQ(*Get(b, "sys/gpu/nvlink_rx_bytes_per_sec", 1), 2000.0 * 1024);
  // GPU 0 has its own (default) values, not GPU 1's.
  EXPECT_EQ(*Get(b, "sys/gpu/utilization", 0), 10);
}

TEST_F(GpuCollectorTest, UnsupportedFieldReportedOnce) {
  auto c = Open("gpus 2\nunsupported 0 power.usage\nunsupported * temperature.memory\n");
  ASSERT_TRUE(c);
  SampleSet a = Round(c.get());
  ASSERT_EQ(a.notices.size(), 3u);  // power on GPU 0, memory temperature on both
  EXPECT_NE(a.notices[0].find("power is not supported (NVML error 3 (Not Supported))"),
            std::string::npos)
      << a.notices[0];
  EXPECT_EQ(*Get(a, "sys/gpu/unsupported", 0, {{"field", "power"}}), 1);
  EXPECT_FALSE(Get(a, "sys/gpu/power_watts", 0).has_value());
  EXPECT_TRUE(Get(a, "sys/gpu/power_watts", 1).has_value());
  EXPECT_TRUE(Get(a, "sys/gpu/temperature_celsius", 0).has_value());
  SampleSet b = Round(c.get());
  EXPECT_TRUE(b.notices.empty());
  EXPECT_EQ(Count(b, "sys/gpu/unsupported"), 0);
  EXPECT_FALSE(Get(b, "sys/gpu/power_watts", 0).has_value());
  EXPECT_TRUE(Get(b, "sys/gpu/power_watts", 1).has_value());
}

TEST_F(GpuCollectorTest, LostGpuReportedAndOthersKeepSampling) {
  auto c = Open("gpus 3\nlost 1 after 1\n");
  ASSERT_TRUE(c);
  SampleSet a = Round(c.get());
  EXPECT_EQ(Count(a, "sys/gpu/utilization"), 3);
  SampleSet b = Round(c.get());
  ASSERT_EQ(b.notices.size(), 1u);
  EXPECT_NE(b.notices[0].find("GPU 1 (GPU-fake-0001) is lost"), std::string::npos) << b.notices[0];
  EXPECT_EQ(*Get(b, "sys/gpu/lost", 1), 1);
  EXPECT_EQ(*Get(b, "sys/gpu/lost", 0), 0);
  EXPECT_TRUE(Get(b, "sys/gpu/utilization", 0).has_value());
  EXPECT_TRUE(Get(b, "sys/gpu/utilization", 2).has_value());
  EXPECT_FALSE(Get(b, "sys/gpu/utilization", 1).has_value());
  SampleSet c3 = Round(c.get());
  EXPECT_TRUE(c3.notices.empty());
  EXPECT_EQ(*Get(c3, "sys/gpu/lost", 1), 1);
  EXPECT_EQ(Count(c3, "sys/gpu/utilization"), 2);
}

TEST_F(GpuCollectorTest, TransientErrorSkipsTheValueAndIsNoticedOnce) {
  auto c = Open("gpus 1\nerror 0 temperature.gpu 999 after 1\n");
  ASSERT_TRUE(c);
  SampleSet a = Round(c.get());
  EXPECT_TRUE(Get(a, "sys/gpu/temperature_celsius", 0).has_value());
  SampleSet b = Round(c.get());
  EXPECT_FALSE(Get(b, "sys/gpu/temperature_celsius", 0).has_value());
  ASSERT_EQ(b.notices.size(), 1u);
  EXPECT_NE(b.notices[0].find("reading temperature failed"), std::string::npos);
  SampleSet c3 = Round(c.get());
  EXPECT_TRUE(c3.notices.empty());
  EXPECT_EQ(Count(c3, "sys/gpu/unsupported"), 0);  // an error, not "unsupported"
  EXPECT_TRUE(Get(c3, "sys/gpu/utilization", 0).has_value());
}

TEST_F(GpuCollectorTest, LegacyDriverFallsBackToOlderSymbols) {
  auto c = Open("gpus 1\nset 0 reasons 1\nproc 0 4242 1048576\nproc 0 4343 2097152\n",
                VIGIL_FAKE_NVML_LEGACY_PATH);
  ASSERT_TRUE(c);
  SampleSet a = Round(c.get());
  // nvmlInit, nvmlDeviceGetCount, ..._ThrottleReasons and the v1 process
  // layout are used in place of the newer symbols.
  EXPECT_EQ(*Get(a, "sys/gpu/throttle", 0, {{"reason", "gpu_idle"}}), 1);
  EXPECT_EQ(*Get(a, "sys/gpu/process_memory_bytes", 0, {{"pid", "4242"}}), 1048576);
  EXPECT_EQ(*Get(a, "sys/gpu/process_memory_bytes", 0, {{"pid", "4343"}}), 2097152);
  for (const char* field : {"energy", "remapped_rows", "memory_temperature", "nvlink"}) {
    EXPECT_EQ(*Get(a, "sys/gpu/unsupported", 0, {{"field", field}}), 1) << field;
  }
  EXPECT_EQ(a.notices.size(), 4u);
  EXPECT_TRUE(Get(a, "sys/gpu/utilization", 0).has_value());
}

TEST_F(GpuCollectorTest, XidEventsAreCountedAndReported) {
  auto c = Open("gpus 2\nxid 1 79 after 1\n");
  ASSERT_TRUE(c);
  SampleSet a = Round(c.get());
  EXPECT_EQ(Count(a, "sys/gpu/xid"), 0);
  SampleSet b = Round(c.get());
  EXPECT_EQ(*Get(b, "sys/gpu/xid", 1), 79);
  EXPECT_EQ(*Get(b, "sys/gpu/xid_errors", 1), 1);
  EXPECT_EQ(*Get(b, "sys/gpu/xid_errors", 0), 0);
  ASSERT_EQ(b.notices.size(), 1u);
  EXPECT_NE(b.notices[0].find("XID 79"), std::string::npos);
  SampleSet c3 = Round(c.get());
  EXPECT_EQ(Count(c3, "sys/gpu/xid"), 0);
  EXPECT_EQ(*Get(c3, "sys/gpu/xid_errors", 1), 1);
}

TEST_F(GpuCollectorTest, SidecarAttributesGpusUsedByTheTree) {
  auto c = Open("gpus 3\nproc 2 777 1000\nproc 2 888 5000\nproc 0 999 7\n");
  ASSERT_TRUE(c);
  std::vector<int> tree{777, 778};
  SampleSet a = Round(c.get(), &tree);
  // Until the tree is seen on a GPU, every GPU is reported.
  EXPECT_EQ(Count(a, "sys/gpu/utilization"), 3);
  // Only the tree's processes, and their total.
  EXPECT_EQ(Count(a, "sys/gpu/process_memory_bytes"), 1);
  EXPECT_EQ(*Get(a, "sys/gpu/process_memory_bytes", 2, {{"pid", "777"}}), 1000);
  SampleSet b = Round(c.get(), &tree);
  EXPECT_EQ(Count(b, "sys/gpu/utilization"), 1);
  EXPECT_TRUE(Get(b, "sys/gpu/utilization", 2).has_value());
  double total = -1;
  for (const Sample& s : b.samples) {
    if (s.metric == "sys/proc/gpu_memory_bytes") total = s.value;
  }
  EXPECT_EQ(total, 1000);
}

TEST_F(GpuCollectorTest, EightGpus) {
  auto c = Open("gpus 8\n");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->gpu_count(), 8u);
  SampleSet a = Round(c.get());
  EXPECT_EQ(Count(a, "sys/gpu/utilization"), 8);
  EXPECT_EQ(*Get(a, "sys/gpu/utilization", 7), 17);
}

TEST(NvmlLibrary, MissingLibraryIsNotFound) {
  auto lib = NvmlLibrary::LoadFrom("/nonexistent/libnvidia-ml.so.1");
  ASSERT_FALSE(lib.ok());
  EXPECT_EQ(lib.status().code(), StatusCode::kNotFound);
  EXPECT_NE(lib.status().message().find("no NVIDIA GPU/driver found"), std::string::npos);
}

TEST(NvmlLibrary, NotAnNvmlLibrary) {
  // libc has none of NVML's entry points.
  auto lib = NvmlLibrary::LoadFrom("libc.so.6");
  ASSERT_FALSE(lib.ok());
  EXPECT_EQ(lib.status().code(), StatusCode::kInvalidArgument);
}

TEST_F(GpuCollectorTest, InitFailureIsUnavailable) {
  std::string path = dir_.Join("script");
  vigil::testing::WriteFileOrDie(path, "init_error 9\n");
  setenv("VIGIL_FAKE_NVML_SCRIPT", path.c_str(), 1);
  auto lib = NvmlLibrary::LoadFrom(VIGIL_FAKE_NVML_PATH);
  ASSERT_FALSE(lib.ok());
  EXPECT_EQ(lib.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(lib.status().message().find("Driver Not Loaded"), std::string::npos);
}

TEST(NvmlLibrary, DefaultPathFromEnvironment) {
  setenv("VIGIL_NVML_LIBRARY", "/opt/x/libnvidia-ml.so", 1);
  EXPECT_EQ(NvmlLibrary::DefaultPath(), "/opt/x/libnvidia-ml.so");
  unsetenv("VIGIL_NVML_LIBRARY");
  EXPECT_EQ(NvmlLibrary::DefaultPath(), "libnvidia-ml.so.1");
}

}  // namespace
}  // namespace vigil::collect
