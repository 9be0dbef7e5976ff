// AlertingService: the server's detection pipeline, alert lifecycle and
// command queue.
//
//   ingest (commit thread) ─OnPoints─► bounded queue ─► worker thread:
//     per series, the detectors the rules choose (RuleSet::WatchesFor) see
//     each new point in step order; findings open, bump or resolve alerts
//     (AlertStore), append "alert" events to the run's timeline
//     (MetadataStore), notify webhooks (Notifier) and queue the rule's
//     commands. Every tick_interval_ms the worker also runs the detectors'
//     Tick (absence) and the per-run stall check.
//
// Alert lifecycle, per (run, rule, series):
//   1. a firing finding opens an alert, unless one is open: then it only
//      bumps the open alert's count (deduplication);
//   2. a rule with `for` holds the finding pending and opens the alert only
//      if the detector is still active `for` later;
//   3. the alert resolves when the detector reports the condition over, or,
//      for one-off findings (spike, non_finite...), once the detector has
//      been quiet for the rule's resolve_after_steps steps;
//   4. a run-level stall alert resolves on the run's next sign of life.
//
// Commands: queued (QueueCommand, an HTTP handler or a rule) → delivered
// (TakeCommands, when a log or heartbeat answer carries them) → acknowledged
// / done / failed (AckCommand). Every transition is a "command" event on
// the run's timeline.
//
// Thread-safety: every public method may be called from any thread.
// OnPoints and OnActivity only copy and queue (no I/O, no waiting), so the
// storage engine's commit thread may call them; TakeCommands does I/O only
// when the run has queued commands (an in-memory index says so): then it
// marks them delivered and appends their events, two small SQLite writes.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "alerting/alert_store.h"
#include "alerting/notifier.h"
#include "alerting/rules.h"
#include "core/clock.h"
#include "storage/engine.h"
#include "storage/metadata/metadata_store.h"

namespace vigil::alerting {

struct AlertingOptions {
  std::string store_path;  // alerts.sqlite
  std::string rules_file;  // empty: the built-in pack only
  // Points waiting for the worker beyond this are dropped (and counted in
  // points_dropped): detection sheds load rather than slowing ingest.
  size_t max_pending_points = 4'000'000;
  int64_t tick_interval_ms = 2'000;
  NotifierOptions notifier;
  // When set, a series seen for the first time since the service started
  // (a server restart, typically) warms its detectors on its stored tail —
  // the last ReplayPointsHint() points before the new batch — with their
  // findings suppressed, so that detection resumes where it stood instead
  // of learning the series' noise level again. Must outlive the service.
  const storage::Engine* engine = nullptr;
};

class AlertingService {
 public:
  // `metadata`, `poster` and `clock` must outlive the service.
  static Result<std::unique_ptr<AlertingService>> Open(AlertingOptions options,
                                                       storage::MetadataStore* metadata,
                                                       HttpPoster* poster, const Clock* clock);
  ~AlertingService();  // Stop()
  AlertingService(const AlertingService&) = delete;
  AlertingService& operator=(const AlertingService&) = delete;

  // Ends the worker (points still queued are dropped) and the notifier.
  void Stop();

  // --- ingest side: copy and queue, never block ---
  void OnPoints(std::string_view run, std::string_view project, std::string_view metric,
                const Labels& labels, std::span<const int64_t> steps,
                std::span<const int64_t> times, std::span<const double> values);
  // A sign of life without points (a heartbeat).
  void OnActivity(std::string_view run, std::string_view project);

  // --- distributed runs (analysis::JobMonitor per run; copy and queue) ---
  // Points of series labelled rank="<r>" reach the run's JobMonitor through
  // OnPoints; these add what only the run routes know.
  void OnRankJoined(std::string_view run, std::string_view project, int64_t rank,
                    int64_t world_size, std::string_view node);
  void OnRankBeat(std::string_view run, std::string_view project, int64_t rank,
                  analysis::RankBeat beat);
  void OnRankFinished(std::string_view run, int64_t rank);
  // The run is no longer running: its open cross-rank alerts resolve.
  void OnRunEnded(std::string_view run);
  // The ranks of a run as GET /api/v1/runs/{id}/ranks shows them; nullopt
  // when nothing of the run's ranks is known (since the server started).
  std::optional<analysis::JobSnapshot> RanksSnapshot(const std::string& run);

  // --- rules ---
  // Re-reads the rules file; on error the rules in force stay and the error
  // is returned. FailedPrecondition when no rules file was configured.
  Status ReloadRules();
  // Replaces the rules in force (tests, and ReloadRules).
  void SetRules(RuleSet rules);
  std::shared_ptr<const RuleSet> rules() const;

  // --- alerts ---
  Result<std::vector<AlertRecord>> ListAlerts(const AlertQuery& query);
  int64_t firing() const;  // alerts firing now (the vigil_alerts_firing gauge)

