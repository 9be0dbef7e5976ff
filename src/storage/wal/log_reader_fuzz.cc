// libFuzzer target: arbitrary bytes as a WAL segment. Every record the log
// reader delivers goes to DecodeWalRecord (and so does the raw input); a record that decodes must
// re-encode to a record that decodes to the same value. Checks, besides
// memory safety (ASan/UBSan): the reader ends in exactly one state, never
// reads past its data, reports offsets inside it, and a torn tail's
// truncation point re-reads cleanly with the same records.
#include <bit>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "storage/record/wal_record.h"
#include "storage/wal/log_reader.h"

namespace vigil::storage {
namespace {

void Check(bool ok) {
  if (!ok) std::abort();
}

bool SameBatch(const BatchRecord& a, const BatchRecord& b) {
  if (a.new_series != b.new_series || a.samples.size() != b.samples.size()) return false;
  for (size_t i = 0; i < a.samples.size(); ++i) {
    const SeriesSamples& x = a.samples[i];
    const SeriesSamples& y = b.samples[i];
    if (x.id != y.id || x.steps != y.steps || x.times != y.times) return false;
    if (x.values.size() != y.values.size()) return false;
    for (size_t j = 0; j < x.values.size(); ++j) {
      if (std::bit_cast<uint64_t>(x.values[j]) != std::bit_cast<uint64_t>(y.values[j])) {
        return false;
      }
    }
  }
  return true;
}

void CheckRecord(std::string_view bytes) {
  Result<WalRecord> r = DecodeWalRecord(bytes);
  if (!r.ok()) {
    Check(r.status().IsCorruption());
    return;
  }
  std::string again;
  if (const auto* batch = std::get_if<BatchRecord>(&*r)) {
    WriteBatch wb;
    std::vector<uint64_t> ids;
    for (const SeriesSamples& s : batch->samples) {
      SeriesColumns c;
      c.steps = s.steps;
      c.times = s.times;
      c.values = s.values;
      wb.series.push_back(std::move(c));
      ids.push_back(s.id);
    }
    EncodeBatchRecord(batch->new_series, wb, ids, &again);
    Result<WalRecord> r2 = DecodeWalRecord(again);
    Check(r2.ok() && std::holds_alternative<BatchRecord>(*r2) &&
          SameBatch(*batch, std::get<BatchRecord>(*r2)));
  } else {
    const auto& del = std::get<DeleteRunRecord>(*r);
    EncodeDeleteRunRecord(del, &again);
    Result<WalRecord> r2 = DecodeWalRecord(again);
    Check(r2.ok() && std::holds_alternative<DeleteRunRecord>(*r2));
    const auto& del2 = std::get<DeleteRunRecord>(*r2);
    Check(del.run == del2.run && del.max_series_id == del2.max_series_id);
  }
}

}  // namespace
}  // namespace vigil::storage

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using vigil::storage::LogReader;
  std::string_view segment(reinterpret_cast<const char*>(data), size);
  LogReader reader(segment, "fuzz.wal");
  std::vector<std::string> records;
  std::string_view record;
  while (reader.ReadRecord(&record)) {
    records.emplace_back(record);
    vigil::storage::CheckRecord(record);
  }
  vigil::storage::Check(reader.end() != LogReader::End::kNotYet);
  vigil::storage::Check(reader.valid_end() <= size);
  if (reader.end() == LogReader::End::kClean) {
    vigil::storage::Check(reader.valid_end() == size && reader.status().ok());
  } else {
    vigil::storage::Check(reader.status().IsCorruption());
    vigil::storage::Check(reader.damage_offset() >= reader.valid_end() &&
                          reader.damage_offset() <= size);
  }
  if (reader.end() == LogReader::End::kTornTail) {
    // What Wal::Replay does: truncate and read again.
    LogReader again(segment.substr(0, reader.valid_end()), "fuzz.wal");
    size_t n = 0;
    while (again.ReadRecord(&record)) {
      vigil::storage::Check(n < records.size() && record == records[n]);
      ++n;
    }
    vigil::storage::Check(n == records.size() && again.end() == LogReader::End::kClean);
  }
  // Mutations rarely keep a fragment's CRC valid, so the record decoder
  // also gets the raw input, to reach its paths directly.
  vigil::storage::CheckRecord(segment);
  return 0;
}
