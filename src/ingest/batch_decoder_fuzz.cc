// libFuzzer target for DecodeLogBatch: arbitrary bytes must never crash,
// leak or trip a sanitizer, and whatever is accepted must satisfy the
// WriteBatch invariants and be valid JSON by simdjson's DOM parser (which,
// unlike On Demand, validates the whole document). simdjson 3.0.1's DOM
// parser rejects integers beyond 64 bits, which the decoder accepts as values
// (rounded to a double), so the copy it checks has every run of 20 or more
// digits cut to its first two: that keeps a number a number and a leading
// zero an error.
//
//   build/h-ingest-asan/batch_decoder_fuzz -dict=src/ingest/batch_decoder_fuzz.dict \
//       -max_total_time=60 CORPUS_DIR src/ingest/fuzz_corpus
#include <simdjson.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>

#include "core/names.h"
#include "ingest/batch_decoder.h"

namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "invariant broken: %s\n", what);
    std::abort();
  }
}

std::string ShortenDigitRuns(const std::string& s) {
  std::string out;
  size_t i = 0;
  while (i < s.size()) {
    size_t j = i;
    while (j < s.size() && s[j] >= '0' && s[j] <= '9') ++j;
    if (j - i >= 20) {
      out.append(s, i, 2);
      i = j;
    } else if (j > i) {
      out.append(s, i, j - i);
      i = j;
    } else {
      out.push_back(s[i++]);
    }
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  std::string body = input;  // exact capacity, sometimes without padding room
  vigil::ingest::IngestLimits limits;
  limits.max_series = 64;
  limits.max_points = 4096;
  limits.max_labels = 4;
  vigil::Result<vigil::WriteBatch> r =
      vigil::ingest::DecodeLogBatch(&body, "run", limits, 1'732'800'000'000);
  Check(body == input, "body content unchanged");
  if (!r.ok()) {
    Check(r.status().code() == vigil::StatusCode::kInvalidArgument ||
              r.status().code() == vigil::StatusCode::kResourceExhausted,
          "error code");
    Check(!r.status().message().empty(), "error message");
    return 0;
  }
  const vigil::WriteBatch& batch = *r;
  Check(batch.run == "run", "batch run");
  Check(batch.series.size() <= limits.max_series, "max_series");
  Check(batch.PointCount() <= limits.max_points, "max_points");
  std::set<std::string> keys;
  for (const vigil::SeriesColumns& s : batch.series) {
    Check(s.key.run == "run", "series run");
    Check(vigil::ValidateMetricName(s.key.metric).ok(), "metric name");
    Check(s.key.labels.size() <= limits.max_labels, "max_labels");
    for (size_t i = 0; i < s.key.labels.size(); ++i) {
      Check(vigil::ValidateLabelName(s.key.labels[i].name).ok(), "label name");
      Check(vigil::ValidateLabelValue(s.key.labels[i].value).ok(), "label value");
      Check(i == 0 || s.key.labels[i - 1].name < s.key.labels[i].name, "labels sorted, unique");
    }
    Check(keys.insert(s.key.Canonical()).second, "series appear once");
    Check(s.size() > 0, "series has points");
    Check(s.steps.size() == s.size() && s.times.size() == s.size(), "column lengths");
    for (size_t i = 0; i < s.size(); ++i) {
      Check(s.steps[i] >= 0, "step >= 0");
      Check(s.times[i] >= 0 && s.times[i] <= 253'402'300'799'999, "time range");
    }
  }
  simdjson::dom::parser dom;
  simdjson::padded_string padded(ShortenDigitRuns(input));
  simdjson::dom::element root;
  Check(dom.parse(padded).get(root) == simdjson::SUCCESS, "accepted body is valid JSON");
  return 0;
}
