// JobMonitor: the ranks of one distributed run (one run, many processes,
// each logging series labelled rank="<r>"), and the four judgements that
// only make sense across ranks:
//
//   rank_hang        some or all ranks stopped advancing: no new step and
//                    no phase change for hang_after. Names the ranks that
//                    stopped first (lowest step; among those, the ones not
//                    waiting in a communication phase; else the earliest to
//                    enter their phase), their step, phase and node, and how
//                    many ranks wait. Silent ranks (no heartbeat, no points)
//                    count as stopped and are named first.
//   rank_lost        a rank not heard from for hang_after while the job
//                    still advances (else it is part of the hang), or a
//                    rank of world_size that never joined.
//   straggler        a rank whose compute time per step (its time/* phases
//                    minus communication phases) is above the median rank's
//                    at the same step by >= straggler_margin, as the median
//                    over straggler_window steps, persistently for
//                    straggler_for_steps steps; all ranks of a node slow
//                    together make one node-level finding. The message names
//                    how much slower, since which step, the phase that
//                    accounts for most of the excess, and what the node's
//                    own metrics show (clocks, throttling, CPU) when the
//                    agent logs them with a node label.
//   rank_divergence  at one step, a loss-like metric is NaN/Inf or far
//                    outside the other ranks' values on a minority of ranks.
//
// Inputs: per-rank points (OnRankPoints: every series with a rank label),
// per-node system points (OnNodePoints: sys/* series with a node label and
// no rank), heartbeats with the rank's step, phase and node, joins and
// finishes. Times are the server's receive times (ms); the only client
// times used are durations (phase_ms, the time/* values), so clock skew
// between hosts does not matter.
//
// Evaluate(now) is called every few seconds and returns edge-triggered
// findings: a condition fires once when it starts and resolves once when it
// ends. Snapshot(now) is the state GET /api/v1/runs/{id}/ranks shows.
//
// Memory: O(world_size × kStepSlots) floats for step timing and O(world_size
// × kLossSlots) per loss-like metric; nothing grows with the run's length.
//
// Thread-safety: none; one thread at a time (the alerting worker, with
// readers of Snapshot serialised by the caller's lock).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "analysis/detectors/detector.h"

