// RunCore: the implementation behind vigil::Run (include/vigil/vigil.h).
//
// Three kinds of threads touch it:
//   - callers (any thread) log points: each thread gets a ThreadSlot (an
//     SPSC PointRing and a private NameCache) the first time it logs to this
//     run, found afterwards through two thread_local words (no lock).
//   - the drain thread empties the rings into a Columnarizer and, every
//     flush_interval or when a batch is full, encodes batches into the
//     outbox (bounded: while it holds more than kMaxOutboxBytes the drain
//     thread stops draining, the rings fill and log() blocks, then drops).
//   - the delivery thread empties the outbox: offline into the run
//     directory; online to the server (run_core_online.cc: retries with
//     exponential backoff, spill to the spool directory, replay, heartbeats,
//     commands, acknowledgements). Disabled mode discards.
//
// A rank of a distributed job (ResolvedOptions::distributed) differs in
// four places only: its SeriesTable adds the labels rank and node when a
// series is interned (the hot path is the same), the drain thread records
// the highest step it sees for the heartbeat body, the delivery thread
// beats every heartbeat_interval (not only when idle) and, on ranks > 0,
// asks for no commands; run.json and finish.json carry the rank.
//
// Points are counted once in exactly one of: delivered, rejected, dropped,
// invalid, or still pending (in a ring, the outbox, or an unreplayed spool).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <vigil/vigil.h>

#include "client/http_client.h"
#include "client/sdk/columnarizer.h"
#include "client/sdk/point_ring.h"
#include "client/sdk/run_dir.h"
#include "client/sdk/series_table.h"
#include "core/result.h"

namespace vigil::client {

// Bytes of encoded batches the outbox may hold in memory (see above).
inline constexpr size_t kMaxOutboxBytes = 64u << 20;

struct ThreadSlot {
  explicit ThreadSlot(size_t capacity) : ring(capacity) {}
  PointRing ring;
  NameCache names;                         // producer only
  std::string key;                         // producer only: scratch for labelled keys
  std::atomic<uint64_t> pushed{0};         // producer writes (plain store), any reads
  std::atomic<uint64_t> dropped{0};        // producer writes, any reads
  std::atomic<uint64_t> invalid{0};        // producer writes, any reads
  std::atomic<bool> producer_gone{false};  // set when the thread exits
  std::atomic<bool> run_closed{false};     // set when the run is finished
};

// The server's bound on world_size and local_rank (POST /api/v1/runs).
inline constexpr int64_t kMaxWorldSize = 1'000'000;
// The server's bound on a rank's node name (distributed.md).
inline constexpr size_t kMaxNodeBytes = 256;

// Options with every default resolved (environment included).
struct ResolvedOptions {
  Options o;
  Mode mode = Mode::kOnline;
  // One rank of a distributed job: o.rank set and *o.world_size > 1.
  bool distributed = false;
};
Result<ResolvedOptions> ResolveOptions(Options options);

// The body of POST /api/v1/runs/{id}/heartbeat from a distributed rank
// (distributed.md): {"rank":r,"step":s,"node":"n"}; "step" (the highest
// step logged so far) is left out while it is negative (nothing logged).
// The C++ SDK has no phases, so "phase" and "phase_ms" are never sent.
std::string RankHeartbeatBody(int64_t rank, int64_t step, std::string_view node);

// 8 characters of [a-z0-9].
std::string NewRunId();

class RunCore {
 public:
  // Validates, creates the run (online: POST /api/v1/runs, synchronously;
  // a server that cannot be reached is not an error) and starts the
  // threads.
  static Result<std::shared_ptr<RunCore>> Start(ResolvedOptions options);
  ~RunCore();  // finishes the run if finish() was not called
  RunCore(const RunCore&) = delete;
  RunCore& operator=(const RunCore&) = delete;

  const std::string& id() const { return id_; }
  Mode mode() const { return mode_; }
  std::optional<int64_t> rank() const {
    return distributed_ ? opts_.o.rank : std::optional<int64_t>();
  }

