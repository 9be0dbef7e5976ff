// RunCore, online delivery: the one thread that talks to the server.
//
// Each batch is POSTed until the server acknowledges it (2xx), refuses it
// (4xx other than 404/408/429: counted as rejected, not retried) or the
// server has been unreachable for spill_after: then the batch, the outbox
// and every later batch go to the spool directory (run_dir_format.h) until
// replay catches up. Retries resend identical bodies, and the server drops
// exact duplicate points, so a batch whose answer was lost is never stored
// twice. Backoff doubles from 100 ms to 30 s (or follows Retry-After).
#include <filesystem>

#include <fmt/format.h>

#include "client/sdk/commands.h"
#include "client/sdk/json_value.h"
#include "client/sdk/run_core.h"
#include "client/sdk/run_dir_format.h"

namespace vigil::client {
namespace {

constexpr int kMinBackoffMs = 100;
constexpr int kMaxBackoffMs = 30'000;

int64_t SteadyNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string ErrorMessage(const HttpClientResponse& r) {
  auto doc = ParseJson(r.body);
  if (doc.ok()) {
    if (const JsonValue* e = doc->Find("error")) {
      if (auto m = e->GetString("message")) return fmt::format("HTTP {}: {}", r.status, *m);
    }
  }
  return fmt::format("HTTP {}", r.status);
}

}  // namespace

RunCore::SendResult RunCore::Post(std::string_view target, std::string body, std::string* answer,
                                  Status* error, int* retry_after_s) {
  *retry_after_s = 0;
  std::string_view method = "POST";
  if (target.starts_with("PATCH ")) {
    method = "PATCH";
    target.remove_prefix(6);
  }
  auto r = http_->Request(method, target, std::move(body));
  if (!r.ok()) {
    *error = r.status();
    return SendResult::kRetry;
  }
  if (r->status >= 200 && r->status < 300) {
    if (answer) *answer = std::move(r->body);
    return SendResult::kOk;
  }
  *error = Status(r->status >= 500 ? StatusCode::kUnavailable : StatusCode::kInvalidArgument,
                  ErrorMessage(*r));
  if (r->status == 408 || r->status == 429 || r->status >= 500) {
    if (auto ra = r->Header("retry-after")) *retry_after_s = std::atoi(std::string(*ra).c_str());
    return SendResult::kRetry;
  }
  if (r->status == 404) return SendResult::kRunMissing;
  return SendResult::kRejected;
}

Status RunCore::CreateOnServer(bool first) {
  std::string body;
  {
    std::lock_guard lock(out_mu_);
    body = RunBody();
  }
  Status error;
  int retry_after = 0;
  SendResult r = Post("/api/v1/runs", std::move(body), nullptr, &error, &retry_after);
  if (r == SendResult::kOk) {
    created_ = true;
    return Status::OK();
  }
  if (r == SendResult::kRetry) {
    if (first) {
      Notice(
          fmt::format("run {}: cannot reach {} ({}); logging continues, retrying in the "
                      "background",
                      id_, opts_.o.server, error.message()));
    }
    return Status::Unavailable(error.message());
  }
  return Status::FailedPrecondition(
      fmt::format("the server refused run {}: {}", id_, error.message()));
}

void RunCore::HandleAnswer(std::string_view answer) {
  auto doc = ParseJson(answer);
  if (!doc.ok()) return;
  std::vector<Command> commands = ParseCommands(*doc);
  if (commands.empty()) return;
  std::function<void(const Command&)> cb;
  {
    std::lock_guard lock(out_mu_);
    cb = on_command_;
    for (const Command& c : commands) {
      acks_.emplace_back(c.id, AckBody(CommandStatus::kAcknowledged, ""));
    }
  }
  for (const Command& c : commands) {
    if (c.type == "stop") stop_.store(true, std::memory_order_release);
    if (c.type == "pause") pause_.store(true, std::memory_order_release);
    if (c.type == "resume") pause_.store(false, std::memory_order_release);
    if (cb) cb(c);
  }
}

void RunCore::Ack(const std::string& command_id, CommandStatus status, std::string_view message) {
  if (mode_ != Mode::kOnline) return;
  std::lock_guard lock(out_mu_);
  acks_.emplace_back(command_id, AckBody(status, message));
  out_cv_.notify_all();
}

void RunCore::SendControl() {
  std::vector<std::pair<std::string, std::string>> acks;
  std::optional<std::string> config, summary;
  {
    std::lock_guard lock(out_mu_);
    acks.swap(acks_);
    config.swap(config_patch_);
    summary.swap(summary_patch_);
  }
  std::vector<std::pair<std::string, std::string>> retry;
  Status error;
  int retry_after = 0;
  for (auto& [cid, body] : acks) {
    auto r = Post(fmt::format("/api/v1/runs/{}/commands/{}/ack", id_, cid), body, nullptr, &error,
                  &retry_after);
    if (r == SendResult::kRetry) retry.emplace_back(std::move(cid), std::move(body));
  }
  auto patch = [&](std::optional<std::string>& obj, const char* key) {
    if (!obj) return;
    std::string body = fmt::format("{{\"{}\":{}}}", key, *obj);
    auto r = Post(fmt::format("PATCH /api/v1/runs/{}", id_), body, nullptr, &error, &retry_after);
    if (r != SendResult::kRetry) obj.reset();
    if (r == SendResult::kRejected) Notice(fmt::format("{} refused: {}", key, error.message()));
  };
  patch(config, "config");
  patch(summary, "summary");
  std::lock_guard lock(out_mu_);
  for (auto& a : retry) acks_.push_back(std::move(a));
  if (config && !config_patch_) config_patch_ = std::move(config);
  if (summary && !summary_patch_) summary_patch_ = std::move(summary);
}

Status RunCore::Spill(EncodedBatch batch) {
  if (!dir_) {
    std::string dir = RunDirPath(opts_.o.spool_dir);
    auto w = RunDirWriter::Open(dir);
    if (!w.ok()) return w.status();
    dir_ = std::move(w).value();
    std::string body;
    {
      std::lock_guard lock(out_mu_);
      body = RunBody();
    }
    VIGIL_RETURN_IF_ERROR(dir_->WriteRunJson(body));
    spool_offset_ = 0;
    {
      std::lock_guard lock(dir_mu_);
      dir_path_ = dir;
    }
    Notice(fmt::format("run {}: server unreachable ({}); spilling to {}", id_, last_error_, dir));
  }
  VIGIL_RETURN_IF_ERROR(dir_->AppendBatch(batch.body));
  spool_line_points_.push_back(batch.points);
  spilled_.fetch_add(batch.points);
  return Status::OK();
}

bool RunCore::ReplaySpoolLine() {
  std::string path = fmt::format("{}/{}", dir_->dir(), kBatchesFile);
  auto reader = BatchFileReader::Open(path, spool_offset_);
  if (!reader.ok()) {
    last_error_ = reader.status().message();
    return false;
  }
  std::string line;
  auto kind = (*reader)->Next(&line);
  if (!kind.ok() || *kind != BatchFileReader::Line::kComplete) {
    // Nothing complete past the offset: everything was replayed.
    spool_offset_ = dir_->batches_bytes();
    return true;
  }
  size_t points = spool_line_points_.empty() ? 0 : spool_line_points_.front();
  std::string answer;
  Status error;
  int retry_after = 0;
  SendResult r = Post(fmt::format("/api/v1/runs/{}/log{}", id_, commands_query_), std::move(line),
                      &answer, &error, &retry_after);
  if (r == SendResult::kRetry) {
    last_error_ = error.message();
    return false;
  }
  if (r == SendResult::kRunMissing) {
    created_ = false;
    return false;
  }
  if (r == SendResult::kOk) {
    auto doc = ParseJson(answer);
    uint64_t acc = 0, dup = 0;
    if (doc.ok()) {
      acc = static_cast<uint64_t>(doc->GetNumber("accepted").value_or(0));
      dup = static_cast<uint64_t>(doc->GetNumber("duplicates").value_or(0));
    }
    delivered_.fetch_add(acc + dup);
    duplicates_.fetch_add(dup);
    HandleAnswer(answer);
  } else {
    rejected_.fetch_add(points);
    last_error_ = error.message();
    Notice(fmt::format("run {}: a spooled batch was refused: {}", id_, error.message()));
  }
  if (!spool_line_points_.empty()) spool_line_points_.pop_front();
  spool_offset_ = (*reader)->offset();
  return true;
}

void RunCore::RemoveSpoolIfDone() {
  if (!dir_ || spool_offset_ < dir_->batches_bytes()) return;
  std::string dir = dir_->dir();
  dir_.reset();
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  spool_offset_ = 0;
  spool_line_points_.clear();
  std::lock_guard lock(dir_mu_);
  dir_path_.clear();
}

bool RunCore::WaitFor(std::chrono::milliseconds d) {
  std::unique_lock lock(out_mu_);
  bool was_closed = closed_;
  return !out_cv_.wait_for(lock, d, [&] { return closed_ != was_closed; });
}

void RunCore::DeliveryLoopOnline() {
  const int64_t spill_after_ns = opts_.o.spill_after.count() * 1'000'000;
  const int64_t heartbeat_ns = opts_.o.heartbeat_interval.count() * 1'000'000;
  int64_t finish_deadline = 0;  // steady ns; set once closed
  last_contact_ns_ = last_beat_ns_ = SteadyNs();

  auto success = [&] {
    if (failing_since_ns_ != 0 && reported_outage_) {
      Notice(fmt::format("run {}: server reachable again", id_));
    }
    failing_since_ns_ = 0;
    reported_outage_ = false;
    backoff_ms_ = 0;
    last_contact_ns_ = SteadyNs();
  };
  auto failure = [&](const Status& s, int retry_after_s) {
    last_error_ = s.message();
    if (failing_since_ns_ == 0) failing_since_ns_ = SteadyNs();
    backoff_ms_ = std::clamp(backoff_ms_ * 2, kMinBackoffMs, kMaxBackoffMs);
    if (retry_after_s > 0) backoff_ms_ = std::min(retry_after_s * 1000, kMaxBackoffMs);
  };
  auto closing = [&] {
    std::lock_guard lock(out_mu_);
    if (closed_ && finish_deadline == 0) {
      finish_deadline = SteadyNs() + opts_.o.finish_timeout.count() * 1'000'000;
    }
    return closed_;
  };
  auto past_deadline = [&] { return finish_deadline != 0 && SteadyNs() >= finish_deadline; };
  // Outage long enough (or finish out of time): the outbox goes to disk.
  auto should_spill = [&] {
    return (failing_since_ns_ != 0 && SteadyNs() - failing_since_ns_ >= spill_after_ns) ||
           past_deadline();
  };
  auto spill_outbox = [&] {
    while (true) {
      EncodedBatch b;
      {
        std::lock_guard lock(out_mu_);
        if (outbox_.empty()) break;
        b = std::move(outbox_.front());
        outbox_.pop_front();
        outbox_bytes_ -= b.body.size();
        outbox_points_ -= b.points;
      }
      out_room_cv_.notify_all();
      size_t points = b.points;
      Status s = Spill(std::move(b));
      if (!s.ok()) {
        rejected_.fetch_add(points);
        Notice(fmt::format("run {}: cannot spill: {}", id_, s.ToString()));
      }
    }
  };
  auto backoff = [&] {
    auto d = std::chrono::milliseconds(backoff_ms_);
    if (finish_deadline != 0) {
      auto left = std::chrono::milliseconds((finish_deadline - SteadyNs()) / 1'000'000);
      d = std::max(std::chrono::milliseconds(0), std::min(d, left));
    }
    WaitFor(d);
  };
  // When the next heartbeat is due: a single process beats only when
  // nothing else reached the server for an interval; a distributed rank
  // beats every interval regardless, since its beat carries its position.
  auto beat_due_ns = [&] {
    return (distributed_ ? last_beat_ns_ : last_contact_ns_) + heartbeat_ns;
  };
  auto heartbeat = [&] {
    std::string answer;
    Status error;
    int retry_after = 0;
    std::string body;
    if (distributed_) {
      body = RankHeartbeatBody(*opts_.o.rank, last_step_.load(std::memory_order_relaxed),
                               opts_.o.node);
    }
    last_beat_ns_ = SteadyNs();
    SendResult r = Post(fmt::format("/api/v1/runs/{}/heartbeat{}", id_, commands_query_),
                        std::move(body), &answer, &error, &retry_after);
    if (r == SendResult::kOk) {
      success();
      HandleAnswer(answer);
    } else if (r == SendResult::kRunMissing) {
      created_ = false;
    } else {
      failure(error, retry_after);
      last_contact_ns_ = SteadyNs();  // next try one interval later
    }
  };

  while (true) {
    const bool closed = closing();
    if (fatal_) {
      // The server refused the run: nothing can be delivered.
      std::unique_lock lock(out_mu_);
      while (!outbox_.empty()) {
        rejected_.fetch_add(outbox_.front().points);
        outbox_bytes_ -= outbox_.front().body.size();
        outbox_points_ -= outbox_.front().points;
        outbox_.pop_front();
      }
      out_room_cv_.notify_all();
      if (closed_) return;
      out_cv_.wait(lock, [&] { return closed_ || !outbox_.empty(); });
      continue;
    }
    if (!created_) {
      if (past_deadline()) break;
      Status s = CreateOnServer(false);
      if (s.code() == StatusCode::kFailedPrecondition) {
        fmt::print(stderr, "vigil: {}\n", s.message());
        last_error_ = s.message();
        fatal_ = true;
        continue;
      }
      if (!s.ok()) {
        failure(s, 0);
        if (should_spill()) spill_outbox();
        backoff();
        continue;
      }
      success();
    }
    SendControl();
    // Replay the spool before anything newer.
    if (dir_ && spool_offset_ < dir_->batches_bytes()) {
      if (past_deadline()) break;
      if (!ReplaySpoolLine()) {
        failure(Status::Unavailable(last_error_), 0);
        spill_outbox();  // keep memory flat while the spool is the queue
        backoff();
        continue;
      }
      success();
      RemoveSpoolIfDone();
      continue;
    }
    RemoveSpoolIfDone();

    // A distributed rank's heartbeat goes out on time even while batches
    // keep the connection busy.
    if (distributed_ && !closed && SteadyNs() >= beat_due_ns()) heartbeat();

    std::optional<EncodedBatch> batch;
    {
      std::unique_lock lock(out_mu_);
      auto next_heartbeat =
          std::chrono::steady_clock::time_point(std::chrono::nanoseconds(beat_due_ns()));
      out_cv_.wait_until(lock, next_heartbeat, [&] {
        return !outbox_.empty() || closed_ || !acks_.empty() || config_patch_ || summary_patch_;
      });
      if (!outbox_.empty()) {
        batch = std::move(outbox_.front());
        outbox_.pop_front();
        outbox_bytes_ -= batch->body.size();
        outbox_points_ -= batch->points;
        in_flight_ = true;
      }
    }
    if (batch) {
      out_room_cv_.notify_all();
      while (true) {
        std::string answer;
        Status error;
        int retry_after = 0;
        SendResult r = Post(fmt::format("/api/v1/runs/{}/log{}", id_, commands_query_), batch->body,
                            &answer, &error, &retry_after);
        if (r == SendResult::kOk) {
          success();
          auto doc = ParseJson(answer);
          uint64_t acc = batch->points, dup = 0;
          if (doc.ok()) {
            acc = static_cast<uint64_t>(doc->GetNumber("accepted").value_or(0));
            dup = static_cast<uint64_t>(doc->GetNumber("duplicates").value_or(0));
          }
          delivered_.fetch_add(acc + dup);
          duplicates_.fetch_add(dup);
          HandleAnswer(answer);
          break;
        }
        if (r == SendResult::kRejected) {
          rejected_.fetch_add(batch->points);
          last_error_ = error.message();
          Notice(fmt::format("run {}: a batch of {} points was refused: {}", id_, batch->points,
                             error.message()));
          break;
        }
        if (r == SendResult::kRunMissing) {
          // The server lost the run (or it was created while unreachable):
          // create it again, then resend.
          if (CreateOnServer(false).ok()) continue;
          error = Status::Unavailable(last_error_);
        }
        failure(error, retry_after);
        closing();
        if (should_spill()) {
          size_t points = batch->points;
          Status s = Spill(std::move(*batch));
          if (!s.ok()) {
            rejected_.fetch_add(points);
            Notice(fmt::format("run {}: cannot spill: {}", id_, s.ToString()));
          }
          spill_outbox();
          break;
        }
        backoff();
      }
      {
        std::lock_guard lock(out_mu_);
        in_flight_ = false;
      }
      out_room_cv_.notify_all();
      continue;
    }
    if (closed) {
      std::lock_guard lock(out_mu_);
      if (outbox_.empty() && acks_.empty() && !config_patch_ && !summary_patch_) break;
      continue;
    }
    // Idle: a heartbeat when due (see beat_due_ns).
    if (SteadyNs() >= beat_due_ns()) heartbeat();
  }

  // Finish: everything delivered, or out of time (then to the spool).
  spill_outbox();
  std::string finish_body;
  {
    std::lock_guard lock(out_mu_);
    finish_body = FinishBody(final_state_);
  }
  bool spooled = dir_ && spool_offset_ < dir_->batches_bytes();
  if (!spooled && created_ && !fatal_) {
    while (true) {
      Status error;
      int retry_after = 0;
      SendResult r = Post(fmt::format("PATCH /api/v1/runs/{}", id_), finish_body, nullptr, &error,
                          &retry_after);
      if (r != SendResult::kRetry) {
        if (r != SendResult::kOk) Notice(fmt::format("finish refused: {}", error.message()));
        RemoveSpoolIfDone();
        return;
      }
      failure(error, retry_after);
      if (past_deadline()) break;
      backoff();
    }
  }
  if (fatal_) return;
  // Undelivered: leave a complete run directory for `vigil sync`.
  if (!dir_) {
    // Only the finish (or the run itself) is missing: an empty spool.
    std::string dir = RunDirPath(opts_.o.spool_dir);
    auto w = RunDirWriter::Open(dir);
    if (!w.ok()) {
      fmt::print(stderr, "vigil: run {}: cannot write {}: {}\n", id_, dir, w.status().ToString());
      return;
    }
    dir_ = std::move(w).value();
    std::lock_guard lock(dir_mu_);
    dir_path_ = dir;
  }
  std::string body;
  {
    std::lock_guard lock(out_mu_);
    body = RunBody();
  }
  Status s = dir_->WriteRunJson(body);
  if (s.ok()) s = dir_->WriteFinishJson(finish_body);
  if (!s.ok()) fmt::print(stderr, "vigil: run {}: {}\n", id_, s.ToString());
  if (spool_offset_ == 0 && spool_line_points_.empty() && dir_->batches_bytes() == 0) {
    fmt::print(stderr,
               "vigil: run {}: the server did not get the final state; upload it with: vigil "
               "sync {}\n",
               id_, dir_->dir());
  }
}

}  // namespace vigil::client
