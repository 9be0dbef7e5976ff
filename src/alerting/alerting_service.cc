#include "alerting/alerting_service.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <numeric>

#include <fmt/format.h>

#include "core/json_writer.h"

namespace vigil::alerting {

using analysis::Finding;
using analysis::Transition;

struct AlertingService::Job {
  enum Kind : uint8_t { kPoints, kActivity, kTask, kTick } kind = kPoints;
  std::string run, project, metric;
  Labels labels;
  std::vector<int64_t> steps, times;
  std::vector<double> values;
  int64_t now_ms = 0;
  std::function<void()> task;
};

struct AlertingService::Watch {
  WatchSpec spec;
  std::unique_ptr<analysis::Detector> detector;
  int64_t alert_id = 0;            // the open alert, 0 if none
  int64_t last_finding_step = 0;   // of the open alert's latest finding
  std::optional<Finding> pending;  // a firing held back by the rule's `for`
};

struct AlertingService::SeriesState {
  std::string run, project, metric, labels_json, display;
  Labels labels;
  uint64_t rules_gen = 0;
  bool seen = false;
  int64_t last_step = 0;  // the highest step seen (valid when seen)
  std::vector<Watch> watches;
};

struct AlertingService::JobState {
  std::string project;
  analysis::JobMonitor monitor;
  // Open alerts by "<kind>|<subject>".
  std::unordered_map<std::string, int64_t> alerts;
};

struct AlertingService::RunState {
  std::string project;
  analysis::ActivityTracker tracker;
  int64_t stall_alert = 0;
};

namespace {

std::string LabelsJson(const Labels& labels) {
  JsonWriter w;
  w.BeginObject();
  for (const Label& l : labels) w.Field(l.name, l.value);
  w.EndObject();
  return w.Take();
}

// Signs of life closer together than this are one (the series of one log
// batch arrive as separate calls within microseconds).
constexpr int64_t kMinActivityGapMs = 50;

}  // namespace

AlertingService::AlertingService(AlertingOptions options, storage::MetadataStore* metadata,
                                 const Clock* clock)
    : options_(std::move(options)), metadata_(metadata), clock_(clock) {}

Result<std::unique_ptr<AlertingService>> AlertingService::Open(AlertingOptions options,
                                                               storage::MetadataStore* metadata,
                                                               HttpPoster* poster,
                                                               const Clock* clock) {
  std::unique_ptr<AlertingService> s(new AlertingService(std::move(options), metadata, clock));
  VIGIL_ASSIGN_OR_RETURN(s->store_, AlertStore::Open(s->options_.store_path));
  RuleSet rules;
  if (!s->options_.rules_file.empty()) {
    VIGIL_ASSIGN_OR_RETURN(rules, LoadRulesFile(s->options_.rules_file));
  }
  s->rules_ = std::make_shared<const RuleSet>(std::move(rules));
  VIGIL_ASSIGN_OR_RETURN(auto queued, s->store_->RunsWithQueuedCommands());
  s->queued_runs_.insert(queued.begin(), queued.end());
  VIGIL_ASSIGN_OR_RETURN(int64_t firing, s->store_->CountFiring());
  s->firing_.store(firing);
  s->notifier_ = std::make_unique<Notifier>(poster, s->store_.get(), clock, s->options_.notifier);
  s->worker_ = std::thread([p = s.get()] { p->Loop(); });
  return s;
}

AlertingService::~AlertingService() {
  Stop();
}

void AlertingService::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (worker_.joinable()) worker_.join();
  if (notifier_) notifier_->Stop();
}

// --- ingest side ------------------------------------------------------------

void AlertingService::Enqueue(Job job, size_t points) {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    if (points > 0 && pending_points_ + points > options_.max_pending_points) {
      points_dropped_ += points;
      return;
    }
    pending_points_ += points;
    jobs_.push_back(std::move(job));
  }
  // notify_all: WaitIdle callers share the condition variable with the
  // worker, and notify_one could wake one of them instead.
  cv_.notify_all();
}

void AlertingService::OnPoints(std::string_view run, std::string_view project,
                               std::string_view metric, const Labels& labels,
                               std::span<const int64_t> steps, std::span<const int64_t> times,
                               std::span<const double> values) {
  if (values.empty()) return;
  Job job;
  job.kind = Job::kPoints;
  job.run = std::string(run);
  job.project = std::string(project);
  job.metric = std::string(metric);
  job.labels = labels;
  job.steps.assign(steps.begin(), steps.end());
  job.times.assign(times.begin(), times.end());
  job.values.assign(values.begin(), values.end());
  job.now_ms = clock_->NowMillis();
  size_t n = job.values.size();
  Enqueue(std::move(job), n);
}

