// stall / lost heartbeat: ActivityTracker learns a run's usual interval
// between activities; CheckStall compares the current silence with it.
//
// The tracker keeps an EWMA of ln(interval) and of its absolute deviation
// (rate 1/n for the first 20 intervals, then kAlpha), so a run that logs
// every 50 ms and one that heartbeats every 30 s are both judged by their
// own rhythm. high_interval_ms is exp(mean + 3 × 1.25 × mean-abs-dev), about
// the 99.9th percentile of a log-normal interval.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "analysis/detectors/detector.h"
#include "analysis/detectors/detector_base.h"

namespace vigil::analysis {

namespace {
constexpr double kAlpha = 0.05;
constexpr uint8_t kTrackerVersion = 1;
}  // namespace

void ActivityTracker::Observe(int64_t time_ms) {
  if (!seen_any_) {
    last_ms_ = time_ms;
    seen_any_ = true;
    return;
  }
  if (time_ms <= last_ms_) return;  // out of order or same instant: no interval
  double x = std::log(static_cast<double>(time_ms - last_ms_));
  last_ms_ = time_ms;
  ++n_;
  double a = std::max(kAlpha, 1.0 / static_cast<double>(std::min<int64_t>(n_, 20)));
  if (n_ == 1) {
    log_mean_ = x;
    log_dev_ = 0;
    return;
  }
  double dev = std::fabs(x - log_mean_);
  log_mean_ += a * (x - log_mean_);
  log_dev_ += a * (dev - log_dev_);
}

double ActivityTracker::usual_interval_ms() const {
  return n_ >= 3 ? std::exp(log_mean_) : 0;
}

double ActivityTracker::high_interval_ms() const {
  return n_ >= 3 ? std::exp(log_mean_ + 3 * 1.25 * log_dev_) : 0;
}

std::string ActivityTracker::SaveState() const {
  internal::StateWriter w;
  w.U8(kTrackerVersion);
  w.I64(last_ms_);
  w.I64(n_);
  w.F64(log_mean_);
  w.F64(log_dev_);
  w.Bool(seen_any_);
  return std::move(w.bytes());
}

Status ActivityTracker::RestoreState(std::string_view bytes) {
  internal::StateReader r(bytes);
  if (r.U8() != kTrackerVersion) return Status::Corruption("activity tracker: unknown version");
  int64_t last = r.I64();
  int64_t n = r.I64();
  double mean = r.F64();
  double dev = r.F64();
  bool seen = r.Bool();
  if (!r.ok() || !r.at_end() || n < 0 || !std::isfinite(mean) || !(dev >= 0)) {
    return Status::Corruption("activity tracker: malformed state");
  }
  last_ms_ = last;
  n_ = n;
  log_mean_ = mean;
  log_dev_ = dev;
  seen_any_ = seen;
  return Status::OK();
}

std::optional<Finding> CheckStall(int64_t now_ms, int64_t last_activity_ms,
                                  double usual_interval_ms, const StallParams& params,
                                  std::string_view run_name) {
  if (last_activity_ms <= 0 || now_ms <= last_activity_ms) return std::nullopt;
  double silence = static_cast<double>(now_ms - last_activity_ms);
  double allowed = static_cast<double>(params.min_silence_ms);
  if (usual_interval_ms > 0) allowed = std::max(allowed, params.factor * usual_interval_ms);
  if (silence <= allowed) return std::nullopt;
  Finding f;
  f.kind = FindingKind::kStall;
  f.severity = Severity::kCritical;
  f.transition = Transition::kFiring;
  f.step = 0;
  f.time_ms = now_ms;
  f.value = silence / 1000;
  f.score = internal::ScoreFromRatio(silence / allowed);
  std::string usual = usual_interval_ms > 0
                          ? fmt::format(" (it usually reports every {})",
                                        internal::FormatSeconds(usual_interval_ms / 1000))
                          : std::string();
  f.message = fmt::format("run {} has reported nothing for {}{}", run_name,
                          internal::FormatSeconds(silence / 1000), usual);
  return f;
}

}  // namespace vigil::analysis