  // --- commands ---
  // REQUIRES: args_json is a valid JSON object (the caller validated it).
  Result<CommandRecord> QueueCommand(const std::string& run, const std::string& type,
                                     const std::string& args_json,
                                     const std::string& source = "api", int64_t alert_id = 0);
  Result<std::vector<CommandRecord>> ListCommands(const std::string& run, int64_t limit);
  // The run's queued commands, now marked delivered; empty (and no I/O)
  // when it has none.
  Result<std::vector<CommandRecord>> TakeCommands(const std::string& run);
  Result<CommandRecord> AckCommand(const std::string& run, int64_t seq, CommandState to,
                                   const std::string& message);

  AlertStore* store() { return store_.get(); }
  Notifier* notifier() { return notifier_.get(); }

  // Tests: true once every queued job has been processed (within timeout).
  bool WaitIdle(std::chrono::milliseconds timeout);
  // Runs a tick now on the worker (tests; time comes from the clock).
  void TickNow();
  uint64_t points_dropped() const;
  // Series whose detectors were warmed on their stored tail.
  uint64_t warmed_series() const { return warmed_series_.load(std::memory_order_relaxed); }

 private:
  struct Job;
  struct Watch;
  struct SeriesState;
  struct RunState;
  struct JobState;

  AlertingService(AlertingOptions options, storage::MetadataStore* metadata, const Clock* clock);
  void Enqueue(Job job, size_t points);
  void Loop();
  void Process(Job& job);
  void ProcessPoints(Job& job);
  void Tick(int64_t now_ms);
  void TickJobs(int64_t now_ms, const RuleSet& rules);
  // Opens or resolves the alert of one cross-rank finding.
  void HandleJobFinding(const std::string& run, JobState* job, const analysis::JobFinding& f,
                        int64_t now_ms, const RuleSet& rules);
  // The run's JobState, created on first use. REQUIRES: jobs_mu_ held.
  JobState* JobStateFor(const std::string& run, std::string_view project);
  // Hands a points job of a rank-labelled (or node sys/*) series to the
  // run's JobMonitor.
  void FeedRankPoints(const Job& job);
  void Activity(const std::string& run, const std::string& project, int64_t now_ms);
  void RebuildWatches(SeriesState* s);
  // Feeds the stored points of s before `before_step` to its watches,
  // discarding findings (see AlertingOptions::engine).
  void WarmFromStoredTail(SeriesState* s, int64_t before_step);
  void HandleFinding(SeriesState* s, Watch* w, const analysis::Finding& f);
  void Fire(SeriesState* s, Watch* w, const analysis::Finding& f);
  void Resolve(int64_t alert_id, int64_t step, int64_t time_ms, std::string_view why);
  void Notify(const AlertRecord& alert, std::string_view event,
              const std::optional<std::vector<std::string>>& webhooks);
  void AppendCommandEvent(const CommandRecord& c, std::string_view extra);

  const AlertingOptions options_;
  storage::MetadataStore* metadata_;
  const Clock* clock_;
  std::unique_ptr<AlertStore> store_;
  std::unique_ptr<Notifier> notifier_;

  // Rules in force; swapped whole. rules_gen_ counts swaps so the worker
  // rebuilds a series' watches lazily.
  mutable std::mutex rules_mu_;
  std::shared_ptr<const RuleSet> rules_;  // GUARDED_BY(rules_mu_)
  uint64_t rules_gen_ = 1;                // GUARDED_BY(rules_mu_)

  // Runs that may have queued commands (the TakeCommands fast path).
  // Invariant: every run with a queued command in the store is in the set
  // (a run may be in it without one).
  std::mutex commands_mu_;
  std::unordered_set<std::string> queued_runs_;  // GUARDED_BY(commands_mu_)

  // The job queue.
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> jobs_;         // GUARDED_BY(mu_)
  size_t pending_points_ = 0;    // GUARDED_BY(mu_)
  bool busy_ = false;            // GUARDED_BY(mu_): the worker holds a job
  bool stopping_ = false;        // GUARDED_BY(mu_)
  uint64_t points_dropped_ = 0;  // GUARDED_BY(mu_)
  std::atomic<uint64_t> warmed_series_{0};
  std::atomic<int64_t> firing_{0};
  std::thread worker_;

  // Distributed runs: written by the worker, read by RanksSnapshot.
  std::mutex jobs_mu_;
  std::unordered_map<std::string, std::unique_ptr<JobState>> job_states_;  // GUARDED_BY(jobs_mu_)

  // Worker-thread state (touched only by the worker).
  std::unordered_map<std::string, std::unique_ptr<SeriesState>> series_;
  std::unordered_map<std::string, RunState> runs_;
  int64_t last_tick_ms_ = 0;
};

}  // namespace vigil::alerting