void AlertingService::OnActivity(std::string_view run, std::string_view project) {
  Job job;
  job.kind = Job::kActivity;
  job.run = std::string(run);
  job.project = std::string(project);
  job.now_ms = clock_->NowMillis();
  Enqueue(std::move(job), 0);
}

void AlertingService::OnRankJoined(std::string_view run, std::string_view project, int64_t rank,
                                   int64_t world_size, std::string_view node) {
  Job job;
  job.kind = Job::kTask;
  job.task = [this, run = std::string(run), project = std::string(project), rank, world_size,
              node = std::string(node), now = clock_->NowMillis()] {
    std::lock_guard lock(jobs_mu_);
    JobState* j = JobStateFor(run, project);
    if (world_size > 0) j->monitor.set_world_size(world_size);
    j->monitor.OnJoin(rank, node, now);
  };
  Enqueue(std::move(job), 0);
}

void AlertingService::OnRankBeat(std::string_view run, std::string_view project, int64_t rank,
                                 analysis::RankBeat beat) {
  Job job;
  job.kind = Job::kTask;
  job.task = [this, run = std::string(run), project = std::string(project), rank,
              beat = std::move(beat), now = clock_->NowMillis()] {
    std::lock_guard lock(jobs_mu_);
    JobStateFor(run, project)->monitor.OnHeartbeat(rank, beat, now);
  };
  Enqueue(std::move(job), 0);
}

void AlertingService::OnRankFinished(std::string_view run, int64_t rank) {
  Job job;
  job.kind = Job::kTask;
  job.task = [this, run = std::string(run), rank, now = clock_->NowMillis()] {
    std::lock_guard lock(jobs_mu_);
    auto it = job_states_.find(run);
    if (it != job_states_.end()) it->second->monitor.OnRankFinished(rank, now);
  };
  Enqueue(std::move(job), 0);
}

void AlertingService::OnRunEnded(std::string_view run) {
  Job job;
  job.kind = Job::kTask;
  job.task = [this, run = std::string(run)] {
    std::lock_guard lock(jobs_mu_);
    auto it = job_states_.find(run);
    if (it != job_states_.end()) it->second->monitor.OnJobEnded();
  };
  Enqueue(std::move(job), 0);
}

std::optional<analysis::JobSnapshot> AlertingService::RanksSnapshot(const std::string& run) {
  auto rules = this->rules();
  std::lock_guard lock(jobs_mu_);
  auto it = job_states_.find(run);
  if (it == job_states_.end()) return std::nullopt;
  return it->second->monitor.Snapshot(clock_->NowMillis(), rules->builtin.distributed);
}

bool AlertingService::WaitIdle(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return jobs_.empty() && !busy_; });
}

void AlertingService::TickNow() {
  Job job;
  job.kind = Job::kTick;
  job.now_ms = clock_->NowMillis();
  Enqueue(std::move(job), 0);
}

uint64_t AlertingService::points_dropped() const {
  std::lock_guard lock(mu_);
  return points_dropped_;
}

// --- rules ------------------------------------------------------------------

Status AlertingService::ReloadRules() {
  if (options_.rules_file.empty()) {
    return Status::FailedPrecondition("no rules file configured (vigil serve --rules FILE)");
  }
  VIGIL_ASSIGN_OR_RETURN(RuleSet rules, LoadRulesFile(options_.rules_file));
  SetRules(std::move(rules));
  return Status::OK();
}

void AlertingService::SetRules(RuleSet rules) {
  std::lock_guard lock(rules_mu_);
  rules_ = std::make_shared<const RuleSet>(std::move(rules));
  ++rules_gen_;
}

std::shared_ptr<const RuleSet> AlertingService::rules() const {
  std::lock_guard lock(rules_mu_);
  return rules_;
}

// --- the worker -------------------------------------------------------------

