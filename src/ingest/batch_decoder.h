// Decoding and validation of the body of POST /api/v1/runs/{id}/log into a
// WriteBatch. The whole batch is checked before anything is returned, so a
// batch is stored entirely or not at all.
//
// Two forms (docs/api.md, "Logging points"):
//   rows:   {"rows": [{"step": 10, "time": 1732800000123,
//                      "values": {"train/loss": 0.51}, "labels": {"rank": "0"}}]}
//   series: {"series": [{"metric": "train/loss", "labels": {"rank": "0"},
//                        "steps": [...], "times": [...], "values": [...]}]}
// `time` / `times` may be omitted (the server's receive time is used). A
// value is a JSON number or one of "NaN", "Infinity", "-Infinity". Points of
// the same series in one batch are merged in the order given.
//
// Errors are InvalidArgument (or ResourceExhausted for a limit) with a
// message that starts with the JSON path of the offending element:
//   rows[3].values["train/loss"]: expected a number or "NaN", "Infinity",
//   "-Infinity", got the string "abc"
//
// Rules beyond that (batch_decoder.cc lists them with their reasons): a step
// is an integer in [0, 2^63-1], a time an integer in [0, 253402300799999]
// (year 9999); a number out of double's range is an error, not an infinity;
// exactly one of "rows" and "series"; unknown or repeated keys, empty
// "values" objects and empty point arrays are errors; labels follow
// core/names.h, "run" and "project" are reserved, and they are sorted so
// that their order in the body does not matter. Limits: max_series and
// max_points give ResourceExhausted, checked while parsing; max_labels gives
// InvalidArgument.
//
// Thread-safety: pure function; any thread. Each thread keeps one parser
// (its buffers sized to the largest body up to 8 MiB it has decoded).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.h"
#include "core/types.h"

namespace vigil::ingest {

// Documented limits of one batch; each is configurable on `vigil serve`.
struct IngestLimits {
  size_t max_series = 10'000;     // distinct series in one batch
  size_t max_points = 1'000'000;  // points in one batch
  size_t max_labels = 32;         // labels on one series
};

// Decodes `body` for run `run` (already known to exist). `now_ms` stands in
// for missing times. `body` may be grown in capacity (not content) to give
// the parser the padding it reads past the end.
Result<WriteBatch> DecodeLogBatch(std::string* body, std::string_view run,
                                  const IngestLimits& limits, int64_t now_ms);

}  // namespace vigil::ingest
