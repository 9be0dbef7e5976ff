#include "alerting/notifier.h"

#include <algorithm>

#include <fmt/format.h>

#include "core/json_writer.h"

namespace vigil::alerting {

void WriteAlertJson(JsonWriter* w, const AlertRecord& a) {
  w->BeginObject()
      .Field("id", fmt::format("{}", a.id))
      .Field("run", a.run)
      .Field("project", a.project)
      .Field("rule", a.rule)
      .Field("kind", a.kind)
      .Field("metric", a.metric)
      .Key("labels")
      .Raw(a.labels_json)
      .Field("series", a.series)
      .Field("step", a.step)
      .Field("time", a.time_ms)
      .FieldDouble("value", a.value)
      .FieldDouble("score", a.score)
      .Field("severity", a.severity)
      .Field("state", a.state)
      .Field("message", a.message)
      .Field("count", a.count)
      .Field("last_step", a.last_step)
      .Field("last_time", a.last_time_ms);
  if (a.state == "resolved") {
    w->Field("resolved_step", a.resolved_step).Field("resolved_time", a.resolved_ms);
  }
  w->EndObject();
}

std::string RenderWebhookBody(const AlertRecord& a, std::string_view event, WebhookFormat format) {
  JsonWriter w;
  if (format == WebhookFormat::kSlack) {
    std::string text =
        fmt::format("[{}] {} {} (run {}, rule {})", a.severity,
                    event == "resolved" ? "RESOLVED" : "FIRING", a.message, a.run, a.rule);
    w.BeginObject().Field("text", text).EndObject();
    return w.Take();
  }
  w.BeginObject().Field("version", 1).Field("event", fmt::format("alert.{}", event)).Key("alert");
  WriteAlertJson(&w, a);
  w.EndObject();
  return w.Take();
}

Notifier::Notifier(HttpPoster* poster, AlertStore* store, const Clock* clock,
                   NotifierOptions options)
    : poster_(poster), store_(store), clock_(clock), options_(options) {
  thread_ = std::thread([this] { Loop(); });
}

Notifier::~Notifier() {
  Stop();
}

void Notifier::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Notifier::Enqueue(const AlertRecord& alert, std::string_view event, const Webhook& webhook) {
  if (static_cast<int>(
          analysis::ParseSeverity(alert.severity).value_or(analysis::Severity::kInfo)) <
      static_cast<int>(webhook.min_severity)) {
    return;
  }
  Job job;
  job.alert_id = alert.id;
  job.event = std::string(event);
  job.webhook = webhook;
  job.body = RenderWebhookBody(alert, event, webhook.format);
  job.due_ns = MonotonicNanos();
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    if (pending_.size() >= options_.max_pending) {
      ++dropped_;
      return;
    }
    pending_.push_back(std::move(job));
  }
  cv_.notify_all();
}

bool Notifier::WaitIdle(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return pending_.empty() && !in_flight_; });
}

uint64_t Notifier::delivered() const {
  std::lock_guard lock(mu_);
  return delivered_;
}
uint64_t Notifier::given_up() const {
  std::lock_guard lock(mu_);
  return given_up_;
}
uint64_t Notifier::dropped() const {
  std::lock_guard lock(mu_);
  return dropped_;
}

void Notifier::Loop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    if (pending_.empty()) {
      cv_.wait(lock, [&] { return stopping_ || !pending_.empty(); });
      continue;
    }
    auto earliest =
        std::min_element(pending_.begin(), pending_.end(),
                         [](const Job& a, const Job& b) { return a.due_ns < b.due_ns; });
    int64_t wait_ns = earliest->due_ns - MonotonicNanos();
    if (wait_ns > 0) {
      cv_.wait_for(lock, std::chrono::nanoseconds(wait_ns));
      continue;  // re-scan: a new job may be due sooner, or we are stopping
    }
    Job job = std::move(*earliest);
    pending_.erase(earliest);
    in_flight_ = true;
    lock.unlock();
    Attempt(std::move(job));
    lock.lock();
    in_flight_ = false;
    cv_.notify_all();
  }
}

void Notifier::Attempt(Job job) {
  Result<int> r = poster_->Post(job.webhook.url, "application/json", job.body, options_.timeout);
  DeliveryRecord d;
  d.alert_id = job.alert_id;
  d.event = job.event;
  d.webhook = job.webhook.name;
  d.url = job.webhook.url;
  d.attempt = job.attempt;
  d.time_ms = clock_->NowMillis();
  if (r.ok()) {
    d.http_status = *r;
    d.ok = *r >= 200 && *r < 300;
    if (!d.ok) d.error = fmt::format("HTTP status {}", *r);
  } else {
    d.error = r.status().message();
  }
  d.final = d.ok || job.attempt >= options_.max_attempts;
  if (store_ != nullptr) (void)store_->RecordDelivery(d);
  std::lock_guard lock(mu_);
  if (d.ok) {
    ++delivered_;
    return;
  }
  if (d.final) {
    ++given_up_;
    return;
  }
  int64_t backoff = options_.first_backoff_ms;
  for (int i = 1; i < job.attempt && backoff < options_.max_backoff_ms; ++i) backoff *= 2;
  backoff = std::min(backoff, options_.max_backoff_ms);
  job.due_ns = MonotonicNanos() + backoff * 1'000'000;
  ++job.attempt;
  if (!stopping_) pending_.push_back(std::move(job));
}

}  // namespace vigil::alerting