  // ---- the hot path (any thread) ----
  void Log(std::string_view metric, double value, int64_t step) {
    if (finished_.load(std::memory_order_relaxed)) return LogAfterFinish();
    ThreadSlot* slot = Slot();
    size_t h = NameCache::Hash(metric);
    const uint32_t* id = slot->names.Find(metric, h);
    uint32_t series = id ? *id : InternSlow(slot, metric, metric, h, nullptr, 0);
    Push(slot, series, step, NowMillis(), value);
  }
  void LogLabelled(std::string_view metric, double value, int64_t step, int64_t time_ms,
                   const SeriesTable::LabelView* labels, size_t n);
  void LogSeries(uint32_t series, double value, int64_t step) {
    if (finished_.load(std::memory_order_relaxed)) return LogAfterFinish();
    Push(Slot(), series, step, NowMillis(), value);
  }
  // Series id for a handle (kInvalidSeries if the name is bad).
  uint32_t SeriesId(std::string_view metric, const SeriesTable::LabelView* labels, size_t n);

  static int64_t NowMillis();

  // ---- control (any thread) ----
  void SetConfig(std::map<std::string, std::string> entries);   // key -> JSON
  void SetSummary(std::map<std::string, std::string> entries);  // key -> JSON
  bool Finish(std::string_view state);
  bool should_stop() const { return stop_.load(std::memory_order_acquire); }
  bool should_pause() const { return pause_.load(std::memory_order_acquire); }
  void OnCommand(std::function<void(const Command&)> cb);
  void Ack(const std::string& command_id, CommandStatus status, std::string_view message);
  Stats GetStats() const;
  std::string LocalDir() const;

  // Testing and benchmarks: waits until every point logged before the call
  // has left the rings and the outbox (delivered, spilled or rejected), up
  // to `timeout`. False on timeout.
  bool Flush(std::chrono::milliseconds timeout);

 private:
  explicit RunCore(ResolvedOptions options);

  ThreadSlot* Slot();
  ThreadSlot* SlotSlow();
  uint32_t InternSlow(ThreadSlot* slot, std::string_view cache_key, std::string_view metric,
                      size_t hash, const SeriesTable::LabelView* labels, size_t n);
  void Push(ThreadSlot* slot, uint32_t series, int64_t step, int64_t time_ms, double value) {
    if (series == kInvalidSeries) {
      slot->invalid.store(slot->invalid.load(std::memory_order_relaxed) + 1,
                          std::memory_order_relaxed);
      return;
    }
    if (!slot->ring.TryPush({series, step, time_ms, value})) {
      return PushSlow(slot, series, step, time_ms, value);
    }
    uint64_t n = slot->pushed.load(std::memory_order_relaxed) + 1;
    slot->pushed.store(n, std::memory_order_relaxed);
    // Every quarter ring, a look at the fill level: past half, wake the
    // drainer rather than wait for its timer.
    if ((n & (slot->ring.capacity() / 4 - 1)) == 0 &&
        slot->ring.SizeApprox() >= slot->ring.capacity() / 2) {
      WakeDrainer();
    }
  }
  void WakeDrainer() {
    drain_wake_.store(true, std::memory_order_relaxed);
    drain_cv_.notify_one();
  }
  void PushSlow(ThreadSlot* slot, uint32_t series, int64_t step, int64_t time_ms, double value);
  void LogAfterFinish();

  // Threads.
  void DrainLoop();
  bool DrainOnce();  // true if it moved any point
  void FlushColumns();
  void DeliveryLoopOffline();
  void DeliveryLoopOnline();
  void DeliveryLoopDisabled();

  // Online helpers (run_core_online.cc).
  std::string RunBody() const;
  std::string FinishBody(std::string_view state) const;
  // <root>/<id>, or <root>/<id>-rank<r> for a distributed rank (the ranks of
  // a job on one host share the id).
  std::string RunDirPath(const std::string& root) const;
  Status CreateOnServer(bool first);
  enum class SendResult { kOk, kRejected, kRetry, kRunMissing };
  SendResult Post(std::string_view target, std::string body, std::string* answer, Status* error,
                  int* retry_after_s);
  void HandleAnswer(std::string_view answer);
  void SendControl();  // acks and config/summary patches
  Status Spill(EncodedBatch batch);
  bool ReplaySpoolLine();  // false on a transient failure
  void RemoveSpoolIfDone();
  void Notice(const std::string& message) const;
  bool WaitFor(std::chrono::milliseconds d);  // false when woken to stop

