// The agent's /metrics: the latest `sys/...` samples in the Prometheus text
// exposition format (version 0.0.4), under names in the spirit of
// dcgm-exporter (DCGM_FI_DEV_GPU_UTIL{gpu,UUID,...}) and node_exporter
// (node_load1), and vigil_* names where no exporter has a direct
// equivalent (node_exporter exports counters where the agent has rates).
// docs/monitoring.md has the full table; deploy/grafana's dashboard queries
// these names, and its test checks them against PrometheusName().
//
// Thread-safety: pure functions; any thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "collect/sample.h"

namespace vigil::collect {

struct PrometheusFamily {
  std::string name;  // "DCGM_FI_DEV_GPU_UTIL"
  const char* type;  // "gauge" or "counter"
  const char* help;
  double scale;  // applied to the sample's value (bytes -> MiB for DCGM_FI_DEV_FB_*)
};

// The family a sample's metric is exposed as; unknown metrics get a
// generic "vigil_" + sanitised name gauge.
PrometheusFamily PrometheusName(std::string_view metric);

// Every family name that PrometheusName() can return for the series the
// collectors produce (for tests and the dashboard check).
std::vector<std::string> KnownPrometheusNames();

// The exposition text of `samples` (the latest value of each series), each
// with `extra` labels appended (e.g. {"Hostname": "node1"}), families
// grouped with # HELP and # TYPE. `uuid` labels are renamed `UUID` as in
// dcgm-exporter.
std::string RenderPrometheus(const std::vector<Sample>& samples, const Labels& extra);

}  // namespace vigil::collect
