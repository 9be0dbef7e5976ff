// Engine: vigil's embedded time-series engine. Appends validated batches
// durably, serves reads of any series at full resolution or as chunk
// summaries for downsampling, and keeps its data directory compact.
//
// Data directory (EngineOptions::dir):
//   LOCK           flock'ed while open: one engine per directory
//   MANIFEST       which block files are live, where the WAL starts
//   wal/           write-ahead log segments (storage/wal)
//   blocks/        immutable block files (storage/block.h)
//
// Write path: Append() queues a batch; the commit thread takes every queued
// batch at once (group commit), drops points that repeat a stored point
// exactly (same step, time and value bits: a re-sent batch is idempotent),
// writes one WAL record per batch, makes the group durable per the fsync
// policy, applies it to the head, and only then calls each batch's callback.
// A batch is therefore acknowledged only once durable, and is visible to
// readers exactly when it is acknowledged; a failed batch stores nothing.
//
// Background: when the head passes flush_bytes (or flush_interval passes) it
// is swapped out and written as a block, after which the WAL segments it
// came from are deleted. Blocks of similar size are merged (compaction) and
// re-chunked into block_chunk_points-point chunks, so the directory does
// not grow with the number of small appends; retention drops expired data.
//
// Recovery (Open): blocks named by the manifest are loaded, then the WAL is
// replayed from the manifest's wal_start into a fresh head; a torn WAL tail
// is cut off (those batches were never acknowledged).
//
// Thread-safety: every public method may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "core/types.h"
#include "storage/chunk_meta.h"
#include "storage/manifest.h"
#include "storage/series_catalog.h"

namespace vigil::storage {

class BlockReader;
class FileLock;
class Head;
class Wal;

enum class FsyncPolicy {
  kBatch,     // fdatasync before acknowledging each group commit (default)
  kInterval,  // acknowledge after write(2); fdatasync every fsync_interval
  kOff,       // never fdatasync (survives a process crash, not power loss)
};
Result<FsyncPolicy> ParseFsyncPolicy(std::string_view name);
std::string_view FsyncPolicyName(FsyncPolicy policy);

struct EngineOptions {
  std::string dir;
  FsyncPolicy fsync = FsyncPolicy::kBatch;
  std::chrono::milliseconds fsync_interval{200};
  // Points older than now - retention (by time) are dropped; 0 keeps all.
  int64_t retention_ms = 0;
  // Points per chunk in the head (bounds the head's raw memory per series)
  // and in blocks written by compaction (fewer, larger chunks compress and
  // summarise better).
  size_t head_chunk_points = 256;
  size_t block_chunk_points = 1024;
  size_t flush_bytes = 64ull << 20;
  std::chrono::seconds flush_interval{900};
  // Blocks of the same size tier are merged this many at a time.
  size_t compaction_fanin = 4;
  // Queued-but-uncommitted points beyond which Append answers Unavailable.
  size_t max_pending_points = 8'000'000;
  uint64_t wal_segment_bytes = 64ull << 20;
  bool flush_on_close = true;
  const Clock* clock = &SystemClock::Get();
};

struct AppendResult {
  uint64_t accepted = 0;    // points stored
  uint64_t duplicates = 0;  // points dropped as exact repeats of stored ones
  uint64_t new_series = 0;
};

enum class Axis { kStep, kTime };

// An inclusive range on one axis.
struct ReadRange {
  Axis axis = Axis::kStep;
  int64_t from = std::numeric_limits<int64_t>::min();
  int64_t to = std::numeric_limits<int64_t>::max();
};

// One chunk of a series as a reader sees it: its summary and either its
// encoded bytes (kept alive by `owner`) or, for the head's open chunk, its
// raw points.
struct ChunkView {
  ChunkMeta meta;
  std::string_view bytes;
  std::shared_ptr<const void> owner;
  // Chunks from block files carry their stored CRC, checked by Decode (so
  // that readers answering from `meta` alone do not pay for it).
  bool check_crc = false;
  uint32_t masked_crc = 0;
  const std::string* file = nullptr;  // for error messages, with offset
  uint64_t offset = 0;
  std::vector<int64_t> raw_steps, raw_times;
  std::vector<double> raw_values;

