// LogReader: reads the records of one WAL segment held whole in memory (a
// MappedFile's view), verifying every fragment's CRC, and classifies how the
// segment ends. Format: log_format.h, docs/format/wal.md.
//
// How a segment ends (end() once ReadRecord has returned false):
//   kClean      the last record ends exactly at the end of the data.
//   kTornTail   bytes after the last whole record hold no whole record:
//               a write cut short by a crash (a partial fragment, a FIRST..
//               chain without its LAST, zero-filled or garbage bytes).
//               valid_end() is where the segment should be truncated.
//   kCorruption a damaged fragment (bad CRC, bad type or length, a broken
//               FIRST/MIDDLE/LAST sequence) is followed by at least one whole,
//               valid record: not what a crash leaves, so status() is
//               Corruption naming the file and the damage's offset.
// The reader cannot know whether its segment is the newest; the caller (Wal)
// decides whether a torn tail is acceptable there.
//
// A record is delivered only when all its fragments are present and valid:
// a batch is replayed whole or not at all.
//
// Thread-safety: one thread at a time; the data must outlive the reader.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace vigil::storage {

class LogReader {
 public:
  enum class End {
    kNotYet,  // ReadRecord has not returned false yet
    kClean,
    kTornTail,
    kCorruption,
  };

  // `data` is the whole segment; `file` names it in error messages.
  LogReader(std::string_view data, std::string file);
  LogReader(const LogReader&) = delete;
  LogReader& operator=(const LogReader&) = delete;

  // Sets *record to the next whole record and returns true, or returns false
  // at the end of the records (see end()). *record stays valid until the
  // next call (it points into `data` or into the reader's scratch buffer).
  bool ReadRecord(std::string_view* record);

  End end() const { return end_; }
  // Offset just past the last record delivered (0 before the first).
  uint64_t valid_end() const { return valid_end_; }
  // For kTornTail and kCorruption: offset of the first damaged byte (for a
  // record cut short, the offset of its first fragment).
  uint64_t damage_offset() const { return damage_offset_; }
  // OK for kClean and kNotYet; for kTornTail and kCorruption, a Corruption
  // naming the file, the offset and what is wrong (a caller that accepts
  // the torn tail ignores it).
  const Status& status() const { return status_; }

 private:
  struct Fragment;
  // Parses the fragment whose header starts at `pos`. REQUIRES: a header fits
  // in the block at pos.
  bool ParseFragment(uint64_t pos, Fragment* f, const char** why) const;
  // Whether a whole valid record (a FULL fragment, or a FIRST..LAST chain)
  // starts at any offset >= from.
  bool WholeRecordFrom(uint64_t from) const;
  // Ends the read at damage found at `damage`, scanning from `scan_from`.
  void Stop(uint64_t damage, uint64_t scan_from, const char* why);

  const std::string_view data_;
  const std::string file_;
  uint64_t pos_ = 0;  // next fragment header (or trailer)
  uint64_t valid_end_ = 0;
  uint64_t damage_offset_ = 0;
  End end_ = End::kNotYet;
  Status status_;
  std::string scratch_;  // a record assembled from several fragments
};

}  // namespace vigil::storage
