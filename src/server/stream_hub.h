// StreamHub: the live side of the dashboard. Browsers subscribe to a run's
// stream (GET /api/v1/stream?run=ID, server-sent events); the hub is an
// IngestListener, so every batch the engine commits for that run is sent to
// its subscribers as one `points` event, within the commit's latency.
//
// Wire format (text/event-stream), one event per committed batch:
//   event: points
//   data: {"run":"ID","series":[{"metric":"train/loss","labels":{},
//          "steps":[..],"times":[..],"values":[..]}, ...]}
// (values as in the HTTP API: numbers, or "NaN"/"Infinity"/"-Infinity").
// A batch of more than `max_event_points` points is not copied on the commit
// thread: its subscribers get `event: refetch` (data: {"run":"ID"}) and
// re-read the series. A comment line (": ping") is written every
// `ping_interval`, which also notices and drops the streams of browsers that
// went away. A subscriber that stops reading is disconnected by the
// transport's bounded queue (StreamWriter), never buffered without limit.
//
// Thread-safety: every method may be called from any thread;
// OnBatchCommitted runs on the engine's commit thread and never blocks on
// I/O (StreamWriter::Write only queues).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "server/http_types.h"
#include "server/ingest_listener.h"

namespace vigil::server {

struct StreamHubOptions {
  std::chrono::milliseconds ping_interval{15'000};
  size_t max_event_points = 200'000;
  size_t max_subscribers = 1'000;
};

class StreamHub final : public IngestListener {
 public:
  explicit StreamHub(StreamHubOptions options = {});
  ~StreamHub() override;  // stops the ping thread and closes every stream
  StreamHub(const StreamHub&) = delete;
  StreamHub& operator=(const StreamHub&) = delete;

  // Adds `writer` to the subscribers of `run`. ResourceExhausted when
  // max_subscribers streams are open (the caller answers 503 before
  // starting the stream, so check with CanSubscribe first).
  bool CanSubscribe() const;
  void Subscribe(const std::string& run, std::shared_ptr<StreamWriter> writer);

  void OnBatchCommitted(const RunBrief& run, const WriteBatch& batch) override;

  // Writes the keep-alive comment to every stream and forgets closed ones.
  // The ping thread calls it; tests call it directly.
  void Ping();
  // Closes every stream (server shutdown).
  void CloseAll();

  size_t subscribers() const;

  // The `points` event for a batch (exposed for tests).
  static std::string FormatPointsEvent(const WriteBatch& batch);

 private:
  void PingLoop();

  const StreamHubOptions options_;
  mutable std::mutex mu_;
  // run id -> its open streams. Closed streams are removed by Ping() and
  // when a write to them fails.
  std::unordered_map<std::string, std::vector<std::shared_ptr<StreamWriter>>>
      streams_;            // GUARDED_BY(mu_)
  size_t count_ = 0;       // GUARDED_BY(mu_), streams in streams_
  bool stopping_ = false;  // GUARDED_BY(mu_)
  std::condition_variable cv_;
  std::thread ping_thread_;
};

}  // namespace vigil::server