namespace vigil::analysis {

// Whether a phase (the <name> of a `time/<name>` series) is communication:
// comm*, allreduce, all_reduce, allgather, reduce_scatter, sync, wait,
// barrier, collective. Everything else is compute.
bool IsCommPhase(std::string_view phase);

// Whether a metric is judged across ranks for rank_divergence: its name
// contains "loss" and it is not a time/ or sys/ series.
bool IsCrossRankMetric(std::string_view metric);

struct DistributedParams {
  int64_t hang_after_ms = 60'000;  // floor of the hang / lost threshold
  double hang_factor = 20.0;       // × the median step time
  double straggler_margin = 0.2;   // slower than the median by this fraction
  int64_t straggler_window = 50;   // steps whose ratios are combined
  int64_t straggler_for_steps = 100;
  double straggler_min_excess_s = 0.001;  // ignore sub-millisecond excesses
  double divergence_z = 10.0;             // robust z across ranks
};

// What a heartbeat says of its rank; absent fields were not sent.
struct RankBeat {
  std::optional<int64_t> step;
  std::optional<std::string> phase;
  std::optional<int64_t> phase_ms;
  std::optional<std::string> node;
};

struct JobFinding {
  FindingKind kind = FindingKind::kRankHang;
  Transition transition = Transition::kFiring;
  Severity severity = Severity::kCritical;
  // What the alert is about: "" for the job (rank_hang), "rank=5",
  // "node=n1" or "train/loss{rank=3}"; the alert's series key.
  std::string subject;
  std::vector<int64_t> ranks;  // the ranks it names, first the culprits
  int64_t step = 0;
  double value = 0;  // straggler: slowdown ratio; divergence: the value
  std::string message;
};

enum class RankState : uint8_t { kAlive, kStuck, kLost, kFinished };
std::string_view RankStateName(RankState s);  // alive, stuck, lost, finished

struct RankStatus {
  int64_t rank = 0;
  std::string node;
  RankState state = RankState::kAlive;
  int64_t step = -1;  // highest step seen, -1 before any
  std::string phase;
  int64_t phase_ms = 0;             // in that phase, at last_seen_ms, by the client
  int64_t last_seen_ms = 0;         // server time of the last heartbeat or points
  int64_t stuck_ms = 0;             // without progress, as of now
  std::optional<double> step_s;     // median of its recent step times
  std::optional<double> compute_s;  // median of its recent compute times
  std::optional<double> slowdown;   // median ratio to the median rank
};

struct StepSpread {
  int64_t step = 0;
  int64_t ranks = 0;  // ranks with a step time at this step
  double min_s = 0, median_s = 0, max_s = 0;
  int64_t slowest_rank = 0;
};

struct StragglerStatus {
  std::string subject;  // "rank=5" or "node=n1"
  std::vector<int64_t> ranks;
  std::string node;
  double slowdown = 0;
  int64_t since_step = 0;
  bool firing = false;  // false: slow, not yet for straggler_for_steps
  std::string message;
};

struct NodeStatus {
  std::string node;
  std::vector<int64_t> ranks;
  std::optional<double> slowdown;  // median of its ranks'
};

struct JobSnapshot {
  int64_t world_size = 0;
  int64_t known = 0, alive = 0, finished = 0;
  std::optional<JobFinding> hang;  // the open rank_hang, if any
  std::vector<StragglerStatus> stragglers;
  std::optional<double> step_median_s, compute_median_s;
  int64_t hang_threshold_ms = 0;
  std::vector<RankStatus> ranks;   // by rank
  std::vector<NodeStatus> nodes;   // by node name
  std::vector<StepSpread> spread;  // ascending steps, at most kSpreadSteps
};

class JobMonitor {
 public:
  static constexpr int64_t kMaxRanks = 65'536;
  static constexpr size_t kStepSlots = 256;  // step-time history per rank
  static constexpr size_t kLossSlots = 256;  // steps awaiting a cross-rank check
  static constexpr size_t kSpreadSteps = 200;

  // world_size may be 0 (unknown: the highest rank seen + 1 is used).
  explicit JobMonitor(int64_t world_size = 0);

  int64_t world_size() const { return world_size_; }
  void set_world_size(int64_t w);

  // A rank joined (created or attached to the run).
  void OnJoin(int64_t rank, std::string_view node, int64_t now_ms);
  // Points of one series of `rank` (steps ascending, as stored). Points at
  // or below a step already seen for this (rank, metric) are ignored: a
  // client's resend must not count twice.
  void OnRankPoints(int64_t rank, std::string_view node, std::string_view metric,
                    std::span<const int64_t> steps, std::span<const double> values, int64_t now_ms);
  // System metrics of a node (the agent's sys/* series with a node label).
  void OnNodePoints(std::string_view node, std::string_view metric, const Labels& labels,
                    std::span<const double> values);
  void OnHeartbeat(int64_t rank, const RankBeat& beat, int64_t now_ms);
  void OnRankFinished(int64_t rank, int64_t now_ms);
  // The run ended: every open condition resolves at the next Evaluate.
  void OnJobEnded();

  std::vector<JobFinding> Evaluate(int64_t now_ms, const DistributedParams& params);
  JobSnapshot Snapshot(int64_t now_ms, const DistributedParams& params) const;

  bool ended() const { return ended_; }

