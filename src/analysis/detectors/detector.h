// Streaming anomaly detectors: one Detector object watches one series (run,
// metric, labels) and is fed that series' points in step order, one at a
// time, as ingest stores them. Each point costs O(1) time and the state is
// O(1) memory (fixed-size rings at most). A detector answers, per point, an
// optional Finding: an alert *firing* (something went wrong at this step) or
// a *resolve* (the condition that fired is over). Detectors are
// edge-triggered: a condition fires once when it starts and resolves once
// when it ends (a spike when the series is back in its band, a NaN at the
// next finite value, an hw_error after a quiet span); never two firings
// without a resolve between them.
//
// The detectors and their parameters are documented in docs/detectors.md;
// each lives in its own file in src/analysis/detectors/.
//
// Who calls what:
//   - alerting/ (server side) builds detectors with MakeDetector from the
//     specs DetectorsForMetric (or a user's rule) returns, calls Observe for
//     every stored point, Tick periodically for time-based conditions
//     (absence). Across server restarts it replays the series' stored tail
//     (the last ReplayPointsHint() points) into fresh detectors; the
//     SaveState/RestoreState checkpoints serve tools that keep detectors
//     outside a server (and are the alternative should replay get costly).
//   - cli/detect_command.cc (`vigil detect`) and bench/detectors use the
//     same code offline.
//
// Thread-safety: a Detector is a plain value-like object with no internal
// locking; one object must be used by one thread at a time (the caller
// serialises, e.g. under the per-series lock). The free functions here are
// pure and thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"
#include "core/status.h"
#include "core/types.h"

namespace vigil::analysis {

// What a finding is about. Names (FindingKindName) are stable: they appear
// in rules files, the HTTP API, stored alerts and webhook bodies.
enum class FindingKind : uint8_t {
  kNonFinite = 0,   // "non_finite": NaN or +-Inf
  kSpike,           // "spike": a value far outside recent behaviour
  kDivergence,      // "divergence": lower-is-better metric trending up
  kPlateau,         // "plateau": no improvement for a span of steps
  kGradExplosion,   // "grad_explosion": gradient norm up by orders of magnitude
  kThroughputDrop,  // "throughput_drop": level change of step time / samples/s
  kGpuIdle,         // "gpu_idle": utilisation low for a sustained span
  kMemoryGrowth,    // "memory_growth": steady growth, with time to OOM
  kThrottling,      // "throttling": thermal / power throttle flags set
  kHwError,         // "hw_error": XID / ECC / remapped-row counter moved
  kThreshold,       // "threshold": user bound crossed (for N points)
  kAbsence,         // "absence": no point for longer than a span
  kStall,           // "stall": a run stopped logging / heartbeating
  // Per distributed job (analysis/distributed/job_monitor.h), not per series:
  kRankHang,        // "rank_hang": ranks stopped advancing (a collective hang)
  kRankLost,        // "rank_lost": a rank not heard from (or never joined)
  kStraggler,       // "straggler": a rank or node persistently slower
  kRankDivergence,  // "rank_divergence": NaN or loss outlier on one rank only
};
inline constexpr int kFindingKindCount = 17;

// Whether a kind is judged per run or per job rather than by a per-series
// Detector (stall and the distributed kinds): MakeDetector refuses them.
bool IsRunLevelKind(FindingKind kind);

// "non_finite", "spike", ... (the detector names use the same words).
std::string_view FindingKindName(FindingKind kind);
std::optional<FindingKind> ParseFindingKind(std::string_view name);

// Default severities per kind are in docs/detectors.md; rules may override.
enum class Severity : uint8_t { kInfo = 0, kWarning, kCritical };
std::string_view SeverityName(Severity s);  // "info", "warning", "critical"
std::optional<Severity> ParseSeverity(std::string_view name);

enum class Transition : uint8_t {
  kFiring = 0,  // the condition starts (or a one-off event happened) at `step`
  kResolved,    // the condition that fired earlier is over at `step`
};

struct Finding {
  FindingKind kind = FindingKind::kNonFinite;
  Severity severity = Severity::kWarning;
  Transition transition = Transition::kFiring;
  int64_t step = 0;     // the point's step (for Tick: the last seen step)
  int64_t time_ms = 0;  // the point's time (for Tick: `now`)
  double value = 0;     // the point's value (may be NaN/Inf for non_finite)
  double score = 0;     // in [0, 1]; 1 = certain / extreme
  // One sentence a person understands, naming the series, e.g.
  // "train/loss spiked to 8.3 at step 4,120, 14× its recent spread".
  std::string message;
  // memory_growth only: forecast seconds until the series reaches its
  // limit (param `limit`, e.g. the GPU's total memory in bytes, which the
  // caller may take from sys/gpu/memory_total_bytes); absent when no limit
  // is known or the trend is flat.
  std::optional<double> seconds_to_limit;
};

// Key/value parameters of a detector, as a rules file or the CLI gives them
// (`threshold = 3.5`, `direction = "above"`). Values are kept as text and
// parsed by the typed getters; MakeDetector rejects unknown keys and
// unparsable values with InvalidArgument naming the key.
class DetectorParams {
 public:
  DetectorParams() = default;
  DetectorParams(std::initializer_list<std::pair<std::string, std::string>> kv);

