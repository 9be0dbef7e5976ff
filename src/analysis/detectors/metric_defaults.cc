// DetectorsForMetric: default detectors from metric-name patterns. The
// table is documented in docs/detectors.md; rules files override it.
#include <algorithm>
#include <cctype>
#include <string>

#include "analysis/detectors/detector.h"

namespace vigil::analysis {

namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool Has(const std::string& s, std::string_view part) {
  return s.find(part) != std::string::npos;
}

bool StartsWith(const std::string& s, std::string_view prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

std::string_view LabelValue(const Labels& labels, std::string_view name) {
  for (const Label& l : labels) {
    if (l.name == name) return l.value;
  }
  return {};
}

// A rate (higher is better) rather than a time (lower is better)?
bool IsRate(const std::string& m) {
  if (m.size() >= 2 && m.compare(m.size() - 2, 2, "/s") == 0) return true;  // "tokens/s"
  for (std::string_view w :
       {"per_s", "per_sec", "throughput", "samples_per", "tokens_per", "it_per", "mfu", "flops"}) {
    if (Has(m, w)) return true;
  }
  return false;
}

bool IsThroughput(const std::string& m) {
  if (StartsWith(m, "time/") || StartsWith(m, "perf/")) return true;
  for (std::string_view w : {"step_time", "samples_per_s", "tokens_per_s", "throughput", "it_per_s",
                             "iter_time", "batch_time"}) {
    if (Has(m, w)) return true;
  }
  return false;
}

// NVML clock-event reasons that are not a problem: GPU idle (0x1),
// applications clocks setting (0x2), sync boost (0x10), display clock (0x100).
constexpr const char* kBenignThrottleMask = "0x113";

}  // namespace

std::vector<DetectorSpec> DetectorsForMetric(std::string_view metric, const Labels& labels) {
  std::string m = Lower(metric);
  std::vector<DetectorSpec> out;
  out.push_back({"non_finite", {}, true});

  if (Has(m, "loss") || Has(m, "perplexity") || Has(m, "ppl")) {
    out.push_back({"spike", {{"direction", "up"}, {"threshold", "12"}, {"min_rel", "0.4"}}, true});
    out.push_back({"divergence", {}, true});
    out.push_back({"plateau", {}, false});
  }
  if (Has(m, "grad_norm") || Has(m, "gradnorm") || Has(m, "grad-norm")) {
    out.push_back({"grad_explosion", {}, true});
    out.push_back({"spike", {{"direction", "up"}, {"threshold", "12"}, {"min_rel", "4"}}, true});
  }
  if (!StartsWith(m, "sys/") && IsThroughput(m)) {
    out.push_back({"throughput_drop", {{"direction", IsRate(m) ? "down" : "up"}}, true});
  }
  if (m == "sys/gpu/utilization" || m == "sys/gpu/utilization_percent" || m == "sys/gpu/util") {
    out.push_back({"gpu_idle", {}, true});
  }
  if (m == "sys/gpu/memory_used_bytes" ||
      (StartsWith(m, "sys/") && (Has(m, "memory_used") || Has(m, "rss")))) {
    out.push_back({"memory_growth", {}, true});
  }
  if (Has(m, "throttl") || Has(m, "clock_event")) {
    std::string reason = Lower(LabelValue(labels, "reason"));
    bool benign = reason == "idle" || reason == "gpu_idle" || reason == "applications_clocks" ||
                  reason == "applications_clocks_setting" || reason == "sync_boost" ||
                  reason == "display_clock" || Has(m, "idle");
    if (!benign) {
      DetectorParams p;
      if (Has(m, "reasons") || Has(m, "mask")) p.Set("ignore_mask", kBenignThrottleMask);
      out.push_back({"throttling", std::move(p), true});
    }
  }
  if (Has(m, "xid")) {
    out.push_back({"hw_error", {{"mode", "event"}}, true});
  } else if (Has(m, "ecc") || Has(m, "remapped")) {
    bool corrected = Has(m, "corrected") && !Has(m, "uncorrected");
    DetectorParams p{{"mode", "counter"}};
    if (corrected) p.Set("severity", "warning");
    out.push_back({"hw_error", std::move(p), true});
  }
  return out;
}

}  // namespace vigil::analysis