void AlertingService::Loop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    if (jobs_.empty()) {
      cv_.wait_for(lock, std::chrono::milliseconds(options_.tick_interval_ms),
                   [&] { return stopping_ || !jobs_.empty(); });
    }
    if (stopping_) break;
    const int64_t now = clock_->NowMillis();
    bool tick_due = now - last_tick_ms_ >= options_.tick_interval_ms;
    if (jobs_.empty() && !tick_due) continue;
    std::optional<Job> job;
    if (!jobs_.empty()) {
      job = std::move(jobs_.front());
      jobs_.pop_front();
      pending_points_ -= job->values.size();
    }
    busy_ = true;
    lock.unlock();
    if (job) Process(*job);
    if (tick_due) {
      last_tick_ms_ = now;
      Tick(now);
    }
    lock.lock();
    busy_ = false;
    cv_.notify_all();
  }
}

void AlertingService::Process(Job& job) {
  switch (job.kind) {
    case Job::kPoints:
      Activity(job.run, job.project, job.now_ms);
      ProcessPoints(job);
      break;
    case Job::kActivity:
      Activity(job.run, job.project, job.now_ms);
      break;
    case Job::kTask:
      job.task();
      break;
    case Job::kTick:
      Tick(job.now_ms);
      break;
  }
}

void AlertingService::Activity(const std::string& run, const std::string& project, int64_t now_ms) {
  RunState& r = runs_[run];
  if (r.project.empty()) r.project = project;
  if (r.tracker.last_activity_ms() == 0 ||
      now_ms - r.tracker.last_activity_ms() >= kMinActivityGapMs) {
    r.tracker.Observe(now_ms);
  }
  if (r.stall_alert != 0) {
    Resolve(r.stall_alert, 0, now_ms, "the run is active again");
    r.stall_alert = 0;
  }
}

void AlertingService::RebuildWatches(SeriesState* s) {
  std::shared_ptr<const RuleSet> rules;
  uint64_t gen;
  {
    std::lock_guard lock(rules_mu_);
    rules = rules_;
    gen = rules_gen_;
  }
  std::vector<Watch> old = std::move(s->watches);
  s->watches.clear();
  for (WatchSpec& spec : rules->WatchesFor(s->metric, s->labels)) {
    Watch w;
    // A watch whose rule, detector and parameters are unchanged keeps its
    // detector (and its learnt state) and its open alert.
    for (Watch& o : old) {
      if (o.detector && o.spec.rule == spec.rule && o.spec.detector == spec.detector &&
          o.spec.params == spec.params) {
        w.detector = std::move(o.detector);
        w.alert_id = std::exchange(o.alert_id, 0);
        w.last_finding_step = o.last_finding_step;
        w.pending = std::move(o.pending);
        break;
      }
    }
    if (!w.detector) {
      auto d = analysis::MakeDetector(spec.detector, spec.params, s->display);
      if (!d.ok()) continue;  // rules were validated on load; a built-in bug is skipped
      w.detector = std::move(*d);
    }
    w.spec = std::move(spec);
    s->watches.push_back(std::move(w));
  }
  // Alerts of rules that no longer watch this series end with them.
  for (Watch& o : old) {
    if (o.alert_id != 0) {
      Resolve(o.alert_id, s->last_step, clock_->NowMillis(), "its rule was removed");
    }
  }
  s->rules_gen = gen;
}

void AlertingService::WarmFromStoredTail(SeriesState* s, int64_t before_step) {
  int64_t want = 0;
  for (const Watch& w : s->watches) want = std::max(want, w.detector->ReplayPointsHint());
  if (want <= 0 || before_step == std::numeric_limits<int64_t>::min()) return;
  auto info = options_.engine->FindSeries(SeriesKey{s->run, s->metric, s->labels});
  if (!info || info->stats.count == 0 || info->stats.first_step >= before_step) return;
  // Read a step window expected to hold `want` points (from the series'
  // mean step spacing, with margin); the whole past when it is short.
  storage::ReadRange range;
  range.to = before_step - 1;
  const double span = static_cast<double>(info->stats.last_step - info->stats.first_step);
  const double spacing = span / static_cast<double>(std::max<uint64_t>(1, info->stats.count - 1));
  const double window = 4.0 * static_cast<double>(want) * std::max(1.0, spacing);
  if (static_cast<double>(before_step - info->stats.first_step) > window) {
    range.from = before_step - static_cast<int64_t>(window);
  }
  SeriesColumns tail;
  if (!options_.engine->ReadSeries(info->id, range, &tail).ok()) return;
  const size_t n = tail.steps.size();
  const size_t first = n > static_cast<size_t>(want) ? n - static_cast<size_t>(want) : 0;
  for (size_t i = first; i < n; ++i) {
    Point p{tail.steps[i], tail.times[i], tail.values[i]};
    if (s->seen && p.step <= s->last_step) continue;
    s->seen = true;
    s->last_step = p.step;
    for (Watch& w : s->watches) (void)w.detector->Observe(p);  // learning only
  }
  warmed_series_.fetch_add(1, std::memory_order_relaxed);
}