  // Appends the chunk's points to the columns given (null skips one).
  Status Decode(std::vector<int64_t>* steps, std::vector<int64_t>* times,
                std::vector<double>* values) const;
};

struct EngineStats {
  uint64_t series = 0;
  uint64_t head_points = 0;
  uint64_t head_bytes = 0;
  uint64_t blocks = 0;
  uint64_t block_bytes = 0;
  uint64_t block_points = 0;
  uint64_t wal_bytes = 0;
  uint64_t points_appended = 0;  // since start
  uint64_t batches_committed = 0;
  uint64_t group_commits = 0;
  uint64_t fsyncs = 0;
  uint64_t duplicates_dropped = 0;
  uint64_t flushes = 0;
  uint64_t compactions = 0;
  uint64_t pending_points = 0;
  uint64_t replayed_records = 0;  // at the last Open
  uint64_t torn_tail_bytes = 0;   // cut at the last Open
};

class Engine {
 public:
  static Result<std::unique_ptr<Engine>> Open(const EngineOptions& options);
  ~Engine();  // Close()
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  using AppendCallback = std::function<void(Result<AppendResult>)>;
  // Queues `batch` (validated by ingest); `done` runs on the commit thread
  // once it is durable and visible, or with the error that stored nothing.
  // Unavailable if the queue is full or the engine is closing.
  void Append(WriteBatch batch, AppendCallback done);
  // Append and wait.
  Result<AppendResult> AppendSync(WriteBatch batch);
  // Deletes every series of `run` durably (a WAL record), then frees space
  // as blocks are compacted.
  Status DeleteRun(const std::string& run);

  std::vector<SeriesInfo> ListSeries(std::string_view run) const;
  std::optional<SeriesInfo> FindSeries(const SeriesKey& key) const;
  std::optional<SeriesInfo> GetSeries(uint64_t id) const;
  size_t series_count() const;

  // Every point of the series within `range`, sorted by range.axis (points
  // with equal coordinates keep their append order). NotFound if the
  // series does not exist.
  Status ReadSeries(uint64_t id, const ReadRange& range, SeriesColumns* out) const;
  // The chunks of the series that overlap `range`, in append order.
  Status ScanSeries(uint64_t id, const ReadRange& range, std::vector<ChunkView>* out) const;

  // Writes the head to a block and waits (no-op when empty).
  Status Flush();
  // Flushes, then merges every block into one, applying retention.
  Status CompactAll();
  EngineStats stats() const;
  const EngineOptions& options() const { return options_; }

  // Stops accepting appends, commits what is queued, syncs the WAL, stops
  // the background work, and (flush_on_close) writes the head to a block.
  void Close();

 private:
  struct Version;
  struct GroupState;
  struct LiveBlock {
    uint64_t file_number = 0;
    uint64_t order = 0;
    std::shared_ptr<const BlockReader> reader;
  };
  struct PendingWrite {
    // kTask runs `task` on the commit thread, ordered with the writes.
    enum class Kind { kAppend, kDeleteRun, kTask } kind = Kind::kAppend;
    WriteBatch batch;                         // kAppend; for kDeleteRun, batch.run names the run
    AppendCallback done;                      // kAppend
    std::function<void(Status)> done_status;  // kDeleteRun
    std::function<void()> task;               // kTask
  };
  void RunOnCommitThread(std::function<void()> task);

  explicit Engine(EngineOptions options);
  Status Recover();
  Status ReplayRecord(std::string_view bytes);

  std::shared_ptr<const Version> CurrentVersion() const;
  void InstallVersion(std::shared_ptr<const Version> v);
  // Replaces the current version by a copy that `edit` changed, atomically
  // with respect to other edits (the commit and background threads both
  // edit: heads and blocks respectively).
  void ModifyVersion(const std::function<void(Version&)>& edit);

