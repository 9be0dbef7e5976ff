// The agent's samples as the body of POST /api/v1/runs/{id}/log, columnar
// form (src/ingest/batch_decoder.h): one entry per (metric, labels) with
// one point. The step of every point is the sample time in Unix
// milliseconds: system series are read against time, and a step that only
// grows keeps points of an agent restarted into the same run (node mode
// resumes its run) apart from the earlier ones.
//
// Thread-safety: pure functions; any thread.
#pragma once

#include <string>
#include <string_view>

#include "collect/sample.h"

namespace vigil::collect {

std::string EncodeLogBody(const SampleSet& set);

// A run id (core/names.h grammar) made from free text such as a host name:
// characters outside [A-Za-z0-9_-] become '-', cut to 64 bytes,
// "node-<host>" for node mode.
std::string NodeRunId(std::string_view hostname);

}  // namespace vigil::collect