 private:
  struct Rank {
    bool known = false;
    bool finished = false;
    std::string node;
    int64_t step = -1;
    std::string phase;           // as the last heartbeat said
    bool has_phase = false;      // a heartbeat carried a phase
    int64_t phase_ms = 0;        // at seen_ms
    int64_t phase_since_ms = 0;  // server-time estimate of the phase's start
    int64_t seen_ms = 0;         // last heartbeat or points
    int64_t progress_ms = 0;     // last new step or phase change
    // Highest step seen per metric of this rank (resends are ignored).
    std::vector<std::pair<std::string, int64_t>> last_step;
    // Mean seconds per step of each time/<phase> (EMA over ~the window).
    std::vector<std::pair<std::string, double>> phase_mean;
  };
  // One step's timing across ranks; NaN where a rank has not reported.
  struct StepRow {
    int64_t step = -1;
    int64_t count = 0;
    std::vector<float> total, compute;  // index = rank
  };
  struct LossRow {
    int64_t step = -1;
    bool evaluated = false;
    std::vector<double> value;  // index = rank
    std::vector<uint8_t> has;   // index = rank
    int64_t count = 0;
  };
  struct LossTable {
    std::vector<LossRow> rows = std::vector<LossRow>(kLossSlots);
  };
  struct NodeMetrics {
    std::optional<double> cpu_utilization;   // sys/cpu/utilization, %
    std::map<std::string, double> sm_clock;  // by gpu: sys/gpu/sm_clock_mhz
    std::map<std::string, double> gpu_util;  // by gpu: sys/gpu/utilization
    std::map<std::string, double> throttle;  // "gpu/reason" -> 0/1
  };
  struct SlowState {
    std::vector<int64_t> ranks;
    std::string node;
    int64_t since_step = 0;
    bool firing = false;
    double slowdown = 0;
    std::string message;
  };

  Rank* GetRank(int64_t rank, int64_t now_ms);
  void AddPhasePoint(Rank* r, int64_t rank, std::string_view phase, int64_t step, double seconds);
  void AddLossPoint(std::string_view metric, int64_t rank, int64_t step, double value);
  // Judges one step of a loss-like metric across ranks (once).
  void EvaluateLossRow(std::string_view metric, LossRow* row, std::vector<JobFinding>* out);
  std::optional<double> MedianStepSeconds() const;
  int64_t HangThresholdMs(const DistributedParams& p) const;
  std::vector<int64_t> MissingRanks() const;  // of world_size, never heard from
  bool IsStuck(const Rank& r, int64_t now_ms, int64_t threshold_ms) const;
  bool IsLost(const Rank& r, int64_t now_ms, int64_t threshold_ms) const;
  // Per-rank slowdown (median over the window of compute / median compute
  // at the same step), and the steps it covers; empty when too few steps.
  struct Slowdowns {
    std::vector<std::optional<double>> ratio;   // by rank
    std::vector<std::optional<double>> excess;  // seconds over the median
    int64_t first_step = 0, last_step = -1;
  };
  Slowdowns ComputeSlowdowns(const DistributedParams& p) const;
  void EvaluateHang(int64_t now_ms, const DistributedParams& p, std::vector<JobFinding>* out);
  void EvaluateLost(int64_t now_ms, const DistributedParams& p, std::vector<JobFinding>* out);
  void EvaluateStragglers(const DistributedParams& p, std::vector<JobFinding>* out);
  void EvaluateDivergence(const DistributedParams& p, std::vector<JobFinding>* out);
  std::string StragglerHint(const std::vector<int64_t>& ranks, std::string_view node) const;
  std::string DescribeRank(const Rank& r, int64_t rank, int64_t now_ms, int64_t threshold_ms) const;

  int64_t world_size_ = 0;
  int64_t started_ms_ = -1;  // first sign of any rank, -1 before
  bool ended_ = false;
  std::vector<Rank> ranks_;     // index = rank; grown on demand
  std::vector<StepRow> steps_;  // ring of kStepSlots, by step % kStepSlots
  std::map<std::string, LossTable, std::less<>> losses_;
  std::map<std::string, NodeMetrics, std::less<>> nodes_;
  int64_t max_step_ = -1;            // highest step of any rank
  int64_t max_step_ms_ = 0;          // when max_step_ last rose
  double pace_s_ = 0;                // EMA of seconds per step of max_step_ (0: unknown)
  DistributedParams params_;         // of the last Evaluate (for rows judged on eviction)
  std::vector<JobFinding> pending_;  // found between Evaluates

  // Open conditions (edge-triggering).
  std::optional<JobFinding> hang_;
  std::map<int64_t, int64_t> lost_;                       // rank -> step it was lost at
  std::map<std::string, SlowState, std::less<>> slow_;    // by subject
  std::map<std::string, int64_t, std::less<>> diverged_;  // subject -> quiet steps
};

}  // namespace vigil::analysis