  // Replaces an existing key.
  void Set(std::string_view key, std::string_view value);
  void Set(std::string_view key, double value);
  bool Has(std::string_view key) const;
  const std::vector<std::pair<std::string, std::string>>& items() const { return items_; }

  // Typed access; a missing key yields `def`, a malformed one InvalidArgument.
  Result<double> GetDouble(std::string_view key, double def) const;
  Result<int64_t> GetInt(std::string_view key, int64_t def) const;
  Result<bool> GetBool(std::string_view key, bool def) const;  // true/false/1/0/yes/no/on/off
  std::string GetString(std::string_view key, std::string_view def) const;

  // "k1=v1,k2=v2" (as `vigil detect --param` and docs use); keys sorted.
  std::string ToString() const;
  // Parses "k1=v1,k2=v2"; whitespace around keys and values is trimmed.
  static Result<DetectorParams> Parse(std::string_view text);

  friend bool operator==(const DetectorParams&, const DetectorParams&) = default;

 private:
  std::vector<std::pair<std::string, std::string>> items_;  // insertion order
};

class Detector {
 public:
  virtual ~Detector() = default;
  Detector(const Detector&) = delete;
  Detector& operator=(const Detector&) = delete;

  // The detector's registered name ("spike", "divergence", ...).
  virtual std::string_view name() const = 0;
  // The kind of the findings it emits (one kind per detector).
  virtual FindingKind kind() const = 0;

  // Feeds the next point of the series. Steps are expected non-decreasing;
  // a step lower than the previous one is a *resumption* (a restart from a
  // checkpoint replays steps): the detector keeps its noise estimates but
  // restarts its trend windows and does not alarm on the jump itself.
  // Returns a Finding when one fires or resolves at this point.
  virtual std::optional<Finding> Observe(const Point& p) = 0;

  // Time-based conditions (absence): call every few seconds with the wall
  // clock; most detectors return nullopt.
  virtual std::optional<Finding> Tick(int64_t now_ms) {
    (void)now_ms;
    return std::nullopt;
  }

  // The anomaly score of the last observed point in [0, 1] (0 before any
  // point), and whether the detector's condition holds after it (for
  // one-off detectors: whether the last point itself was anomalous). These
  // are the `score` and `flag` columns of `vigil detect`.
  virtual double last_score() const = 0;
  virtual bool active() const = 0;

