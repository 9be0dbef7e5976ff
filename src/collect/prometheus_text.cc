#include "collect/prometheus_text.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <string_view>

#include <fmt/format.h>

namespace vigil::collect {
namespace {

struct Mapping {
  std::string_view metric;
  PrometheusFamily family;
};

constexpr double kMiB = 1.0 / (1024 * 1024);

// One row per series the collectors produce. DCGM names keep DCGM's units
// (MiB for framebuffer memory, mJ for energy) so that dashboards built for
// dcgm-exporter read them unchanged.
const Mapping kMappings[] = {
    {"sys/gpu/utilization", {"DCGM_FI_DEV_GPU_UTIL", "gauge", "GPU utilization (in %).", 1}},
    {"sys/gpu/memory_utilization",
     {"DCGM_FI_DEV_MEM_COPY_UTIL", "gauge", "Memory utilization (in %).", 1}},
    {"sys/gpu/memory_used_bytes",
     {"DCGM_FI_DEV_FB_USED", "gauge", "Framebuffer memory used (in MiB).", kMiB}},
    {"sys/gpu/memory_free_bytes",
     {"DCGM_FI_DEV_FB_FREE", "gauge", "Framebuffer memory free (in MiB).", kMiB}},
    {"sys/gpu/memory_total_bytes",
     {"DCGM_FI_DEV_FB_TOTAL", "gauge", "Framebuffer memory total (in MiB).", kMiB}},
    {"sys/gpu/power_watts", {"DCGM_FI_DEV_POWER_USAGE", "gauge", "Power draw (in W).", 1}},
    {"sys/gpu/power_limit_watts",
     {"DCGM_FI_DEV_POWER_MGMT_LIMIT", "gauge", "Enforced power limit (in W).", 1}},
    {"sys/gpu/energy_joules",
     {"DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", "gauge",
      "Total energy consumption since the driver was loaded (in mJ).", 1000}},
    {"sys/gpu/temperature_celsius",
     {"DCGM_FI_DEV_GPU_TEMP", "gauge", "GPU temperature (in C).", 1}},
    {"sys/gpu/memory_temperature_celsius",
     {"DCGM_FI_DEV_MEMORY_TEMP", "gauge", "Memory temperature (in C).", 1}},
    {"sys/gpu/sm_clock_mhz", {"DCGM_FI_DEV_SM_CLOCK", "gauge", "SM clock frequency (in MHz).", 1}},
    {"sys/gpu/memory_clock_mhz",
     {"DCGM_FI_DEV_MEM_CLOCK", "gauge", "Memory clock frequency (in MHz).", 1}},
    {"sys/gpu/clock_event_reasons",
     {"DCGM_FI_DEV_CLOCK_THROTTLE_REASONS", "gauge", "Clock event (throttle) reasons bitmask.", 1}},
    {"sys/gpu/throttle",
     {"vigil_gpu_throttle", "gauge", "1 while the GPU's clocks are held down for this reason.", 1}},
    {"sys/gpu/pcie_tx_bytes_per_sec",
     {"DCGM_FI_PROF_PCIE_TX_BYTES", "gauge", "PCIe transmitted bytes per second.", 1}},
    {"sys/gpu/pcie_rx_bytes_per_sec",
     {"DCGM_FI_PROF_PCIE_RX_BYTES", "gauge", "PCIe received bytes per second.", 1}},
    {"sys/gpu/nvlink_tx_bytes_per_sec",
     {"DCGM_FI_PROF_NVLINK_TX_BYTES", "gauge", "NVLink transmitted bytes per second.", 1}},
    {"sys/gpu/nvlink_rx_bytes_per_sec",
     {"DCGM_FI_PROF_NVLINK_RX_BYTES", "gauge", "NVLink received bytes per second.", 1}},
    {"sys/gpu/ecc_corrected_errors",
     {"DCGM_FI_DEV_ECC_SBE_VOL_TOTAL", "gauge", "Corrected (single-bit) volatile ECC errors.", 1}},
    {"sys/gpu/ecc_uncorrected_errors",
     {"DCGM_FI_DEV_ECC_DBE_VOL_TOTAL", "gauge", "Uncorrected (double-bit) volatile ECC errors.",
      1}},
    {"sys/gpu/remapped_rows_corrected",
     {"DCGM_FI_DEV_CORRECTABLE_REMAPPED_ROWS", "gauge", "Rows remapped for correctable errors.",
      1}},
    {"sys/gpu/remapped_rows_uncorrected",
     {"DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS", "gauge", "Rows remapped for uncorrectable errors.",
      1}},
    {"sys/gpu/remapped_rows_pending",
     {"DCGM_FI_DEV_ROW_REMAP_PENDING", "gauge", "1 if a row remapping is pending a reset.", 1}},
    {"sys/gpu/remapped_rows_failure",
     {"DCGM_FI_DEV_ROW_REMAP_FAILURE", "gauge", "1 if a row remapping failed.", 1}},
    {"sys/gpu/xid", {"DCGM_FI_DEV_XID_ERRORS", "gauge", "The last XID error seen.", 1}},
    {"sys/gpu/xid_errors",
     {"vigil_gpu_xid_errors_total", "counter", "XID errors seen by this agent.", 1}},
    {"sys/gpu/process_memory_bytes",
     {"vigil_gpu_process_memory_bytes", "gauge", "GPU memory used by a process.", 1}},
    {"sys/gpu/lost", {"vigil_gpu_lost", "gauge", "1 once NVML reports the GPU lost.", 1}},
    {"sys/gpu/unsupported",
     {"vigil_gpu_unsupported", "gauge", "1 for a field this GPU or driver does not support.", 1}},
    {"sys/cpu/utilization",
     {"vigil_node_cpu_utilization_percent", "gauge", "CPU utilization, all CPUs (in %).", 1}},
    {"sys/cpu/core_utilization",
     {"vigil_node_cpu_core_utilization_percent", "gauge", "CPU utilization per core (in %).", 1}},
    {"sys/load/1", {"node_load1", "gauge", "1m load average.", 1}},
    {"sys/load/5", {"node_load5", "gauge", "5m load average.", 1}},
    {"sys/load/15", {"node_load15", "gauge", "15m load average.", 1}},
    {"sys/mem/total_bytes", {"vigil_node_memory_total_bytes", "gauge", "Memory total.", 1}},
    {"sys/mem/available_bytes",
     {"vigil_node_memory_available_bytes", "gauge", "Memory available (MemAvailable).", 1}},
    {"sys/mem/used_bytes",
     {"vigil_node_memory_used_bytes", "gauge", "Memory used (total - available).", 1}},
    {"sys/swap/total_bytes", {"vigil_node_swap_total_bytes", "gauge", "Swap total.", 1}},
    {"sys/swap/used_bytes", {"vigil_node_swap_used_bytes", "gauge", "Swap used.", 1}},
    {"sys/disk/read_bytes_per_sec",
     {"vigil_node_disk_read_bytes_per_second", "gauge", "Disk bytes read per second.", 1}},
    {"sys/disk/write_bytes_per_sec",
     {"vigil_node_disk_written_bytes_per_second", "gauge", "Disk bytes written per second.", 1}},
    {"sys/net/rx_bytes_per_sec",
     {"vigil_node_network_receive_bytes_per_second", "gauge", "Network bytes received per second.",
      1}},
    {"sys/net/tx_bytes_per_sec",
     {"vigil_node_network_transmit_bytes_per_second", "gauge",
      "Network bytes transmitted per second.", 1}},
    {"sys/proc/cpu_percent",
     {"vigil_process_cpu_percent", "gauge", "CPU of the process tree (100 = one core).", 1}},
    {"sys/proc/rss_bytes",
     {"vigil_process_resident_memory_bytes", "gauge", "Resident memory of the process tree.", 1}},
    {"sys/proc/threads", {"vigil_process_threads", "gauge", "Threads in the process tree.", 1}},
    {"sys/proc/open_files",
     {"vigil_process_open_fds", "gauge", "Open file descriptors in the process tree.", 1}},
    {"sys/proc/count", {"vigil_process_count", "gauge", "Processes in the tree.", 1}},
    {"sys/proc/read_bytes_per_sec",
     {"vigil_process_read_bytes_per_second", "gauge", "Storage bytes read per second.", 1}},
    {"sys/proc/write_bytes_per_sec",
     {"vigil_process_written_bytes_per_second", "gauge", "Storage bytes written per second.", 1}},
    {"sys/proc/gpu_memory_bytes",
     {"vigil_process_gpu_memory_bytes", "gauge", "GPU memory used by the process tree.", 1}},
};

std::string Sanitize(std::string_view metric) {
  std::string out = "vigil_";
  for (char c : metric) {
    out += (std::isalnum(static_cast<unsigned char>(c)) || c == '_') ? c : '_';
  }
  return out;
}

void AppendEscaped(std::string* out, std::string_view v) {
  for (char c : v) {
    if (c == '\\')
      *out += "\\\\";
    else if (c == '"')
      *out += "\\\"";
    else if (c == '\n')
      *out += "\\n";
    else
      *out += c;
  }
}

void AppendValue(std::string* out, double v) {
  if (std::isnan(v))
    *out += "NaN";
  else if (std::isinf(v))
    *out += v > 0 ? "+Inf" : "-Inf";
  else
    *out += fmt::format("{}", v);
}

}  // namespace

PrometheusFamily PrometheusName(std::string_view metric) {
  for (const Mapping& m : kMappings) {
    if (m.metric == metric) return m.family;
  }
  return PrometheusFamily{Sanitize(metric), "gauge", "A vigil agent series.", 1};
}

std::vector<std::string> KnownPrometheusNames() {
  std::vector<std::string> names;
  for (const Mapping& m : kMappings) names.push_back(m.family.name);
  return names;
}

std::string RenderPrometheus(const std::vector<Sample>& samples, const Labels& extra) {
  // Family name -> (family, the indexes of its samples), families in name order.
  std::map<std::string, std::pair<PrometheusFamily, std::vector<size_t>>> families;
  for (size_t i = 0; i < samples.size(); ++i) {
    PrometheusFamily f = PrometheusName(samples[i].metric);
    auto& slot = families[f.name];
    slot.first = f;
    slot.second.push_back(i);
  }
  std::string out;
  for (const auto& [name, entry] : families) {
    const auto& [family, indexes] = entry;
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, family.help, name, family.type);
    for (size_t i : indexes) {
      const Sample& s = samples[i];
      out += name;
      bool first = true;
      auto label = [&](std::string_view k, std::string_view v) {
        out += first ? '{' : ',';
        first = false;
        out += k;
        out += "=\"";
        AppendEscaped(&out, v);
        out += '"';
      };
      for (const auto& [k, v] : s.labels) label(k == "uuid" ? "UUID" : k, v);
      for (const auto& [k, v] : extra) label(k, v);
      if (!first) out += '}';
      out += ' ';
      AppendValue(&out, s.value * family.scale);
      out += '\n';
    }
  }
  return out;
}

}  // namespace vigil::collect