AlertingService::JobState* AlertingService::JobStateFor(const std::string& run,
                                                        std::string_view project) {
  auto& slot = job_states_[run];
  if (!slot) slot = std::make_unique<JobState>();
  if (slot->project.empty()) slot->project = std::string(project);
  return slot.get();
}

void AlertingService::FeedRankPoints(const Job& job) {
  std::string_view rank_text, node;
  for (const Label& l : job.labels) {
    if (l.name == "rank") rank_text = l.value;
    if (l.name == "node") node = l.value;
  }
  if (rank_text.empty()) {
    // A node's system metrics (the agent's sys/* with a node label) give
    // the straggler alerts their hints; only for runs known to have ranks.
    if (node.empty() || job.metric.rfind("sys/", 0) != 0) return;
    std::lock_guard lock(jobs_mu_);
    auto it = job_states_.find(job.run);
    if (it != job_states_.end())
      it->second->monitor.OnNodePoints(node, job.metric, job.labels, job.values);
    return;
  }
  int64_t rank = -1;
  auto [p, ec] = std::from_chars(rank_text.data(), rank_text.data() + rank_text.size(), rank);
  if (ec != std::errc() || p != rank_text.data() + rank_text.size() || rank < 0) return;
  std::span<const int64_t> steps = job.steps;
  std::span<const double> values = job.values;
  std::vector<int64_t> sorted_steps;
  std::vector<double> sorted_values;
  if (!std::is_sorted(steps.begin(), steps.end())) {
    std::vector<size_t> order(steps.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return steps[a] < steps[b]; });
    for (size_t i : order) {
      sorted_steps.push_back(steps[i]);
      sorted_values.push_back(values[i]);
    }
    steps = sorted_steps;
    values = sorted_values;
  }
  std::lock_guard lock(jobs_mu_);
  JobStateFor(job.run, job.project)
      ->monitor.OnRankPoints(rank, node, job.metric, steps, values, job.now_ms);
}

void AlertingService::ProcessPoints(Job& job) {
  FeedRankPoints(job);
  SeriesKey key{job.run, job.metric, job.labels};
  std::string canonical = key.Canonical();
  auto& slot = series_[canonical];
  if (!slot) {
    slot = std::make_unique<SeriesState>();
    slot->run = job.run;
    slot->project = job.project;
    slot->metric = job.metric;
    slot->labels = job.labels;
    slot->labels_json = LabelsJson(job.labels);
    slot->display = FormatSeriesName(job.metric, job.labels);
  }
  SeriesState* s = slot.get();
  uint64_t gen;
  {
    std::lock_guard lock(rules_mu_);
    gen = rules_gen_;
  }
  const bool fresh = s->rules_gen == 0 && !s->seen;
  if (s->rules_gen != gen) RebuildWatches(s);
  if (fresh && options_.engine != nullptr && !job.steps.empty()) {
    WarmFromStoredTail(s, *std::min_element(job.steps.begin(), job.steps.end()));
  }
  // Points in step order; a batch is usually sorted already.
  std::vector<size_t> order(job.values.size());
  std::iota(order.begin(), order.end(), 0);
  if (!std::is_sorted(job.steps.begin(), job.steps.end())) {
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return job.steps[a] < job.steps[b]; });
  }
  for (size_t i : order) {
    Point p{job.steps[i], job.times[i], job.values[i]};
    // Steps at or below the last one seen are a client's retry (the engine
    // dropped them as duplicates) and are skipped.
    if (s->seen && p.step <= s->last_step) continue;
    s->seen = true;
    s->last_step = p.step;
    for (Watch& w : s->watches) {
      std::optional<Finding> f = w.detector->Observe(p);
      if (f) {
        HandleFinding(s, &w, *f);
        continue;
      }
      if (w.pending) {
        if (!w.detector->active()) {
          w.pending.reset();
        } else if (p.time_ms - w.pending->time_ms >= w.spec.for_ms) {
          Finding held = std::move(*w.pending);
          w.pending.reset();
          Fire(s, &w, held);
        }
      }
      if (w.alert_id != 0 && !w.detector->active() &&
          p.step - w.last_finding_step >= w.spec.resolve_after_steps) {
        Resolve(w.alert_id, p.step, p.time_ms,
                fmt::format("no new finding for {} steps", w.spec.resolve_after_steps));
        w.alert_id = 0;
      }
    }
  }
}