  // Serialises the full state (opaque bytes, versioned; layout in
  // detector_state_format.h). RestoreState accepts only bytes that
  // SaveState of the same detector name produced; anything else is
  // Corruption / InvalidArgument and leaves the detector unchanged.
  virtual std::string SaveState() const = 0;
  virtual Status RestoreState(std::string_view bytes) = 0;

  // How many trailing points of the series a fresh detector needs to be
  // replayed to reach (close to) the state it had: the alternative to
  // SaveState for rebuilding after a restart.
  virtual int64_t ReplayPointsHint() const = 0;

 protected:
  Detector() = default;
};

// Builds the detector `name` (a FindingKindName except "stall"), watching a
// series displayed as `series_name` in messages (FormatSeriesName's form).
// Unknown name, unknown parameter key or bad value: InvalidArgument.
Result<std::unique_ptr<Detector>> MakeDetector(std::string_view name, const DetectorParams& params,
                                               std::string_view series_name);

// The names MakeDetector accepts, in FindingKind order.
std::vector<std::string_view> DetectorNames();

// One detector a series gets by default.
struct DetectorSpec {
  std::string detector;   // MakeDetector name
  DetectorParams params;  // empty = the detector's defaults
  bool enabled = true;    // false: suggested but off unless a rule enables it
};

// The default detectors for a metric, from its name (and labels, kept for
// future use): every series gets non_finite; `*loss*` adds spike and
// divergence (plateau present, disabled); `*grad_norm*` adds grad_explosion
// and spike; `time/*`, `perf/*`, `*step_time*`, `*samples_per_s*`,
// `*tokens_per_s*`, `*throughput*` add throughput_drop (direction from the
// name: times rise, rates fall); `sys/gpu/utilization` adds gpu_idle;
// `sys/gpu/memory_used_bytes` (and `*memory_used*`) memory_growth;
// `*throttl*` / `*clock_event*` throttling; `*xid*`, `*ecc*`,
// `*remapped*` hw_error. The full table is in docs/detectors.md.
std::vector<DetectorSpec> DetectorsForMetric(std::string_view metric, const Labels& labels);

// --- Stall / lost heartbeat (time-based, per run) -------------------------

// Learns a run's usual interval between activities (any point or heartbeat)
// from the times it sees: a robust running estimate (EWMA of the log
// interval plus a high quantile), O(1). Thread-safety: as Detector.
class ActivityTracker {
 public:
  void Observe(int64_t time_ms);
  int64_t last_activity_ms() const { return last_ms_; }  // 0 before any
  // Typical (median-like) and high (~p99) interval in ms; 0 until 3
  // intervals have been seen.
  double usual_interval_ms() const;
  double high_interval_ms() const;
  int64_t intervals_seen() const { return n_; }

  std::string SaveState() const;
  Status RestoreState(std::string_view bytes);

 private:
  bool seen_any_ = false;
  int64_t last_ms_ = 0;
  int64_t n_ = 0;        // intervals seen
  double log_mean_ = 0;  // EWMA of ln(interval ms)
  double log_dev_ = 0;   // EWMA of |ln(interval) - log_mean_|
};

struct StallParams {
  // A run is stalled when silent for max(min_silence_ms, factor × the usual
  // interval's high estimate).
  double factor = 10.0;
  int64_t min_silence_ms = 60'000;
};

// Called periodically by the alerting layer for each running run. Returns a
// kStall firing Finding when `now_ms - last_activity_ms` exceeds the allowed
// silence (score grows with the overrun), nullopt otherwise. `usual_interval_ms`
// is ActivityTracker::high_interval_ms() (or any caller estimate; <= 0 means
// unknown, then only min_silence_ms applies). `run_name` goes into the message.
// The caller deduplicates (fires once per silence, resolves on activity).
std::optional<Finding> CheckStall(int64_t now_ms, int64_t last_activity_ms,
                                  double usual_interval_ms, const StallParams& params,
                                  std::string_view run_name);

}  // namespace vigil::analysis
