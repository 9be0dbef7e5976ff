// LogWriter: frames records into the 32 KiB blocks of a WAL segment
// (log_format.h, docs/format/wal.md) and appends them to a WritableFile.
// It knows nothing of what a record means and nothing of durability: the
// caller flushes and syncs the file.
//
// Thread-safety: one thread at a time (the WAL's writer thread).
#pragma once

#include <cstdint>
#include <string_view>

#include "core/status.h"
#include "storage/wal/log_format.h"

namespace vigil::storage {

class WritableFile;

class LogWriter {
 public:
  // Appends to *dest, which must outlive the writer and may already hold
  // bytes (framing continues at dest->size() % kBlockSize).
  explicit LogWriter(WritableFile* dest);
  LogWriter(const LogWriter&) = delete;
  LogWriter& operator=(const LogWriter&) = delete;

  // Appends one record of any size (empty included) as one FULL fragment or
  // a FIRST, MIDDLE..., LAST chain. On error the file is still a prefix of
  // the framed stream (WritableFile keeps what it could not write), so a
  // reader sees at worst a torn tail.
  Status AddRecord(std::string_view record);

 private:
  Status EmitFragment(log::FragmentType type, const char* payload, size_t n);

  WritableFile* const dest_;
  size_t block_offset_;  // bytes already used in the current block
  // CRC-32C of each type byte, the seed of every fragment's checksum.
  uint32_t type_crc_[log::kMaxFragmentType + 1];
};

}  // namespace vigil::storage