  const ResolvedOptions opts_;
  const Mode mode_;
  std::string id_;
  const uint64_t serial_;
  const bool distributed_;
  // "" or, for a rank > 0 of a distributed run, "?commands=none": only rank
  // 0 takes commands.
  const std::string commands_query_;
  SeriesTable table_;  // a distributed rank's: every series labelled rank and node
  // The highest step drained so far, -1 before any (drain thread writes,
  // delivery thread reads for the heartbeat).
  std::atomic<int64_t> last_step_{-1};
  std::atomic<bool> finished_{false};
  std::atomic<uint64_t> invalid_after_finish_{0};

  // Slots (rings) of the threads that log. slots_ is GUARDED_BY(slots_mu_).
  mutable std::mutex slots_mu_;
  std::vector<std::shared_ptr<ThreadSlot>> slots_;
  uint64_t retired_pushed_ = 0, retired_dropped_ = 0,
           retired_invalid_ = 0;  // GUARDED_BY(slots_mu_)

  // Drain thread state (drain thread only, except where noted).
  Columnarizer columns_;
  int64_t first_pending_ms_ = 0;
  std::mutex drain_mu_;
  std::condition_variable drain_cv_;
  std::atomic<bool> drain_wake_{false};
  bool drain_stop_ = false;      // GUARDED_BY(drain_mu_)
  uint64_t flush_requests_ = 0;  // GUARDED_BY(drain_mu_)
  uint64_t flushes_done_ = 0;    // GUARDED_BY(drain_mu_)
  std::condition_variable flushed_cv_;

  // Outbox, between the drain and the delivery threads.
  mutable std::mutex out_mu_;
  std::condition_variable out_cv_;       // batches, control work, close
  std::condition_variable out_room_cv_;  // room in the outbox; idle
  std::deque<EncodedBatch> outbox_;      // GUARDED_BY(out_mu_)
  size_t outbox_bytes_ = 0;              // GUARDED_BY(out_mu_)
  size_t outbox_points_ = 0;             // GUARDED_BY(out_mu_)
  bool in_flight_ = false;               // GUARDED_BY(out_mu_): a batch is being delivered
  bool closed_ = false;                  // GUARDED_BY(out_mu_): no more batches
  std::string final_state_;              // GUARDED_BY(out_mu_)
  // SetConfig / SetSummary: merges `entries` (key -> JSON) into `into` and
  // makes them the next patch to send. Takes out_mu_.
  void MergeEntries(std::map<std::string, std::string> entries,
                    std::map<std::string, std::string>* into, std::optional<std::string>* patch);

  std::map<std::string, std::string> config_;              // GUARDED_BY(out_mu_)
  std::map<std::string, std::string> summary_;             // GUARDED_BY(out_mu_)
  std::optional<std::string> config_patch_;                // GUARDED_BY(out_mu_): JSON object
  std::optional<std::string> summary_patch_;               // GUARDED_BY(out_mu_)
  std::vector<std::pair<std::string, std::string>> acks_;  // GUARDED_BY(out_mu_): id, body
  std::function<void(const Command&)> on_command_;         // GUARDED_BY(out_mu_)

  // Delivery thread state.
  std::unique_ptr<HttpClient> http_;
  std::unique_ptr<RunDirWriter> dir_;  // offline directory, or the spool once used
  mutable std::mutex dir_mu_;          // guards dir_path_ for LocalDir()
  std::string dir_path_;
  bool created_ = false;          // the server has the run
  uint64_t spool_offset_ = 0;     // bytes of the spool's batches.jsonl delivered
  int64_t failing_since_ns_ = 0;  // first failure of the current outage, 0 if none
  int64_t last_contact_ns_ = 0;
  int64_t last_beat_ns_ = 0;  // distributed: heartbeats go out on their own clock
  int backoff_ms_ = 0;
  bool reported_outage_ = false;
  std::string last_error_;

  // Commands.
  std::atomic<bool> stop_{false};
  std::atomic<bool> pause_{false};

  // Counters written by the delivery thread.
  std::atomic<uint64_t> delivered_{0}, duplicates_{0}, rejected_{0}, spilled_{0}, discarded_{0};
  std::atomic<uint64_t> spool_points_pending_{0};

  std::mutex finish_mu_;
  std::optional<bool> finish_result_;  // GUARDED_BY(finish_mu_)
  std::atomic<bool> reported_drop_{false};
  std::deque<size_t> spool_line_points_;  // delivery thread: points per unreplayed spool line
  bool fatal_ = false;                    // delivery thread: the server refused the run

  std::thread drain_thread_;
  std::thread delivery_thread_;
};

}  // namespace vigil::client
