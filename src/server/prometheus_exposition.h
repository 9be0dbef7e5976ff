// The body of GET /metrics (Prometheus text format 0.0.4): the server's own
// metrics, storage gauges, run counts by state, and the latest value of
// every series of every running run.
//
// Run series appear as gauges named vigil_run_<metric> with the metric name
// reduced to [a-zA-Z0-9_:] (other characters become '_'), labelled with
// project, run, and the series' own labels (a series label that clashes
// with project or run is exported as exported_project / exported_run). When
// two metrics of a run reduce to the same name and labels, the first (in
// name order) is exported.
//
// Thread-safety: any thread.
#pragma once

#include <string>

#include "server/server_metrics.h"
#include "storage/engine.h"
#include "storage/metadata/metadata_store.h"

namespace vigil::server {

// `train/loss` -> `vigil_run_train_loss`.
std::string RunMetricFamilyName(std::string_view metric);

Status RenderPrometheus(const storage::Engine& engine, storage::MetadataStore* metadata,
                        const ServerMetrics& metrics, std::string* out);

}  // namespace vigil::server
