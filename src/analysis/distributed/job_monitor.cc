#include "analysis/distributed/job_monitor.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "analysis/median.h"

namespace vigil::analysis {

namespace {

constexpr float kNoValue = std::numeric_limits<float>::quiet_NaN();
// Two heartbeats that put a phase's start this close together saw the
// same phase instance (network and scheduling jitter), not a new one.
constexpr int64_t kPhaseJitterMs = 250;
// Names in a message, at most.
constexpr size_t kMaxNamed = 8;

std::string Ms(double seconds) {
  return seconds < 1 ? fmt::format("{:.1f} ms", seconds * 1000) : fmt::format("{:.2f} s", seconds);
}

std::string Duration(int64_t ms) {
  return ms < 120'000 ? fmt::format("{:.1f} s", static_cast<double>(ms) / 1000)
                      : fmt::format("{:.1f} min", static_cast<double>(ms) / 60'000);
}

// "3", "3, 9 and 12", "3, 9, ... (20 ranks)".
std::string RankList(const std::vector<int64_t>& ranks) {
  std::string out;
  const size_t n = std::min(ranks.size(), kMaxNamed);
  for (size_t i = 0; i < n; ++i) {
    if (i > 0) out += (i + 1 == n && ranks.size() == n) ? " and " : ", ";
    out += fmt::format("{}", ranks[i]);
  }
  if (ranks.size() > n) out += fmt::format(", ... ({} ranks)", ranks.size());
  return out;
}

std::string_view PhaseOf(std::string_view metric) {
  return metric.substr(5);  // after "time/"
}

}  // namespace

bool IsCommPhase(std::string_view phase) {
  static constexpr std::string_view kNames[] = {"allreduce",  "all_reduce",     "allgather",
                                                "all_gather", "reduce_scatter", "sync",
                                                "wait",       "barrier",        "collective"};
  if (phase.substr(0, 4) == "comm") return true;
  return std::find(std::begin(kNames), std::end(kNames), phase) != std::end(kNames);
}

bool IsCrossRankMetric(std::string_view metric) {
  if (metric.substr(0, 5) == "time/" || metric.substr(0, 4) == "sys/") return false;
  return metric.find("loss") != std::string_view::npos;
}

std::string_view RankStateName(RankState s) {
  switch (s) {
    case RankState::kAlive:
      return "alive";
    case RankState::kStuck:
      return "stuck";
    case RankState::kLost:
      return "lost";
    case RankState::kFinished:
      return "finished";
  }
  return "unknown";
}

JobMonitor::JobMonitor(int64_t world_size) : steps_(kStepSlots) {
  set_world_size(world_size);
}

void JobMonitor::set_world_size(int64_t w) {
  world_size_ = std::clamp<int64_t>(w, 0, kMaxRanks);
}

JobMonitor::Rank* JobMonitor::GetRank(int64_t rank, int64_t now_ms) {
  if (rank < 0 || rank >= kMaxRanks) return nullptr;
  if (static_cast<size_t>(rank) >= ranks_.size()) ranks_.resize(static_cast<size_t>(rank) + 1);
  Rank& r = ranks_[static_cast<size_t>(rank)];
  if (!r.known) {
    r.known = true;
    r.progress_ms = now_ms;
    if (started_ms_ < 0) started_ms_ = now_ms;
  }
  r.seen_ms = std::max(r.seen_ms, now_ms);
  return &r;
}

void JobMonitor::OnJoin(int64_t rank, std::string_view node, int64_t now_ms) {
  Rank* r = GetRank(rank, now_ms);
  if (r == nullptr) return;
  if (!node.empty()) r->node = std::string(node);
  r->finished = false;
  r->progress_ms = now_ms;
}

void JobMonitor::OnRankPoints(int64_t rank, std::string_view node, std::string_view metric,
                              std::span<const int64_t> steps, std::span<const double> values,
                              int64_t now_ms) {
  Rank* r = GetRank(rank, now_ms);
  if (r == nullptr || steps.empty()) return;
  if (!node.empty() && r->node != node) r->node = std::string(node);
  auto it = std::find_if(r->last_step.begin(), r->last_step.end(),
                         [&](const auto& e) { return e.first == metric; });
  if (it == r->last_step.end()) {
    r->last_step.emplace_back(std::string(metric), -1);
    it = r->last_step.end() - 1;
  }
  const bool is_phase = metric.substr(0, 5) == "time/" && metric.size() > 5;
  const bool cross_rank = IsCrossRankMetric(metric);
  for (size_t i = 0; i < steps.size() && i < values.size(); ++i) {
    if (steps[i] <= it->second) continue;  // seen: a resend
    it->second = steps[i];
    if (is_phase) AddPhasePoint(r, rank, PhaseOf(metric), steps[i], values[i]);
    if (cross_rank) AddLossPoint(metric, rank, steps[i], values[i]);
  }
  const int64_t last = it->second;
  if (last > r->step) {
    r->step = last;
    r->progress_ms = now_ms;
  }
  if (last > max_step_) {
    if (max_step_ >= 0 && max_step_ms_ > 0 && now_ms > max_step_ms_) {
      const double per_step = static_cast<double>(now_ms - max_step_ms_) / 1000.0 /
                              static_cast<double>(last - max_step_);
      pace_s_ = pace_s_ == 0 ? per_step : 0.8 * pace_s_ + 0.2 * per_step;
    }
    max_step_ = last;
    max_step_ms_ = now_ms;
  }
}

void JobMonitor::AddPhasePoint(Rank* r, int64_t rank, std::string_view phase, int64_t step,
                               double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return;
  // The rank's mean per phase, an EMA spanning about one straggler window.
  const double alpha = 2.0 / (static_cast<double>(params_.straggler_window) + 1.0);
  auto pm = std::find_if(r->phase_mean.begin(), r->phase_mean.end(),
                         [&](const auto& e) { return e.first == phase; });
  if (pm == r->phase_mean.end()) {
    r->phase_mean.emplace_back(std::string(phase), seconds);
  } else {
    pm->second += alpha * (seconds - pm->second);
  }
  StepRow& row = steps_[static_cast<size_t>(step) % kStepSlots];
  if (row.step != step) {
    if (row.step > step) return;  // older than the ring holds
    row.step = step;
    row.count = 0;
    std::fill(row.total.begin(), row.total.end(), kNoValue);
    std::fill(row.compute.begin(), row.compute.end(), kNoValue);
  }
  const size_t i = static_cast<size_t>(rank);
  if (row.total.size() <= i) {
    row.total.resize(i + 1, kNoValue);
    row.compute.resize(i + 1, kNoValue);
  }
  if (std::isnan(row.total[i])) {
    row.total[i] = 0;
    row.compute[i] = 0;
    ++row.count;
  }
  row.total[i] += static_cast<float>(seconds);
  if (!IsCommPhase(phase)) row.compute[i] += static_cast<float>(seconds);
}

void JobMonitor::AddLossPoint(std::string_view metric, int64_t rank, int64_t step, double value) {
  auto it = losses_.find(metric);
  if (it == losses_.end()) {
    if (losses_.size() >= 16) return;  // bound the metrics judged per job
    it = losses_.emplace(std::string(metric), LossTable{}).first;
  }
  LossRow& row = it->second.rows[static_cast<size_t>(step) % kLossSlots];
  if (row.step != step) {
    if (row.step > step) return;
    if (row.step >= 0 && !row.evaluated) EvaluateLossRow(it->first, &row, &pending_);
    row.step = step;
    row.evaluated = false;
    row.count = 0;
    std::fill(row.has.begin(), row.has.end(), 0);
  }
  const size_t i = static_cast<size_t>(rank);
  if (row.value.size() <= i) {
    row.value.resize(i + 1, 0);
    row.has.resize(i + 1, 0);
  }
  if (!row.has[i]) ++row.count;
  row.has[i] = 1;
  row.value[i] = value;
}

void JobMonitor::OnNodePoints(std::string_view node, std::string_view metric, const Labels& labels,
                              std::span<const double> values) {
  if (node.empty() || values.empty()) return;
  const double v = values.back();
  if (!std::isfinite(v)) return;
  std::string gpu;
  std::string reason;
  for (const Label& l : labels) {
    if (l.name == "gpu") gpu = l.value;
    if (l.name == "reason") reason = l.value;
  }
  auto find = [&]() -> NodeMetrics& {
    auto it = nodes_.find(node);
    if (it == nodes_.end()) it = nodes_.emplace(std::string(node), NodeMetrics{}).first;
    return it->second;
  };
  if (metric == "sys/cpu/utilization") {
    find().cpu_utilization = v;
  } else if (metric == "sys/gpu/sm_clock_mhz") {
    find().sm_clock[gpu] = v;
  } else if (metric == "sys/gpu/utilization") {
    find().gpu_util[gpu] = v;
  } else if (metric == "sys/gpu/throttle" && reason != "gpu_idle" &&
             reason != "applications_clocks_setting") {
    find().throttle[gpu + "/" + reason] = v;
  }
}

void JobMonitor::OnHeartbeat(int64_t rank, const RankBeat& beat, int64_t now_ms) {
  Rank* r = GetRank(rank, now_ms);
  if (r == nullptr) return;
  if (beat.node && !beat.node->empty()) r->node = *beat.node;
  if (beat.step && *beat.step > r->step) {
    r->step = *beat.step;
    r->progress_ms = now_ms;
    if (*beat.step > max_step_) {
      max_step_ = *beat.step;
      max_step_ms_ = now_ms;
    }
  }
  if (beat.phase) {
    const int64_t since = now_ms - beat.phase_ms.value_or(0);
    const bool changed = !r->has_phase || r->phase != *beat.phase ||
                         std::llabs(since - r->phase_since_ms) > kPhaseJitterMs;
    // A new phase (or a new instance of the same one) started at `since`:
    // that, not this heartbeat's arrival, is the rank's last progress.
    if (changed) {
      r->progress_ms = std::max(r->progress_ms, std::min(since, now_ms));
      r->phase_since_ms = since;
    }
    r->phase = *beat.phase;
    r->has_phase = true;
    r->phase_ms = beat.phase_ms.value_or(0);
  }
}

void JobMonitor::OnRankFinished(int64_t rank, int64_t now_ms) {
  Rank* r = GetRank(rank, now_ms);
  if (r != nullptr) r->finished = true;
}

void JobMonitor::OnJobEnded() {
  ended_ = true;
}

// --- evaluation ---------------------------------------------------------------

std::optional<double> JobMonitor::MedianStepSeconds() const {
  // The median over the recent steps of the median rank's step time.
  std::vector<std::pair<int64_t, const StepRow*>> rows;
  for (const StepRow& row : steps_) {
    if (row.step >= 0 && row.count >= 1) rows.emplace_back(row.step, &row);
  }
  std::sort(rows.begin(), rows.end(),
            [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<double> medians;
  std::vector<double> cells;
  for (size_t i = 0; i < rows.size() && medians.size() < 20; ++i) {
    cells.clear();
    for (float v : rows[i].second->total) {
      if (!std::isnan(v)) cells.push_back(v);
    }
    if (!cells.empty()) medians.push_back(Median(cells));
  }
  if (!medians.empty()) return Median(medians);
  if (pace_s_ > 0) return pace_s_;
  return std::nullopt;
}

std::vector<int64_t> JobMonitor::MissingRanks() const {
  std::vector<int64_t> missing;
  for (int64_t i = 0; i < world_size_; ++i) {
    if (static_cast<size_t>(i) >= ranks_.size() || !ranks_[static_cast<size_t>(i)].known) {
      missing.push_back(i);
    }
  }
  return missing;
}

int64_t JobMonitor::HangThresholdMs(const DistributedParams& p) const {
  int64_t t = p.hang_after_ms;
  if (auto s = MedianStepSeconds()) {
    t = std::max(t, static_cast<int64_t>(p.hang_factor * *s * 1000.0));
  }
  return t;
}

bool JobMonitor::IsLost(const Rank& r, int64_t now_ms, int64_t threshold_ms) const {
  return r.known && !r.finished && now_ms - r.seen_ms > threshold_ms;
}

bool JobMonitor::IsStuck(const Rank& r, int64_t now_ms, int64_t threshold_ms) const {
  return r.known && !r.finished && now_ms - r.progress_ms > threshold_ms;
}

std::string JobMonitor::DescribeRank(const Rank& r, int64_t rank, int64_t now_ms,
                                     int64_t threshold_ms) const {
  std::string out = fmt::format("rank {}", rank);
  if (r.step >= 0) out += fmt::format(" at step {}", r.step);
  if (r.has_phase) {
    out += r.phase.empty() ? " between phases" : fmt::format(" in phase {}", r.phase);
  }
  if (!r.node.empty()) out += fmt::format(" on node {}", r.node);
  if (IsLost(r, now_ms, threshold_ms)) {
    return out + fmt::format(" (silent for {})", Duration(now_ms - r.seen_ms));
  }
  return out + fmt::format(" (no progress for {})", Duration(now_ms - r.progress_ms));
}

std::vector<JobFinding> JobMonitor::Evaluate(int64_t now_ms, const DistributedParams& params) {
  params_ = params;
  std::vector<JobFinding> out = std::move(pending_);
  pending_.clear();
  if (ended_) {
    if (hang_) {
      JobFinding f = *hang_;
      f.transition = Transition::kResolved;
      f.message = "the run ended";
      out.push_back(std::move(f));
      hang_.reset();
    }
    for (auto& [subject, s] : slow_) {
      if (!s.firing) continue;
      JobFinding f;
      f.kind = FindingKind::kStraggler;
      f.transition = Transition::kResolved;
      f.subject = subject;
      f.ranks = s.ranks;
      f.message = "the run ended";
      out.push_back(std::move(f));
    }
    slow_.clear();
    for (auto& [rank, step] : lost_) {
      JobFinding f;
      f.kind = FindingKind::kRankLost;
      f.transition = Transition::kResolved;
      f.subject = rank < 0 ? std::string("missing") : fmt::format("rank={}", rank);
      if (rank >= 0) f.ranks = {rank};
      f.step = step;
      f.message = "the run ended";
      out.push_back(std::move(f));
    }
    lost_.clear();
    return out;
  }
  EvaluateHang(now_ms, params, &out);
  EvaluateLost(now_ms, params, &out);
  EvaluateStragglers(params, &out);
  EvaluateDivergence(params, &out);
  return out;
}

void JobMonitor::EvaluateHang(int64_t now_ms, const DistributedParams& p,
                              std::vector<JobFinding>* out) {
  const int64_t threshold = HangThresholdMs(p);
  // stopped: no progress (or silence) beyond the threshold. nearly: past
  // half of it. Ranks of one hung collective cross the threshold within a
  // flush interval of each other, and the one that stopped first is not
  // always the first to cross it (its last points may arrive later than
  // the others'), so the nearly stopped take part in naming the culprit.
  std::vector<int64_t> stopped, nearly, moving;
  bool any_heard_stuck = false;
  for (size_t i = 0; i < ranks_.size(); ++i) {
    const Rank& r = ranks_[i];
    if (!r.known || r.finished) continue;
    const bool lost = IsLost(r, now_ms, threshold);
    if (lost || IsStuck(r, now_ms, threshold)) {
      stopped.push_back(static_cast<int64_t>(i));
      if (!lost) any_heard_stuck = true;
    } else if (IsStuck(r, now_ms, threshold / 2)) {
      nearly.push_back(static_cast<int64_t>(i));
    } else {
      moving.push_back(static_cast<int64_t>(i));
    }
  }
  if (hang_) {
    if (stopped.empty()) {
      JobFinding f = *hang_;
      f.transition = Transition::kResolved;
      f.message = moving.empty() && nearly.empty() ? "every rank finished"
                                                   : "the stopped ranks advance again";
      out->push_back(std::move(f));
      hang_.reset();
    }
    return;
  }
  // Only silent ranks while others advance: rank_lost, not a hang.
  if (stopped.empty() || (!any_heard_stuck && !moving.empty())) return;
  if (ranks_.size() < 2 && world_size_ < 2) return;
  stopped.insert(stopped.end(), nearly.begin(), nearly.end());

  // Who stopped first: lowest step, then silent before heard, then not in
  // a communication phase (a rank waiting in a collective is a victim),
  // then the earliest to stop (phase start, else last progress).
  auto key = [&](int64_t i) {
    const Rank& r = ranks_[static_cast<size_t>(i)];
    const bool lost = IsLost(r, now_ms, threshold);
    const bool waiting = r.has_phase && IsCommPhase(r.phase);
    const int64_t stop_ms = lost ? r.seen_ms : r.has_phase ? r.phase_since_ms : r.progress_ms;
    return std::make_tuple(r.step, lost ? 0 : 1, waiting ? 1 : 0, stop_ms);
  };
  std::sort(stopped.begin(), stopped.end(), [&](int64_t a, int64_t b) { return key(a) < key(b); });
  const auto first = key(stopped.front());
  const int64_t tolerance_ms =
      std::max<int64_t>(1000, static_cast<int64_t>(2000 * MedianStepSeconds().value_or(0)));
  std::vector<int64_t> culprits, waiting;
  for (int64_t i : stopped) {
    const auto k = key(i);
    const bool same_class = std::get<0>(k) == std::get<0>(first) &&
                            std::get<1>(k) == std::get<1>(first) &&
                            std::get<2>(k) == std::get<2>(first);
    if (same_class && std::get<3>(k) - std::get<3>(first) <= tolerance_ms) {
      culprits.push_back(i);
    } else {
      waiting.push_back(i);
    }
  }
  std::sort(culprits.begin(), culprits.end());
  const Rank& c0 = ranks_[static_cast<size_t>(culprits.front())];
  std::string message;
  // Ranks of world_size that never joined hold up everyone else's first
  // collective: they are the culprits.
  std::vector<int64_t> missing = MissingRanks();
  if (!missing.empty() && now_ms - started_ms_ > threshold) {
    waiting.insert(waiting.end(), culprits.begin(), culprits.end());
    culprits = missing;
    message = fmt::format("hang: rank{} {} never joined", missing.size() > 1 ? "s" : "",
                          RankList(missing));
  } else if (culprits.size() == 1) {
    message = fmt::format("hang: the first to stop was {}",
                          DescribeRank(c0, culprits.front(), now_ms, threshold));
  } else {
    std::vector<std::string> nodes;
    for (int64_t i : culprits) {
      const std::string& n = ranks_[static_cast<size_t>(i)].node;
      if (!n.empty() && std::find(nodes.begin(), nodes.end(), n) == nodes.end()) {
        nodes.push_back(n);
      }
    }
    message = fmt::format("hang: the first to stop were ranks {} at step {}", RankList(culprits),
                          c0.step);
    if (c0.has_phase) message += fmt::format(" in phase {}", c0.phase.empty() ? "-" : c0.phase);
    if (!nodes.empty()) {
      message += fmt::format(
          " on node{} {}", nodes.size() > 1 ? "s" : "",
          fmt::join(nodes.begin(),
                    nodes.begin() + static_cast<std::ptrdiff_t>(std::min(nodes.size(), kMaxNamed)),
                    ", "));
    }
    message += fmt::format(" (no progress for {})",
                           Duration(now_ms - std::min(c0.progress_ms, c0.seen_ms)));
  }
  if (!waiting.empty()) {
    // Where the others wait: the most common (phase, step).
    std::map<std::pair<std::string, int64_t>, int64_t> where;
    for (int64_t i : waiting) {
      const Rank& r = ranks_[static_cast<size_t>(i)];
      ++where[{r.has_phase ? r.phase : std::string(), r.step}];
    }
    auto top = std::max_element(where.begin(), where.end(),
                                [](const auto& a, const auto& b) { return a.second < b.second; });
    message += fmt::format("; {} rank{} wait", waiting.size(), waiting.size() > 1 ? "s" : "");
    message += fmt::format(" ({} {} at step {})", top->second,
                           top->first.first.empty() ? "between phases" : "in " + top->first.first,
                           top->first.second);
  }
  if (!moving.empty()) {
    int64_t at = -1;
    for (int64_t i : moving) at = std::max(at, ranks_[static_cast<size_t>(i)].step);
    message += fmt::format("; {} rank{} still advance (at step {})", moving.size(),
                           moving.size() > 1 ? "s" : "", at);
  }
  message += fmt::format("; threshold {}", Duration(threshold));
  JobFinding f;
  f.kind = FindingKind::kRankHang;
  f.severity = Severity::kCritical;
  f.step = c0.step;
  f.ranks = std::move(culprits);
  f.value = static_cast<double>(stopped.size());
  f.message = std::move(message);
  hang_ = f;
  out->push_back(std::move(f));
}

void JobMonitor::EvaluateLost(int64_t now_ms, const DistributedParams& p,
                              std::vector<JobFinding>* out) {
  const int64_t threshold = HangThresholdMs(p);
  // Resolve ranks heard from again (or finished).
  for (auto it = lost_.begin(); it != lost_.end();) {
    if (it->first < 0) {  // "missing": resolved once every rank joined
      bool all = world_size_ > 0 && ranks_.size() >= static_cast<size_t>(world_size_);
      for (int64_t i = 0; all && i < world_size_; ++i) all = ranks_[static_cast<size_t>(i)].known;
      if (all) {
        JobFinding f;
        f.kind = FindingKind::kRankLost;
        f.transition = Transition::kResolved;
        f.subject = "missing";
        f.message = "every rank has joined";
        out->push_back(std::move(f));
        it = lost_.erase(it);
      } else {
        ++it;
      }
      continue;
    }
    const Rank& r = ranks_[static_cast<size_t>(it->first)];
    if (r.finished || !IsLost(r, now_ms, threshold)) {
      JobFinding f;
      f.kind = FindingKind::kRankLost;
      f.transition = Transition::kResolved;
      f.subject = fmt::format("rank={}", it->first);
      f.ranks = {it->first};
      f.step = r.step;
      f.message = r.finished ? fmt::format("rank {} finished", it->first)
                             : fmt::format("rank {} is heard from again", it->first);
      out->push_back(std::move(f));
      it = lost_.erase(it);
    } else {
      ++it;
    }
  }
  // Ranks of world_size that never joined, once the job has been up for
  // the threshold.
  if (world_size_ > 0 && started_ms_ >= 0 && now_ms - started_ms_ > threshold &&
      lost_.count(-1) == 0) {
    std::vector<int64_t> missing = MissingRanks();
    if (!missing.empty()) {
      JobFinding f;
      f.kind = FindingKind::kRankLost;
      f.subject = "missing";
      f.ranks = missing;
      f.message = fmt::format("{} of {} ranks never joined the run: {}", missing.size(),
                              world_size_, RankList(missing));
      lost_[-1] = 0;
      out->push_back(std::move(f));
    }
  }
  if (hang_) return;  // silent ranks are named in the hang
  for (size_t i = 0; i < ranks_.size(); ++i) {
    const Rank& r = ranks_[i];
    const int64_t rank = static_cast<int64_t>(i);
    if (!IsLost(r, now_ms, threshold) || lost_.count(rank) != 0) continue;
    JobFinding f;
    f.kind = FindingKind::kRankLost;
    f.subject = fmt::format("rank={}", rank);
    f.ranks = {rank};
    f.step = r.step;
    f.message = fmt::format(
        "rank {}{} not heard from for {} (last at step {}) while the job goes "
        "on: the process is gone or frozen",
        rank, r.node.empty() ? "" : " on node " + r.node, Duration(now_ms - r.seen_ms), r.step);
    lost_[rank] = r.step;
    out->push_back(std::move(f));
  }
}

JobMonitor::Slowdowns JobMonitor::ComputeSlowdowns(const DistributedParams& p) const {
  Slowdowns sd;
  sd.ratio.assign(ranks_.size(), std::nullopt);
  sd.excess.assign(ranks_.size(), std::nullopt);
  // The window: the last straggler_window steps with enough ranks, below the
  // newest step (whose points may still be arriving).
  int64_t known = 0;
  for (const Rank& r : ranks_) known += (r.known && !r.finished) ? 1 : 0;
  const int64_t min_cells = std::max<int64_t>(2, (known + 1) / 2);
  std::vector<const StepRow*> rows;
  for (const StepRow& row : steps_) {
    if (row.step >= 0 && row.step < max_step_ && row.count >= min_cells) rows.push_back(&row);
  }
  std::sort(rows.begin(), rows.end(), [](auto* a, auto* b) { return a->step > b->step; });
  const size_t window = static_cast<size_t>(std::max<int64_t>(3, p.straggler_window));
  if (rows.size() > window) rows.resize(window);
  if (rows.size() < 3) return sd;
  sd.first_step = rows.back()->step;
  sd.last_step = rows.front()->step;
  std::vector<std::vector<double>> ratios(ranks_.size()), excesses(ranks_.size());
  std::vector<double> cells;
  for (const StepRow* row : rows) {
    cells.clear();
    for (float v : row->compute) {
      if (!std::isnan(v)) cells.push_back(v);
    }
    const double m = Median(cells);
    if (m <= 0) continue;
    for (size_t i = 0; i < row->compute.size() && i < ranks_.size(); ++i) {
      if (std::isnan(row->compute[i])) continue;
      ratios[i].push_back(row->compute[i] / m);
      excesses[i].push_back(row->compute[i] - m);
    }
  }
  const size_t min_samples = std::max<size_t>(3, rows.size() / 2);
  for (size_t i = 0; i < ranks_.size(); ++i) {
    if (ratios[i].size() < min_samples) continue;
    sd.ratio[i] = Median(ratios[i]);
    sd.excess[i] = Median(excesses[i]);
  }
  return sd;
}

std::string JobMonitor::StragglerHint(const std::vector<int64_t>& ranks,
                                      std::string_view node) const {
  std::vector<std::string> hints;
  // The phase that accounts for most of the excess.
  const Rank& r = ranks_[static_cast<size_t>(ranks.front())];
  std::string best_phase;
  double best_excess = 0, best_own = 0, best_median = 0;
  for (const auto& [phase, own] : r.phase_mean) {
    if (IsCommPhase(phase)) continue;
    std::vector<double> others;
    for (size_t i = 0; i < ranks_.size(); ++i) {
      if (std::find(ranks.begin(), ranks.end(), static_cast<int64_t>(i)) != ranks.end()) continue;
      for (const auto& [ph, v] : ranks_[i].phase_mean) {
        if (ph == phase) others.push_back(v);
      }
    }
    if (others.empty()) continue;
    const double m = Median(others);
    if (own - m > best_excess) {
      best_excess = own - m;
      best_phase = phase;
      best_own = own;
      best_median = m;
    }
  }
  if (!best_phase.empty()) {
    hints.push_back(fmt::format("its {} phase takes {} against {} on the median rank{}", best_phase,
                                Ms(best_own), Ms(best_median),
                                best_phase == "data" ? " (input pipeline: data wait)" : ""));
  }
  // The node's own metrics against the other nodes'.
  auto nm = nodes_.find(node);
  if (nm != nodes_.end()) {
    const NodeMetrics& m = nm->second;
    std::vector<std::string> reasons;
    for (const auto& [key, v] : m.throttle) {
      if (v > 0) {
        std::string reason = key.substr(key.find('/') + 1);
        if (std::find(reasons.begin(), reasons.end(), reason) == reasons.end()) {
          reasons.push_back(reason);
        }
      }
    }
    if (!reasons.empty()) {
      hints.push_back(
          fmt::format("node {} reports GPU clock events: {}", node, fmt::join(reasons, ", ")));
    }
    if (!m.sm_clock.empty()) {
      double own = std::numeric_limits<double>::infinity();
      for (const auto& [g, v] : m.sm_clock) own = std::min(own, v);
      std::vector<double> others;
      for (const auto& [n, o] : nodes_) {
        if (n == node) continue;
        for (const auto& [g, v] : o.sm_clock) others.push_back(v);
      }
      if (!others.empty()) {
        const double med = Median(others);
        if (own < 0.9 * med) {
          hints.push_back(
              fmt::format("its lowest SM clock is {:.0f} MHz against {:.0f} MHz on the "
                          "other nodes",
                          own, med));
        }
      }
    }
    if (m.cpu_utilization) {
      std::vector<double> others;
      for (const auto& [n, o] : nodes_) {
        if (n != node && o.cpu_utilization) others.push_back(*o.cpu_utilization);
      }
      const double med = others.empty() ? 0 : Median(others);
      if (*m.cpu_utilization >= 90 && (others.empty() || *m.cpu_utilization > med + 15)) {
        hints.push_back(fmt::format("node {} CPU is {:.0f}% busy{}", node, *m.cpu_utilization,
                                    others.empty() ? "" : fmt::format(" (others {:.0f}%)", med)));
      }
    }
  }
  if (hints.empty()) return "";
  return fmt::format("; {}", fmt::join(hints, "; "));
}

void JobMonitor::EvaluateStragglers(const DistributedParams& p, std::vector<JobFinding>* out) {
  const Slowdowns sd = ComputeSlowdowns(p);
  if (sd.last_step < 0) return;
  const double fire_at = 1.0 + p.straggler_margin;
  const double keep_at = 1.0 + p.straggler_margin / 2;
  auto slow = [&](size_t i) {
    return sd.ratio[i] && *sd.ratio[i] >= fire_at && sd.excess[i] &&
           *sd.excess[i] >= p.straggler_min_excess_s && !ranks_[i].finished;
  };
  auto still = [&](size_t i) { return sd.ratio[i] && *sd.ratio[i] >= keep_at; };

  // Subjects this round: whole nodes whose every measured rank is slow (at
  // least two), else single ranks.
  struct Candidate {
    std::vector<int64_t> ranks;
    std::string node;
    bool flagged = false;
    bool kept = false;
    double slowdown = 0;
    double excess = 0;
  };
  std::map<std::string, Candidate> candidates;
  std::map<std::string, std::vector<size_t>> by_node;
  for (size_t i = 0; i < ranks_.size(); ++i) {
    if (ranks_[i].known && sd.ratio[i]) by_node[ranks_[i].node].push_back(i);
  }
  std::vector<bool> in_node(ranks_.size(), false);
  for (const auto& [node, members] : by_node) {
    if (node.empty() || members.size() < 2 || by_node.size() < 2) continue;
    bool all_slow = true, all_kept = true;
    std::vector<double> ratios, excesses;
    for (size_t i : members) {
      all_slow = all_slow && slow(i);
      all_kept = all_kept && still(i);
      ratios.push_back(*sd.ratio[i]);
      excesses.push_back(*sd.excess[i]);
    }
    const std::string subject = "node=" + node;
    if (!all_slow && !(all_kept && slow_.count(subject))) continue;
    Candidate c;
    for (size_t i : members) {
      c.ranks.push_back(static_cast<int64_t>(i));
      in_node[i] = true;
    }
    c.node = node;
    c.flagged = all_slow;
    c.kept = all_kept;
    c.slowdown = Median(ratios);
    c.excess = Median(excesses);
    candidates[subject] = std::move(c);
  }
  for (size_t i = 0; i < ranks_.size(); ++i) {
    if (in_node[i] || !sd.ratio[i]) continue;
    const std::string subject = fmt::format("rank={}", i);
    if (!slow(i) && !(still(i) && slow_.count(subject))) continue;
    Candidate c;
    c.ranks = {static_cast<int64_t>(i)};
    c.node = ranks_[i].node;
    c.flagged = slow(i);
    c.kept = still(i);
    c.slowdown = *sd.ratio[i];
    c.excess = sd.excess[i].value_or(0);
    candidates[subject] = std::move(c);
  }

  // Conditions that ended.
  for (auto it = slow_.begin(); it != slow_.end();) {
    auto c = candidates.find(it->first);
    if (c != candidates.end() && (c->second.flagged || c->second.kept)) {
      ++it;
      continue;
    }
    if (it->second.firing) {
      JobFinding f;
      f.kind = FindingKind::kStraggler;
      f.transition = Transition::kResolved;
      f.severity = Severity::kWarning;
      f.subject = it->first;
      f.ranks = it->second.ranks;
      f.step = sd.last_step;
      f.message = fmt::format("{} is back within {:.0f}% of the median rank", it->first,
                              p.straggler_margin * 50);
      out->push_back(std::move(f));
    }
    it = slow_.erase(it);
  }
  // New and continuing conditions.
  for (auto& [subject, c] : candidates) {
    auto it = slow_.find(subject);
    if (it == slow_.end()) {
      if (!c.flagged) continue;
      SlowState s;
      s.ranks = c.ranks;
      s.node = c.node;
      s.since_step = sd.first_step;
      it = slow_.emplace(subject, std::move(s)).first;
    }
    SlowState& s = it->second;
    s.slowdown = c.slowdown;
    std::string who =
        c.ranks.size() == 1
            ? fmt::format("rank {}{}", c.ranks[0], c.node.empty() ? "" : " on node " + c.node)
            : fmt::format("node {} (ranks {})", c.node, RankList(c.ranks));
    s.message = fmt::format(
        "straggler: {} is {:.0f}% slower than the median rank: compute {} more per step over "
        "steps {}-{}, slow since step {}{}",
        who, (c.slowdown - 1) * 100, Ms(c.excess), sd.first_step, sd.last_step, s.since_step,
        StragglerHint(c.ranks, c.node));
    if (!s.firing && sd.last_step - s.since_step + 1 >= p.straggler_for_steps) {
      s.firing = true;
      JobFinding f;
      f.kind = FindingKind::kStraggler;
      f.severity = Severity::kWarning;
      f.subject = subject;
      f.ranks = c.ranks;
      f.step = sd.last_step;
      f.value = c.slowdown;
      f.message = s.message;
      out->push_back(std::move(f));
    }
  }
}

void JobMonitor::EvaluateLossRow(std::string_view metric, LossRow* row,
                                 std::vector<JobFinding>* out) {
  row->evaluated = true;
  if (row->count < 3) return;
  std::vector<int64_t> bad;
  std::vector<double> finite;
  std::vector<int64_t> finite_ranks;
  for (size_t i = 0; i < row->has.size(); ++i) {
    if (!row->has[i]) continue;
    if (std::isfinite(row->value[i])) {
      finite.push_back(row->value[i]);
      finite_ranks.push_back(static_cast<int64_t>(i));
    } else {
      bad.push_back(static_cast<int64_t>(i));
    }
  }
  const size_t n = bad.size() + finite.size();
  std::string why;
  double median = 0;
  if (!finite.empty()) {
    std::vector<double> tmp = finite;
    median = Median(tmp);
  }
  if (!bad.empty()) {
    if (bad.size() * 2 > n) return;  // most ranks: not one rank's problem
    why = "non-finite";
  } else {
    std::vector<double> dev;
    for (double v : finite) dev.push_back(std::fabs(v - median));
    const double mad = Median(dev);
    const double scale = std::max(1.4826 * mad, 0.02 * std::fabs(median));
    if (scale <= 0) return;
    for (size_t k = 0; k < finite.size(); ++k) {
      if (std::fabs(finite[k] - median) / scale > params_.divergence_z) {
        bad.push_back(finite_ranks[k]);
      }
    }
    if (bad.empty() || bad.size() * 4 > n) {
      // No outlier, or too many to be "one rank": count quiet steps.
      for (auto& [subject, quiet] : diverged_) {
        if (subject.rfind(std::string(metric) + "{", 0) == 0) ++quiet;
      }
      return;
    }
    why = "an outlier";
  }
  for (int64_t r : bad) {
    const std::string subject = fmt::format("{}{{rank={}}}", metric, r);
    auto it = diverged_.find(subject);
    if (it != diverged_.end()) {
      it->second = 0;
      continue;
    }
    diverged_[subject] = 0;
    JobFinding f;
    f.kind = FindingKind::kRankDivergence;
    f.severity = Severity::kCritical;
    f.subject = subject;
    f.ranks = {r};
    f.step = row->step;
    f.value = row->value[static_cast<size_t>(r)];
    const std::string node = static_cast<size_t>(r) < ranks_.size() ? ranks_[r].node : "";
    f.message = fmt::format(
        "{} is {} on rank {}{} only at step {}: {} against a median of {:.6g} over {} ranks",
        metric, why, r, node.empty() ? "" : " (node " + node + ")", row->step, f.value, median, n);
    out->push_back(std::move(f));
  }
}

void JobMonitor::EvaluateDivergence(const DistributedParams& p, std::vector<JobFinding>* out) {
  (void)p;
  int64_t active = 0;
  for (const Rank& r : ranks_) active += (r.known && !r.finished) ? 1 : 0;
  for (auto& [metric, table] : losses_) {
    std::vector<LossRow*> rows;
    for (LossRow& row : table.rows) {
      if (row.step >= 0 && !row.evaluated && (row.count >= active || row.step < max_step_ - 1)) {
        rows.push_back(&row);
      }
    }
    std::sort(rows.begin(), rows.end(), [](auto* a, auto* b) { return a->step < b->step; });
    for (LossRow* row : rows) EvaluateLossRow(metric, row, out);
  }
  // One-off findings resolve after 20 quiet steps of their metric.
  for (auto it = diverged_.begin(); it != diverged_.end();) {
    if (it->second < 20) {
      ++it;
      continue;
    }
    JobFinding f;
    f.kind = FindingKind::kRankDivergence;
    f.transition = Transition::kResolved;
    f.subject = it->first;
    f.message = "the ranks agree again for 20 steps";
    out->push_back(std::move(f));
    it = diverged_.erase(it);
  }
}

// --- snapshot -------------------------------------------------------------------

JobSnapshot JobMonitor::Snapshot(int64_t now_ms, const DistributedParams& p) const {
  JobSnapshot s;
  s.world_size = world_size_;
  s.hang = hang_;
  s.hang_threshold_ms = HangThresholdMs(p);
  s.step_median_s = MedianStepSeconds();
  const Slowdowns sd = ComputeSlowdowns(p);
  // Per-rank medians of the recent rows.
  std::vector<const StepRow*> rows;
  for (const StepRow& row : steps_) {
    if (row.step >= 0 && row.count > 0) rows.push_back(&row);
  }
  std::sort(rows.begin(), rows.end(), [](auto* a, auto* b) { return a->step < b->step; });
  const size_t window = static_cast<size_t>(std::max<int64_t>(3, p.straggler_window));
  std::vector<const StepRow*> recent(
      rows.end() - static_cast<std::ptrdiff_t>(std::min(rows.size(), window)), rows.end());
  std::vector<double> compute_all;
  std::map<std::string, NodeStatus> nodes;
  for (size_t i = 0; i < ranks_.size(); ++i) {
    const Rank& r = ranks_[i];
    if (!r.known) continue;
    RankStatus st;
    st.rank = static_cast<int64_t>(i);
    st.node = r.node;
    st.step = r.step;
    st.phase = r.phase;
    st.phase_ms = r.phase_ms;
    st.last_seen_ms = r.seen_ms;
    st.stuck_ms = r.finished ? 0 : now_ms - r.progress_ms;
    st.state = r.finished                                ? RankState::kFinished
               : IsLost(r, now_ms, s.hang_threshold_ms)  ? RankState::kLost
               : IsStuck(r, now_ms, s.hang_threshold_ms) ? RankState::kStuck
                                                         : RankState::kAlive;
    std::vector<double> tot, comp;
    for (const StepRow* row : recent) {
      if (i < row->total.size() && !std::isnan(row->total[i])) {
        tot.push_back(row->total[i]);
        comp.push_back(row->compute[i]);
      }
    }
    if (!tot.empty()) {
      st.step_s = Median(tot);
      st.compute_s = Median(comp);
      compute_all.push_back(*st.compute_s);
    }
    st.slowdown = i < sd.ratio.size() ? sd.ratio[i] : std::nullopt;
    ++s.known;
    if (st.state == RankState::kFinished) ++s.finished;
    if (st.state == RankState::kAlive || st.state == RankState::kStuck) ++s.alive;
    NodeStatus& n = nodes[r.node];
    n.node = r.node;
    n.ranks.push_back(st.rank);
    s.ranks.push_back(std::move(st));
  }
  if (!compute_all.empty()) s.compute_median_s = Median(compute_all);
  for (auto& [name, n] : nodes) {
    std::vector<double> ratios;
    for (int64_t r : n.ranks) {
      if (static_cast<size_t>(r) < sd.ratio.size() && sd.ratio[r]) ratios.push_back(*sd.ratio[r]);
    }
    if (!ratios.empty()) n.slowdown = Median(ratios);
    s.nodes.push_back(std::move(n));
  }
  for (const auto& [subject, st] : slow_) {
    StragglerStatus g;
    g.subject = subject;
    g.ranks = st.ranks;
    g.node = st.node;
    g.slowdown = st.slowdown;
    g.since_step = st.since_step;
    g.firing = st.firing;
    g.message = st.message;
    s.stragglers.push_back(std::move(g));
  }
  std::sort(s.stragglers.begin(), s.stragglers.end(),
            [](const auto& a, const auto& b) { return a.slowdown > b.slowdown; });
  const size_t first = rows.size() > kSpreadSteps ? rows.size() - kSpreadSteps : 0;
  std::vector<double> cells;
  for (size_t k = first; k < rows.size(); ++k) {
    const StepRow* row = rows[k];
    StepSpread sp;
    sp.step = row->step;
    cells.clear();
    double max_v = -1;
    for (size_t i = 0; i < row->total.size(); ++i) {
      const float v = row->total[i];
      if (std::isnan(v)) continue;
      cells.push_back(v);
      if (v > max_v) {
        max_v = v;
        sp.slowest_rank = static_cast<int64_t>(i);
      }
    }
    if (cells.empty()) continue;
    sp.ranks = static_cast<int64_t>(cells.size());
    sp.max_s = max_v;
    sp.min_s = *std::min_element(cells.begin(), cells.end());
    sp.median_s = Median(cells);
    s.spread.push_back(sp);
  }
  return s;
}

}  // namespace vigil::analysis