void AlertingService::HandleFinding(SeriesState* s, Watch* w, const Finding& f) {
  if (f.transition == Transition::kResolved) {
    w->pending.reset();
    if (w->alert_id != 0) {
      Resolve(w->alert_id, f.step, f.time_ms, f.message);
      w->alert_id = 0;
    }
    return;
  }
  if (w->alert_id != 0) {  // deduplicated into the open alert
    w->last_finding_step = f.step;
    (void)store_->BumpAlert(w->alert_id, f.step, f.time_ms);
    return;
  }
  if (w->spec.for_ms > 0) {
    if (!w->pending) w->pending = f;
    return;
  }
  Fire(s, w, f);
}

void AlertingService::Fire(SeriesState* s, Watch* w, const Finding& f) {
  AlertRecord a;
  a.run = s->run;
  a.project = s->project;
  a.rule = w->spec.rule;
  a.kind = std::string(analysis::FindingKindName(f.kind));
  a.metric = s->metric;
  a.labels_json = s->labels_json;
  a.series = s->display;
  a.step = a.last_step = f.step;
  a.time_ms = a.last_time_ms = f.time_ms;
  a.value = f.value;
  a.score = f.score;
  a.severity = std::string(analysis::SeverityName(w->spec.severity.value_or(f.severity)));
  a.message = f.message;
  a.created_ms = clock_->NowMillis();
  auto id = store_->OpenAlert(a);
  if (!id.ok() && id.status().code() == StatusCode::kAlreadyExists) {
    // Open since before a restart (or a rules reload): adopt it.
    auto existing = store_->FindFiring(a.run, a.rule, a.series);
    if (existing.ok() && *existing) {
      w->alert_id = **existing;
      w->last_finding_step = f.step;
      (void)store_->BumpAlert(w->alert_id, f.step, f.time_ms);
    }
    return;
  }
  if (!id.ok()) return;  // the store failed; the next finding tries again
  a.id = *id;
  w->alert_id = a.id;
  w->last_finding_step = f.step;
  firing_.fetch_add(1);

  storage::EventRecord ev;
  ev.run = a.run;
  ev.time_ms = a.created_ms;
  ev.kind = "alert";
  ev.message = a.message;
  JsonWriter d;
  d.BeginObject()
      .Field("alert", fmt::format("{}", a.id))
      .Field("state", "firing")
      .Field("rule", a.rule)
      .Field("kind", a.kind)
      .Field("severity", a.severity)
      .Field("metric", a.metric)
      .Key("labels")
      .Raw(a.labels_json)
      .Field("step", a.step)
      .FieldDouble("value", a.value)
      .EndObject();
  ev.data_json = d.Take();
  if (metadata_ != nullptr) (void)metadata_->AppendEvent(ev);
  Notify(a, "firing", w->spec.webhooks);
  for (const RuleAction& act : w->spec.actions) {
    std::string args = act.args_json;
    if (act.command == "rollback" && args.size() >= 2 && args.back() == '}') {
      // The step of the finding tells the SDK which checkpoint is "before".
      args.pop_back();
      args += fmt::format("{}\"step\":{}}}", args.size() > 1 ? "," : "", f.step);
    }
    (void)QueueCommand(a.run, act.command, args, "rule:" + a.rule, a.id);
  }
}

