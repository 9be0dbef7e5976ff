// The typed records that the engine writes to its WAL, above the framing of
// storage/wal. One ingest batch is one record, so a batch is replayed whole
// or not at all. Layout: docs/format/wal.md ("Records").
//
//   kBatch     new series definitions (id, run, metric, labels) followed by
//              samples per series id (steps, times as zigzag-varint deltas;
//              values as raw little-endian float64 bits, bit-exact)
//   kDeleteRun a run whose series with id <= max_series_id are deleted
//
// Decoding never trusts its input: any malformed record is Corruption.
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/result.h"
#include "core/types.h"

namespace vigil::storage {

enum class WalRecordType : uint8_t {
  kBatch = 1,
  kDeleteRun = 2,
};

struct NewSeries {
  uint64_t id = 0;
  SeriesKey key;
  friend bool operator==(const NewSeries&, const NewSeries&) = default;
};

struct SeriesSamples {
  uint64_t id = 0;
  std::vector<int64_t> steps;
  std::vector<int64_t> times;
  std::vector<double> values;
};

struct BatchRecord {
  std::vector<NewSeries> new_series;
  std::vector<SeriesSamples> samples;
};

struct DeleteRunRecord {
  std::string run;
  uint64_t max_series_id = 0;
};

using WalRecord = std::variant<BatchRecord, DeleteRunRecord>;

// Encodes a batch record straight from the ingest batch: samples of
// batch.series[i] go under series id series_ids[i]; `new_series` are the
// definitions of the ids this batch creates. Appends to *out.
// REQUIRES: series_ids.size() == batch.series.size()
void EncodeBatchRecord(std::span<const NewSeries> new_series, const WriteBatch& batch,
                       std::span<const uint64_t> series_ids, std::string* out);

void EncodeDeleteRunRecord(const DeleteRunRecord& record, std::string* out);

Result<WalRecord> DecodeWalRecord(std::string_view bytes);

}  // namespace vigil::storage
