#include "storage/wal/log_writer.h"

#include <algorithm>

#include "core/crc32c.h"
#include "storage/file.h"

namespace vigil::storage {

using log::kBlockSize;
using log::kHeaderSize;

LogWriter::LogWriter(WritableFile* dest)
    : dest_(dest), block_offset_(static_cast<size_t>(dest->size() % kBlockSize)) {
  for (int t = 0; t <= log::kMaxFragmentType; ++t) {
    char c = static_cast<char>(t);
    type_crc_[t] = crc32c::Value(&c, 1);
  }
}

// Every fragment of the record is handed to the file even after an append
// fails: WritableFile keeps bytes it could not write (its invariant), so the
// whole record stays queued in order and a later Flush can complete it.
// Stopping halfway instead would leave a partial record followed by later
// ones, which replay must treat as corruption.
Status LogWriter::AddRecord(std::string_view record) {
  Status first_error;
  auto keep = [&first_error](Status s) {
    if (first_error.ok() && !s.ok()) first_error = std::move(s);
  };
  const char* p = record.data();
  size_t left = record.size();
  bool begin = true;
  // do/while: an empty record still gets one (FULL, zero-length) fragment.
  do {
    const size_t block_left = kBlockSize - block_offset_;
    if (block_left < kHeaderSize) {
      // Trailer: too small for a header. Zero-fill it; the reader skips it.
      static constexpr char kZeros[kHeaderSize] = {};
      if (block_left > 0) keep(dest_->Append({kZeros, block_left}));
      block_offset_ = 0;
    }
    // Invariant: at least kHeaderSize bytes are left in the block. With
    // exactly kHeaderSize left, the fragment is empty (a zero-length FIRST),
    // as in leveldb: simpler than a special case, costs 7 bytes.
    const size_t avail = kBlockSize - block_offset_ - kHeaderSize;
    const size_t n = std::min(left, avail);
    const bool end = n == left;
    log::FragmentType type = begin && end ? log::kFullType
                             : begin      ? log::kFirstType
                             : end        ? log::kLastType
                                          : log::kMiddleType;
    keep(EmitFragment(type, p, n));
    p += n;
    left -= n;
    begin = false;
  } while (left > 0);
  return first_error;
}

Status LogWriter::EmitFragment(log::FragmentType type, const char* payload, size_t n) {
  // Header: masked crc (fixed32 LE) | length (fixed16 LE) | type (see log_format.h).
  char header[kHeaderSize];
  uint32_t crc = crc32c::Mask(crc32c::Extend(type_crc_[type], payload, n));
  for (int i = 0; i < 4; ++i) header[i] = static_cast<char>(crc >> (8 * i));
  header[4] = static_cast<char>(n & 0xff);
  header[5] = static_cast<char>(n >> 8);
  header[6] = static_cast<char>(type);
  // Both appends happen even if the first fails (see AddRecord), so the
  // framing on disk stays what block_offset_ says it is.
  block_offset_ += kHeaderSize + n;
  Status s = dest_->Append({header, kHeaderSize});
  Status t = dest_->Append({payload, n});
  return s.ok() ? t : s;
}

}  // namespace vigil::storage