void AlertingService::Resolve(int64_t alert_id, int64_t step, int64_t time_ms,
                              std::string_view why) {
  if (!store_->ResolveAlert(alert_id, step, time_ms).ok()) return;
  firing_.fetch_sub(1);
  auto a = store_->GetAlert(alert_id);
  if (!a.ok()) return;
  storage::EventRecord ev;
  ev.run = a->run;
  ev.time_ms = clock_->NowMillis();
  ev.kind = "alert";
  ev.message = fmt::format("resolved: {} ({})", a->message, why);
  JsonWriter d;
  d.BeginObject()
      .Field("alert", fmt::format("{}", a->id))
      .Field("state", "resolved")
      .Field("rule", a->rule)
      .Field("kind", a->kind)
      .Field("step", step)
      .EndObject();
  ev.data_json = d.Take();
  if (metadata_ != nullptr) (void)metadata_->AppendEvent(ev);
  std::optional<std::vector<std::string>> webhooks;
  {
    // The rule's webhooks as now configured (it may have been reloaded).
    auto rules = this->rules();
    if (a->rule.rfind("builtin/", 0) == 0) {
      webhooks = rules->builtin.webhooks;
    } else {
      for (const Rule& r : rules->rules) {
        if (r.name == a->rule) webhooks = r.webhooks;
      }
    }
  }
  Notify(*a, "resolved", webhooks);
}

void AlertingService::Notify(const AlertRecord& alert, std::string_view event,
                             const std::optional<std::vector<std::string>>& webhooks) {
  auto rules = this->rules();
  if (!webhooks) {
    for (const Webhook& w : rules->webhooks) notifier_->Enqueue(alert, event, w);
    return;
  }
  for (const std::string& name : *webhooks) {
    if (const Webhook* w = rules->FindWebhook(name)) notifier_->Enqueue(alert, event, *w);
  }
}

void AlertingService::TickJobs(int64_t now_ms, const RuleSet& rules) {
  std::lock_guard lock(jobs_mu_);
  for (auto& [run, job] : job_states_) {
    for (const analysis::JobFinding& f : job->monitor.Evaluate(now_ms, rules.builtin.distributed)) {
      HandleJobFinding(run, job.get(), f, now_ms, rules);
    }
  }
}

void AlertingService::HandleJobFinding(const std::string& run, JobState* job,
                                       const analysis::JobFinding& f, int64_t now_ms,
                                       const RuleSet& rules) {
  const std::string kind(analysis::FindingKindName(f.kind));
  const std::string key = kind + "|" + f.subject;
  if (f.transition == Transition::kResolved) {
    auto it = job->alerts.find(key);
    if (it != job->alerts.end()) {
      Resolve(it->second, f.step, now_ms, f.message);
      job->alerts.erase(it);
    }
    return;
  }
  const bool on = rules.builtin.enabled &&
                  std::find(rules.builtin.disable.begin(), rules.builtin.disable.end(), kind) ==
                      rules.builtin.disable.end();
  if (!on || job->alerts.count(key) != 0) return;
  // Only a running run raises alerts; an ended one is told so.
  if (metadata_ != nullptr) {
    auto r = metadata_->GetRun(run);
    if (!r.ok() || r->state != "running") {
      job->monitor.OnJobEnded();
      return;
    }
  }
  SeriesState s;
  s.run = run;
  s.project = job->project;
  Labels labels;
  if (f.kind == analysis::FindingKind::kRankDivergence) {
    s.metric = f.subject.substr(0, f.subject.find('{'));
  }
  if (f.ranks.size() == 1 && f.kind != analysis::FindingKind::kRankHang) {
    labels.push_back({"rank", fmt::format("{}", f.ranks.front())});
  } else if (f.subject.rfind("node=", 0) == 0) {
    labels.push_back({"node", f.subject.substr(5)});
  }
  s.labels_json = LabelsJson(labels);
  s.display = f.subject;
  Watch w;
  w.spec.rule = "builtin/" + kind;
  w.spec.detector = kind;
  w.spec.webhooks = rules.builtin.webhooks;
  Finding finding;
  finding.kind = f.kind;
  finding.severity = f.severity;
  finding.step = f.step;
  finding.time_ms = now_ms;
  finding.value = f.value;
  finding.score = 1;
  finding.message = f.message;
  Fire(&s, &w, finding);
  if (w.alert_id != 0) job->alerts[key] = w.alert_id;
}

