#include "collect/prometheus_text.h"

#include <gtest/gtest.h>

namespace vigil::collect {
namespace {

TEST(PrometheusText, DcgmNameWithDcgmUnitsAndUuidLabel) {
  std::vector<Sample> s{{"sys/gpu/memory_used_bytes", {{"gpu", "0"}, {"uuid", "GPU-a"}}, 3 << 20}};
  std::string text = RenderPrometheus(s, {{"Hostname", "n1"}});
  EXPECT_EQ(text,
            "# HELP DCGM_FI_DEV_FB_USED Framebuffer memory used (in MiB).\n"
            "# TYPE DCGM_FI_DEV_FB_USED gauge\n"
            "DCGM_FI_DEV_FB_USED{gpu=\"0\",UUID=\"GPU-a\",Hostname=\"n1\"} 3\n");
}

TEST(PrometheusText, FamiliesAreContiguous) {
  std::vector<Sample> s{{"sys/gpu/utilization", {{"gpu", "0"}}, 1},
                        {"sys/load/1", {}, 0.5},
                        {"sys/gpu/utilization", {{"gpu", "1"}}, 2}};
  std::string text = RenderPrometheus(s, {});
  size_t type = text.find("# TYPE DCGM_FI_DEV_GPU_UTIL gauge\n");
  ASSERT_NE(type, std::string::npos);
  size_t g0 = text.find("DCGM_FI_DEV_GPU_UTIL{gpu=\"0\"} 1\n");
  size_t g1 = text.find("DCGM_FI_DEV_GPU_UTIL{gpu=\"1\"} 2\n");
  size_t load = text.find("node_load1 0.5\n");
  ASSERT_NE(g0, std::string::npos);
  ASSERT_NE(g1, std::string::npos);
  ASSERT_NE(load, std::string::npos);
  EXPECT_EQ(g1, g0 + std::string("DCGM_FI_DEV_GPU_UTIL{gpu=\"0\"} 1\n").size());
  EXPECT_EQ(text.find("# TYPE DCGM_FI_DEV_GPU_UTIL"), text.rfind("# TYPE DCGM_FI_DEV_GPU_UTIL"));
}

TEST(PrometheusText, LabelValuesAreEscaped) {
  std::vector<Sample> s{{"sys/net/rx_bytes_per_sec", {{"interface", "a\"b\\c\nd"}}, 1}};
  std::string text = RenderPrometheus(s, {});
  EXPECT_NE(text.find("{interface=\"a\\\"b\\\\c\\nd\"} 1\n"), std::string::npos) << text;
}

TEST(PrometheusText, NonFiniteValues) {
  std::vector<Sample> s{{"sys/load/1", {}, std::numeric_limits<double>::quiet_NaN()},
                        {"sys/load/5", {}, std::numeric_limits<double>::infinity()}};
  std::string text = RenderPrometheus(s, {});
  EXPECT_NE(text.find("node_load1 NaN\n"), std::string::npos);
  EXPECT_NE(text.find("node_load5 +Inf\n"), std::string::npos);
}

TEST(PrometheusText, UnknownMetricGetsASanitisedName) {
  EXPECT_EQ(PrometheusName("sys/new-thing.x").name, "vigil_sys_new_thing_x");
}

TEST(PrometheusText, EnergyInMillijoules) {
  EXPECT_EQ(PrometheusName("sys/gpu/energy_joules").scale, 1000);
  std::vector<Sample> s{{"sys/gpu/energy_joules", {}, 1.5}};
  EXPECT_NE(RenderPrometheus(s, {}).find("DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION 1500\n"),
            std::string::npos);
}

TEST(PrometheusText, KnownNamesAreUnique) {
  auto names = KnownPrometheusNames();
  std::sort(names.begin(), names.end());
  EXPECT_EQ(std::adjacent_find(names.begin(), names.end()), names.end());
  EXPECT_GT(names.size(), 40u);
}

}  // namespace
}  // namespace vigil::collect
