// Wal: the write-ahead log of the time-series engine, a directory of
// numbered segment files (00000001.wal, ...), each a sequence of records
// framed in 32 KiB blocks with a CRC-32C per fragment (wal/log_format.h,
// docs/format/wal.md). This class knows nothing of what a record means;
// storage/record/ does.
//
// Durability: Append() buffers, Flush() hands bytes to the OS (they then
// survive a crash of this process), Sync() makes them durable on disk
// (fdatasync). The engine acknowledges a batch only after the step its fsync
// policy requires.
//
// Recovery: Replay() reads every record of the segments from a given number
// on. A torn tail — the end of the newest segment, where a crash cut a write
// short — is cut off: the segment is truncated to the end of its last whole
// record and replay reports how many bytes it dropped. A damaged record
// anywhere else is Corruption naming the file and offset: it is not the
// signature of a crash, and silently skipping it could lose acknowledged
// data.
//
// Thread-safety: one writer thread calls Append/Flush/Sync/Rotate;
// RemoveSegmentsBefore and the accessors may be called from any thread.
// Replay must finish before the first Append.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "core/status.h"

namespace vigil::storage {

class WritableFile;
class LogWriter;

struct WalOptions {
  std::string dir;  // created if missing
  // A segment is closed and a new one started once it reaches this size.
  // Bounded so that segments made obsolete by a flush can be deleted whole.
  uint64_t segment_bytes = 64ull << 20;
};

struct WalReplayStats {
  uint64_t segments = 0;
  uint64_t records = 0;
  uint64_t bytes = 0;
  uint64_t torn_tail_bytes = 0;  // dropped from the end of the newest segment
};

class Wal {
 public:
  // Opens (creating) the directory and lists its segments. Appends go to a
  // new segment numbered after the last existing one.
  static Result<std::unique_ptr<Wal>> Open(const WalOptions& options);
  ~Wal();
  Wal(const Wal&) = delete;
  Wal& operator=(const Wal&) = delete;

  // Calls fn for each record of segments numbered >= first_segment, in
  // order. Stops and returns fn's error if it returns one. See the header
  // comment for torn tails and corruption. The view passed to fn is valid
  // only during the call. stats->bytes counts record bytes (not framing).
  Status Replay(uint64_t first_segment, const std::function<Status(std::string_view)>& fn,
                WalReplayStats* stats);

  // Appends one record (any size, any bytes) to the current segment; rotates
  // first when the segment is full.
  Status Append(std::string_view record);
  Status Flush();
  // After a failed Sync every later Append/Flush/Sync/Rotate fails with the
  // same error: once fdatasync has failed, the kernel may have dropped the
  // dirty pages, so nothing written since the last good Sync is known to be
  // durable (reopen the Wal, which replays what did reach the disk).
  Status Sync();
  // Syncs and closes the current segment and starts a new one; returns the
  // new segment's number. Every record appended afterwards is in segments
  // >= that number.
  Result<uint64_t> Rotate();
  // Deletes segments numbered < n (never the current one).
  Status RemoveSegmentsBefore(uint64_t n);

  uint64_t current_segment() const { return current_segment_.load(); }
  // Bytes in all live segments.
  uint64_t total_bytes() const { return total_bytes_.load(); }

 private:
  explicit Wal(WalOptions options);
  Status OpenSegment(uint64_t number);
  std::string SegmentPath(uint64_t number) const;

  const WalOptions options_;
  std::unique_ptr<WritableFile> file_;  // written by the writer thread only
  std::unique_ptr<LogWriter> writer_;
  Status sync_error_;  // sticky, see Sync(); writer thread only
  std::atomic<uint64_t> current_segment_{0};
  std::atomic<uint64_t> total_bytes_{0};
  std::mutex segments_mu_;
  std::vector<uint64_t> segments_;  // GUARDED_BY(segments_mu_), ascending
};

// "00000042.wal"
std::string WalSegmentName(uint64_t number);

}  // namespace vigil::storage