void AlertingService::Tick(int64_t now_ms) {
  auto rules = this->rules();
  TickJobs(now_ms, *rules);
  for (auto& [key, s] : series_) {
    for (Watch& w : s->watches) {
      std::optional<Finding> f = w.detector->Tick(now_ms);
      if (f) HandleFinding(s.get(), &w, *f);
    }
  }
  bool stall_on = rules->builtin.enabled &&
                  std::find(rules->builtin.disable.begin(), rules->builtin.disable.end(),
                            "stall") == rules->builtin.disable.end();
  if (!stall_on) return;
  for (auto it = runs_.begin(); it != runs_.end();) {
    RunState& r = it->second;
    if (r.stall_alert != 0 || r.tracker.last_activity_ms() == 0) {
      ++it;
      continue;
    }
    auto f = analysis::CheckStall(now_ms, r.tracker.last_activity_ms(),
                                  r.tracker.high_interval_ms(), rules->builtin.stall, it->first);
    if (!f) {
      ++it;
      continue;
    }
    // Only a running run can stall; a finished one is forgotten.
    if (metadata_ != nullptr) {
      auto run = metadata_->GetRun(it->first);
      if (!run.ok() || run->state != "running") {
        it = runs_.erase(it);
        continue;
      }
    }
    SeriesState s;
    s.run = it->first;
    s.project = r.project;
    s.labels_json = "{}";
    Watch w;
    w.spec.rule = "builtin/stall";
    w.spec.detector = "stall";
    w.spec.webhooks = rules->builtin.webhooks;
    Fire(&s, &w, *f);
    r.stall_alert = w.alert_id;
    ++it;
  }
}

// --- alerts and commands ------------------------------------------------------

Result<std::vector<AlertRecord>> AlertingService::ListAlerts(const AlertQuery& query) {
  return store_->ListAlerts(query);
}

int64_t AlertingService::firing() const {
  return firing_.load();
}

void AlertingService::AppendCommandEvent(const CommandRecord& c, std::string_view extra) {
  if (metadata_ == nullptr) return;
  storage::EventRecord ev;
  ev.run = c.run;
  ev.time_ms = clock_->NowMillis();
  ev.kind = "command";
  ev.message = fmt::format("command {} {} {}{}", c.seq, c.type, CommandStateName(c.state), extra);
  JsonWriter d;
  d.BeginObject()
      .Field("command", fmt::format("{}", c.seq))
      .Field("type", c.type)
      .Field("state", CommandStateName(c.state))
      .Key("args")
      .Raw(c.args_json)
      .Field("source", c.source);
  if (!c.message.empty()) d.Field("message", c.message);
  d.EndObject();
  ev.data_json = d.Take();
  (void)metadata_->AppendEvent(ev);
}

Result<CommandRecord> AlertingService::QueueCommand(const std::string& run, const std::string& type,
                                                    const std::string& args_json,
                                                    const std::string& source, int64_t alert_id) {
  CommandRecord c;
  c.run = run;
  c.type = type;
  c.args_json = args_json;
  c.source = source;
  c.alert_id = alert_id;
  c.created_ms = clock_->NowMillis();
  VIGIL_ASSIGN_OR_RETURN(c, store_->QueueCommand(std::move(c)));
  {
    std::lock_guard lock(commands_mu_);
    queued_runs_.insert(run);
  }
  AppendCommandEvent(c, source == "api" ? "" : fmt::format(" (by {})", source));
  return c;
}

Result<std::vector<CommandRecord>> AlertingService::ListCommands(const std::string& run,
                                                                 int64_t limit) {
  return store_->ListCommands(run, limit);
}

Result<std::vector<CommandRecord>> AlertingService::TakeCommands(const std::string& run) {
  {
    std::lock_guard lock(commands_mu_);
    // Erased before the store is read: a command queued meanwhile re-inserts
    // the run, so it is delivered by the next answer at the latest.
    if (queued_runs_.erase(run) == 0) return std::vector<CommandRecord>();
  }
  auto taken = store_->TakeQueuedCommands(run, clock_->NowMillis());
  if (!taken.ok()) {
    std::lock_guard lock(commands_mu_);
    queued_runs_.insert(run);  // keep the invariant: try again next answer
    return taken.status();
  }
  // Written here rather than by the worker so that the timeline keeps the
  // order delivered < acknowledged; like the store update above, this I/O
  // happens only in the rare answers that carry commands.
  for (const CommandRecord& c : *taken) AppendCommandEvent(c, "");
  return taken;
}

Result<CommandRecord> AlertingService::AckCommand(const std::string& run, int64_t seq,
                                                  CommandState to, const std::string& message) {
  VIGIL_ASSIGN_OR_RETURN(auto r, store_->AckCommand(run, seq, to, message, clock_->NowMillis()));
  if (r.second) {
    AppendCommandEvent(r.first, r.first.message.empty() ? "" : ": " + r.first.message);
  }
  return std::move(r.first);
}

}  // namespace vigil::alerting
