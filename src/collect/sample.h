// Sample: one measured value of one series at one instant, as the
// collectors produce it and the agent ships it (to the server as a `sys/...`
// series, to Prometheus under the name prometheus_text.h maps it to).
// Plain values; not thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace vigil::collect {

using Labels = std::vector<std::pair<std::string, std::string>>;

struct Sample {
  std::string metric;  // "sys/gpu/utilization"
  Labels labels;       // {"gpu": "0", "uuid": "GPU-..."}
  double value = 0;
};

// One round of collection: every value read at (about) `time_ms`, plus
// notices meant for a human, each reported once (an unsupported field, a
// lost GPU, an XID error), and facts about the host (GPU names, driver
// version) for the run's or host's info.
struct SampleSet {
  int64_t time_ms = 0;
  std::vector<Sample> samples;
  std::vector<std::string> notices;
  std::vector<std::pair<std::string, std::string>> info;  // ("gpu/0/name", "NVIDIA H100")

  void Add(std::string metric, Labels labels, double value) {
    samples.push_back(Sample{std::move(metric), std::move(labels), value});
  }
};

}  // namespace vigil::collect