  // engine_append.cc
  void Enqueue(PendingWrite write);
  void CommitLoop();
  void CommitGroup(std::vector<PendingWrite>& group);
  // Returns false when `w` must start a new group (it re-sends steps of a
  // series that an earlier write of this group touched).
  bool PrepareAppend(PendingWrite& w, GroupState& g, std::string* record, Status* error);
  void FinishGroup(GroupState& g);
  void DropDuplicates(std::optional<uint64_t> id, SeriesColumns* cols, uint64_t* dropped) const;
  // Interval fsync policy: syncs the WAL when fsync_interval has passed
  // since the last sync (or always, with force) and something is unsynced.
  void MaybeIntervalSync(bool force);

  // engine_flush.cc
  void BackgroundLoop();
  void MaybeScheduleFlush();  // commit thread
  Status FlushImmutable();
  Status CompactOnce(bool all, bool* did_work);
  Status ApplyRetention(bool* did_work);
  // Writes the series of `inputs` (in order, dropping deleted series and
  // points with time < cutoff_ms) re-chunked into one block; out->reader is
  // null if nothing was left. `trimmed` gets the series that lost points.
  Status WriteMergedBlock(const std::vector<LiveBlock>& inputs, int64_t cutoff_ms, LiveBlock* out,
                          std::vector<uint64_t>* trimmed);
  // Swaps `inputs` for `output` (absent: just drops them) in the manifest
  // and the current version, then deletes the input files.
  Status ReplaceBlocks(const std::vector<LiveBlock>& inputs, std::optional<LiveBlock> output);
  Status SaveManifestLocked();  // REQUIRES: manifest_mu_ held
  void RebuildStats(const std::vector<uint64_t>& ids);
  std::string BlockPath(uint64_t file_number) const;

  const EngineOptions options_;
  std::unique_ptr<FileLock> lock_;
  std::unique_ptr<Wal> wal_;  // appended by the commit thread only
  SeriesCatalog catalog_;

  mutable std::mutex version_mu_;
  std::shared_ptr<const Version> version_;  // GUARDED_BY(version_mu_)

  // The manifest as last saved, and the file number of each live block.
  std::mutex manifest_mu_;
  Manifest manifest_;  // GUARDED_BY(manifest_mu_)

  // Commit queue.
  mutable std::mutex queue_mu_;
  std::condition_variable queue_cv_;
  std::deque<PendingWrite> queue_;  // GUARDED_BY(queue_mu_)
  size_t pending_points_ = 0;       // GUARDED_BY(queue_mu_)
  bool closing_ = false;            // GUARDED_BY(queue_mu_)
  Status failed_;  // set once by the commit thread when the WAL fails; then read-only

  // Next series id; advanced by the commit thread only (after Recover),
  // read by the background thread when it saves the manifest.
  std::atomic<uint64_t> next_series_id_{1};

  // Background work.
  std::mutex bg_mu_;
  std::condition_variable bg_cv_;
  std::atomic<bool> flush_requested_{false};  // written under bg_mu_
  bool flush_in_progress_ = false;            // GUARDED_BY(bg_mu_)
  bool compact_all_requested_ = false;        // GUARDED_BY(bg_mu_)
  uint64_t flush_generation_ = 0;             // GUARDED_BY(bg_mu_): completed flushes
  uint64_t compact_generation_ = 0;           // GUARDED_BY(bg_mu_)
  Status last_bg_error_;                      // GUARDED_BY(bg_mu_)
  uint64_t flush_errors_ = 0;                 // GUARDED_BY(bg_mu_)
  uint64_t compact_errors_ = 0;               // GUARDED_BY(bg_mu_)
  bool bg_stop_ = false;                      // GUARDED_BY(bg_mu_)
  int64_t last_flush_ms_ = 0;                 // commit thread only
  uint64_t wal_start_for_imm_ = 0;            // GUARDED_BY(bg_mu_)

  mutable std::mutex stats_mu_;
  EngineStats counters_;  // GUARDED_BY(stats_mu_): the cumulative counters

  // Commit thread only.
  bool unsynced_ = false;
  int64_t last_sync_ns_ = 0;

  std::thread commit_thread_;
  std::thread bg_thread_;
  std::once_flag close_once_;
};

}  // namespace vigil::storage
