#include "server/stream_hub.h"

#include <algorithm>

#include <fmt/format.h>

#include "core/json_writer.h"
#include "server/run_json.h"

namespace vigil::server {
namespace {

void AppendInts(std::string* out, const std::vector<int64_t>& v) {
  out->push_back('[');
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) out->push_back(',');
    fmt::format_to(std::back_inserter(*out), "{}", v[i]);
  }
  out->push_back(']');
}

}  // namespace

StreamHub::StreamHub(StreamHubOptions options) : options_(options) {
  ping_thread_ = std::thread([this] { PingLoop(); });
}

StreamHub::~StreamHub() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (ping_thread_.joinable()) ping_thread_.join();
  CloseAll();
}

bool StreamHub::CanSubscribe() const {
  std::lock_guard lock(mu_);
  return count_ < options_.max_subscribers;
}

void StreamHub::Subscribe(const std::string& run, std::shared_ptr<StreamWriter> writer) {
  std::lock_guard lock(mu_);
  streams_[run].push_back(std::move(writer));
  ++count_;
}

std::string StreamHub::FormatPointsEvent(const WriteBatch& batch) {
  std::string data;
  data.reserve(64 + batch.PointCount() * 32);
  JsonWriter w(&data);
  w.BeginObject().Field("run", batch.run).Key("series").BeginArray();
  for (const SeriesColumns& s : batch.series) {
    w.BeginObject().Field("metric", s.key.metric).Key("labels");
    WriteLabels(&w, s.key.labels);
    w.EndObject();
    // Reopen the object to append the columns directly (the hot path).
    data.pop_back();
    data.append(",\"steps\":");
    AppendInts(&data, s.steps);
    data.append(",\"times\":");
    AppendInts(&data, s.times);
    data.append(",\"values\":[");
    for (size_t i = 0; i < s.values.size(); ++i) {
      if (i) data.push_back(',');
      AppendJsonDouble(&data, s.values[i]);
    }
    data.append("]}");
  }
  w.EndArray().EndObject();
  // JSON never holds a raw newline, so the data fits one `data:` line.
  return fmt::format("event: points\ndata: {}\n\n", data);
}

void StreamHub::OnBatchCommitted(const RunBrief& run, const WriteBatch& batch) {
  std::vector<std::shared_ptr<StreamWriter>> targets;
  {
    std::lock_guard lock(mu_);
    auto it = streams_.find(run.id);
    if (it == streams_.end()) return;  // the common case: nobody watches
    targets = it->second;
  }
  std::string event;
  if (batch.PointCount() > options_.max_event_points) {
    std::string data;
    JsonWriter w(&data);
    w.BeginObject().Field("run", run.id).EndObject();
    event = fmt::format("event: refetch\ndata: {}\n\n", data);
  } else {
    event = FormatPointsEvent(batch);
  }
  bool any_closed = false;
  for (const auto& t : targets) {
    if (!t->Write(event)) any_closed = true;
  }
  if (!any_closed) return;
  std::lock_guard lock(mu_);
  auto it = streams_.find(run.id);
  if (it == streams_.end()) return;
  auto& v = it->second;
  size_t before = v.size();
  std::erase_if(v, [](const auto& s) { return !s->IsOpen(); });
  count_ -= before - v.size();
  if (v.empty()) streams_.erase(it);
}

void StreamHub::Ping() {
  std::vector<std::shared_ptr<StreamWriter>> all;
  {
    std::lock_guard lock(mu_);
    for (auto& [run, v] : streams_) all.insert(all.end(), v.begin(), v.end());
  }
  for (const auto& s : all) s->Write(": ping\n\n");
  std::lock_guard lock(mu_);
  for (auto it = streams_.begin(); it != streams_.end();) {
    size_t before = it->second.size();
    std::erase_if(it->second, [](const auto& s) { return !s->IsOpen(); });
    count_ -= before - it->second.size();
    it = it->second.empty() ? streams_.erase(it) : std::next(it);
  }
}

void StreamHub::CloseAll() {
  std::unordered_map<std::string, std::vector<std::shared_ptr<StreamWriter>>> all;
  {
    std::lock_guard lock(mu_);
    all.swap(streams_);
    count_ = 0;
  }
  for (auto& [run, v] : all) {
    for (auto& s : v) s->Close();
  }
}

size_t StreamHub::subscribers() const {
  std::lock_guard lock(mu_);
  return count_;
}

void StreamHub::PingLoop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    cv_.wait_for(lock, options_.ping_interval, [&] { return stopping_; });
    if (stopping_) break;
    lock.unlock();
    Ping();
    lock.lock();
  }
}

}  // namespace vigil::server
