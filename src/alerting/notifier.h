// Notifier: sends alert notifications to webhooks from its own thread, with
// retries and a stored record of every attempt (AlertStore deliveries).
//
// A delivery is attempted up to max_attempts times; an answer other than
// 2xx, or no answer, schedules the next attempt after a backoff that doubles
// from first_backoff_ms up to max_backoff_ms. Each attempt is one row in the
// deliveries table; the last one of a delivery has final = 1.
//
// HTTP itself is behind HttpPoster, because this layer sits below the
// server and client layers that own the HTTP code: the server injects a
// Boost.Beast implementation (server/webhook_poster.h), tests a fake.
//
// Thread-safety: Enqueue, counters and WaitIdle from any thread; the poster
// is only called from the notifier's thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

#include "alerting/alert_store.h"
#include "alerting/rules.h"
#include "core/clock.h"
#include "core/json_writer.h"
#include "core/result.h"

namespace vigil::alerting {

class HttpPoster {
 public:
  virtual ~HttpPoster() = default;
  // POSTs `body` to `url` (http://host:port/path) and returns the HTTP
  // status, or Unavailable when no answer came (refused, reset, timeout).
  virtual Result<int> Post(const std::string& url, std::string_view content_type,
                           const std::string& body, std::chrono::milliseconds timeout) = 0;
};

struct NotifierOptions {
  int max_attempts = 5;
  int64_t first_backoff_ms = 500;
  int64_t max_backoff_ms = 30'000;
  std::chrono::milliseconds timeout{5'000};
  // Pending deliveries beyond this are dropped (and counted): a dead
  // receiver must not grow memory without bound.
  size_t max_pending = 10'000;
};

// The body sent for `alert` going `event` ("firing" | "resolved"):
//   json:  {"version":1,"event":"alert.firing","alert":{...the API's alert object...}}
//   slack: {"text":"[critical] FIRING train/loss spiked ... (run abc, rule builtin/spike)"}
std::string RenderWebhookBody(const AlertRecord& alert, std::string_view event,
                              WebhookFormat format);
// The API's JSON object for one alert (GET /api/v1/alerts and webhooks).
void WriteAlertJson(JsonWriter* w, const AlertRecord& alert);

class Notifier {
 public:
  // `poster` and `store` must outlive the notifier. `store` may be null
  // (nothing recorded).
  Notifier(HttpPoster* poster, AlertStore* store, const Clock* clock, NotifierOptions options);
  ~Notifier();  // Stop()
  Notifier(const Notifier&) = delete;
  Notifier& operator=(const Notifier&) = delete;

  void Enqueue(const AlertRecord& alert, std::string_view event, const Webhook& webhook);
  // Ends the thread; deliveries still pending are dropped.
  void Stop();

  // True once nothing is pending or in flight, waiting at most `timeout`.
  bool WaitIdle(std::chrono::milliseconds timeout);

  uint64_t delivered() const;  // deliveries that got a 2xx
  uint64_t given_up() const;   // deliveries that exhausted their attempts
  uint64_t dropped() const;    // refused because max_pending was reached

 private:
  struct Job {
    int64_t alert_id = 0;
    std::string event;
    Webhook webhook;
    std::string body;
    int attempt = 1;
    int64_t due_ns = 0;  // MonotonicNanos() of the attempt
  };
  void Loop();
  void Attempt(Job job);

  HttpPoster* poster_;
  AlertStore* store_;
  const Clock* clock_;
  const NotifierOptions options_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> pending_;  // GUARDED_BY(mu_), any order (scanned for the earliest)
  bool in_flight_ = false;   // GUARDED_BY(mu_)
  bool stopping_ = false;    // GUARDED_BY(mu_)
  uint64_t delivered_ = 0, given_up_ = 0, dropped_ = 0;  // GUARDED_BY(mu_)
  std::thread thread_;
};

}  // namespace vigil::alerting
