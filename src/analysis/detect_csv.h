// Offline detection over a CSV file: the engine of `vigil detect`. Reads
// `step,value` or `timestamp,value` rows (a header line is detected and
// kept), runs the same streaming detectors the server runs, in row order,
// and writes every input row unchanged followed by `,score,flag`: the
// highest anomaly score of any detector at that row (in [0, 1]) and 1 when
// any detector's condition holds there.
//
// Input rules (docs/detectors.md, "vigil detect"):
//   - The first line is a header when its first field is not a number; a
//     column named step/timestamp/time/ts/x gives the axis, a column named
//     value (else the second column) the value. Without a header the first
//     column is the axis and the second the value.
//   - A step axis is integers; a time axis is Unix seconds (fractions
//     allowed), Unix milliseconds (values >= 1e11) or ISO 8601 UTC
//     (2024-05-01T12:00:00Z, optional fraction). Rows are fed in file order.
//   - The value may be nan, inf, -inf (any case) or empty (NaN).
//   - Blank lines are copied through; \r\n line ends are kept.
//
// Thread-safety: a pure function.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "analysis/detectors/detector.h"
#include "core/status.h"

namespace vigil::analysis {

struct DetectCsvOptions {
  // "auto": DetectorsForMetric(metric) (its enabled detectors; when that
  // yields only non_finite, spike is added). Otherwise one detector name
  // (plus non_finite, so that a NaN always flags).
  std::string detector = "auto";
  DetectorParams params;         // for a named detector only
  std::string metric = "value";  // picks defaults and names the series in messages
};

struct DetectCsvResult {
  std::string csv;                     // the output rows
  std::vector<Finding> findings;       // every firing and resolve, in row order
  size_t rows = 0;                     // data rows read
  std::vector<std::string> detectors;  // the detectors that ran
};

// InvalidArgument (naming the line) for a malformed row or option.
Result<DetectCsvResult> DetectCsv(std::string_view input, const DetectCsvOptions& options);

}  // namespace vigil::analysis
