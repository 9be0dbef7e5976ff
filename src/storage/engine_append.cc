// Engine: the write path — queueing, group commit, duplicate dropping, and
// the fsync policies.
#include <algorithm>
#include <bit>
#include <future>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>

#include "storage/engine.h"
#include "storage/engine_internal.h"
#include "storage/record/wal_record.h"
#include "storage/wal/wal.h"

namespace vigil::storage {

// The writes of one group commit between their WAL appends and their
// application to the head.
struct Engine::GroupState {
  struct Prepared {
    PendingWrite* write;
    Status error;                       // set: the write failed, stores nothing
    std::vector<uint64_t> ids;          // per batch.series (kAppend)
    std::vector<NewSeries> new_series;  // created by this write
    uint64_t delete_max_id = 0;         // kDeleteRun
    AppendResult result;
    uint64_t queued_points = 0;
  };
  std::vector<Prepared> writes;
  // Series created or appended to by this group, with the largest step the
  // group gives each: a later write of the group that does not go past it
  // needs the earlier ones applied first (see PrepareAppend).
  std::unordered_map<std::string, uint64_t> new_ids;
  std::unordered_map<uint64_t, int64_t> max_step;
  bool wrote = false;
};

void Engine::Append(WriteBatch batch, AppendCallback done) {
  const size_t n = batch.PointCount();
  Status refuse;
  {
    std::lock_guard lock(queue_mu_);
    if (closing_) {
      refuse = Status::Unavailable("the storage engine is shutting down");
    } else if (!failed_.ok()) {
      refuse = Status::Unavailable("the storage engine stopped accepting writes after a failure: " +
                                   failed_.message());
    } else if (pending_points_ > 0 && pending_points_ + n > options_.max_pending_points) {
      refuse = Status::Unavailable(
          fmt::format("ingest queue is full ({} points waiting to be committed); retry shortly",
                      pending_points_));
    } else {
      pending_points_ += n;
      PendingWrite w;
      w.kind = PendingWrite::Kind::kAppend;
      w.batch = std::move(batch);
      w.done = std::move(done);
      queue_.push_back(std::move(w));
    }
  }
  if (!refuse.ok()) {
    done(refuse);
    return;
  }
  queue_cv_.notify_one();
}

Result<AppendResult> Engine::AppendSync(WriteBatch batch) {
  std::promise<Result<AppendResult>> p;
  auto f = p.get_future();
  Append(std::move(batch), [&p](Result<AppendResult> r) { p.set_value(std::move(r)); });
  return f.get();
}

Status Engine::DeleteRun(const std::string& run) {
  std::promise<Status> p;
  auto f = p.get_future();
  {
    std::lock_guard lock(queue_mu_);
    if (closing_) return Status::Unavailable("the storage engine is shutting down");
    if (!failed_.ok())
      return Status::Unavailable("the storage engine is read-only after a failure");
    PendingWrite w;
    w.kind = PendingWrite::Kind::kDeleteRun;
    w.batch.run = run;
    w.done_status = [&p](Status s) { p.set_value(std::move(s)); };
    queue_.push_back(std::move(w));
  }
  queue_cv_.notify_one();
  return f.get();
}

void Engine::RunOnCommitThread(std::function<void()> task) {
  {
    std::lock_guard lock(queue_mu_);
    PendingWrite w;
    w.kind = PendingWrite::Kind::kTask;
    w.task = std::move(task);
    queue_.push_back(std::move(w));
  }
  queue_cv_.notify_one();
}

void Engine::CommitLoop() {
  for (;;) {
    std::vector<PendingWrite> group;
    {
      std::unique_lock lock(queue_mu_);
      queue_cv_.wait_for(lock,
                         std::min<std::chrono::milliseconds>(std::chrono::milliseconds(100),
                                                             options_.fsync_interval),
                         [&] { return !queue_.empty() || closing_ || flush_requested_; });
      if (queue_.empty() && closing_) break;
      group.reserve(queue_.size());
      while (!queue_.empty()) {
        group.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    if (!group.empty()) CommitGroup(group);
    MaybeIntervalSync(/*force=*/false);
    MaybeScheduleFlush();
  }
}

bool Engine::PrepareAppend(PendingWrite& w, GroupState& g, std::string* record, Status* error) {
  WriteBatch& batch = w.batch;
  GroupState::Prepared p;
  p.write = &w;
  p.queued_points = batch.PointCount();

  // Resolve ids first without side effects, to see whether this write must
  // wait for the earlier writes of the group to be applied.
  std::vector<std::optional<uint64_t>> existing(batch.series.size());
  std::vector<std::string> canon(batch.series.size());
  for (size_t i = 0; i < batch.series.size(); ++i) {
    canon[i] = batch.series[i].key.Canonical();
    if (auto it = g.new_ids.find(canon[i]); it != g.new_ids.end()) {
      existing[i] = it->second;
    } else {
      existing[i] = catalog_.Find(canon[i]);
    }
    if (existing[i]) {
      auto m = g.max_step.find(*existing[i]);
      if (m != g.max_step.end()) {
        int64_t lo = *std::min_element(batch.series[i].steps.begin(), batch.series[i].steps.end());
        if (lo <= m->second) return false;  // may repeat points not yet applied
      }
    }
  }

  uint64_t dropped = 0;
  std::vector<SeriesColumns> kept;
  kept.reserve(batch.series.size());
  for (size_t i = 0; i < batch.series.size(); ++i) {
    SeriesColumns& cols = batch.series[i];
    DropDuplicates(existing[i], &cols, &dropped);
    if (cols.size() == 0) continue;
    uint64_t id;
    if (existing[i]) {
      id = *existing[i];
    } else {
      id = next_series_id_++;
      g.new_ids.emplace(canon[i], id);
      p.new_series.push_back({id, cols.key});
    }
    int64_t hi = *std::max_element(cols.steps.begin(), cols.steps.end());
    auto [it, fresh] = g.max_step.emplace(id, hi);
    if (!fresh) it->second = std::max(it->second, hi);
    p.ids.push_back(id);
    p.result.accepted += cols.size();
    kept.push_back(std::move(cols));
  }
  batch.series = std::move(kept);
  p.result.duplicates = dropped;
  p.result.new_series = p.new_series.size();
  record->clear();
  if (!batch.series.empty()) {
    EncodeBatchRecord(p.new_series, batch, p.ids, record);
    *error = wal_->Append(*record);
    if (error->ok()) g.wrote = true;
  }
  g.writes.push_back(std::move(p));
  return true;
}

void Engine::DropDuplicates(std::optional<uint64_t> id, SeriesColumns* cols,
                            uint64_t* dropped) const {
  const size_t n = cols->size();
  // Fast path, by far the common case: steps strictly increase and go past
  // every step the series holds, so nothing can repeat a stored point.
  bool increasing = true;
  for (size_t i = 1; i < n && increasing; ++i) increasing = cols->steps[i] > cols->steps[i - 1];
  int64_t lo = *std::min_element(cols->steps.begin(), cols->steps.end());
  int64_t hi = *std::max_element(cols->steps.begin(), cols->steps.end());
  std::optional<SeriesInfo> info;
  if (id) info = catalog_.Get(*id);
  bool past_stored = !info || info->stats.count == 0 || lo > info->stats.max_step_seen;
  if (increasing && past_stored) return;

  struct Key {
    int64_t step, time;
    uint64_t bits;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    size_t operator()(const Key& k) const {
      return std::hash<uint64_t>()(static_cast<uint64_t>(k.step) * 0x9e3779b97f4a7c15ull ^
                                   static_cast<uint64_t>(k.time) ^ (k.bits << 1));
    }
  };
  std::unordered_set<Key, KeyHash> seen;
  if (!past_stored) {
    SeriesColumns stored;
    ReadRange range{Axis::kStep, lo, hi};
    // A read failure here (a corrupt block) must not block ingest: the
    // batch is then stored as given, at worst repeating points.
    if (ReadSeries(*id, range, &stored).ok()) {
      for (size_t i = 0; i < stored.size(); ++i) {
        seen.insert({stored.steps[i], stored.times[i], std::bit_cast<uint64_t>(stored.values[i])});
      }
    }
  }
  size_t out = 0;
  for (size_t i = 0; i < n; ++i) {
    Key k{cols->steps[i], cols->times[i], std::bit_cast<uint64_t>(cols->values[i])};
    if (!seen.insert(k).second) {
      ++*dropped;
      continue;
    }
    cols->steps[out] = cols->steps[i];
    cols->times[out] = cols->times[i];
    cols->values[out] = cols->values[i];
    ++out;
  }
  cols->steps.resize(out);
  cols->times.resize(out);
  cols->values.resize(out);
}

void Engine::CommitGroup(std::vector<PendingWrite>& group) {
  GroupState g;
  std::string record;
  for (size_t i = 0; i < group.size(); ++i) {
    PendingWrite& w = group[i];
    switch (w.kind) {
      case PendingWrite::Kind::kAppend: {
        Status error;
        if (!PrepareAppend(w, g, &record, &error)) {
          FinishGroup(g);
          g = GroupState{};
          --i;  // retry this write in a fresh group
          continue;
        }
        if (!error.ok()) g.writes.back().error = error;
        break;
      }
      case PendingWrite::Kind::kDeleteRun: {
        GroupState::Prepared p;
        p.write = &w;
        record.clear();
        p.delete_max_id = next_series_id_ - 1;
        EncodeDeleteRunRecord({w.batch.run, p.delete_max_id}, &record);
        p.error = wal_->Append(record);
        if (p.error.ok()) g.wrote = true;
        g.writes.push_back(std::move(p));
        // Later writes of the run must not be mistaken for its old series.
        FinishGroup(g);
        g = GroupState{};
        break;
      }
      case PendingWrite::Kind::kTask: {
        FinishGroup(g);
        g = GroupState{};
        w.task();
        break;
      }
    }
  }
  FinishGroup(g);
}

void Engine::FinishGroup(GroupState& g) {
  if (g.writes.empty()) return;
  Status durable;
  if (g.wrote) {
    durable = wal_->Flush();
    if (durable.ok() && options_.fsync == FsyncPolicy::kBatch) durable = wal_->Sync();
    if (durable.ok() && options_.fsync == FsyncPolicy::kInterval) unsynced_ = true;
    if (!durable.ok()) {
      // After a failed write or fsync the log's state on disk is unknown
      // (and a retried fsync can report success for lost pages): stop
      // accepting writes rather than acknowledge what may not be stored.
      std::lock_guard lock(queue_mu_);
      failed_ = durable;
    }
  }
  auto version = CurrentVersion();
  uint64_t appended = 0, batches = 0, dups = 0, queued = 0;
  for (GroupState::Prepared& p : g.writes) {
    queued += p.queued_points;
    if (p.error.ok() && !durable.ok()) p.error = durable;
    PendingWrite& w = *p.write;
    if (!p.error.ok()) continue;
    if (w.kind == PendingWrite::Kind::kAppend) {
      for (NewSeries& ns : p.new_series) catalog_.Insert(ns.id, std::move(ns.key), SeriesStats{});
      for (size_t i = 0; i < w.batch.series.size(); ++i) {
        const SeriesColumns& c = w.batch.series[i];
        version->head->Append(p.ids[i], c.steps, c.times, c.values);
        catalog_.AppendStats(p.ids[i], c.steps, c.times, c.values);
      }
      appended += p.result.accepted;
      dups += p.result.duplicates;
      ++batches;
    } else if (w.kind == PendingWrite::Kind::kDeleteRun) {
      uint64_t max_id = p.delete_max_id;
      auto removed = catalog_.RemoveRun(w.batch.run, max_id);
      version->head->DropSeries(removed);
      std::lock_guard lock(manifest_mu_);
      manifest_.tombstones.push_back({w.batch.run, max_id});
    }
  }
  {
    std::lock_guard lock(stats_mu_);
    counters_.points_appended += appended;
    counters_.batches_committed += batches;
    counters_.duplicates_dropped += dups;
    if (g.wrote) ++counters_.group_commits;
    if (g.wrote && durable.ok() && options_.fsync == FsyncPolicy::kBatch) ++counters_.fsyncs;
  }
  {
    std::lock_guard lock(queue_mu_);
    pending_points_ -= std::min(pending_points_, static_cast<size_t>(queued));
  }
  for (GroupState::Prepared& p : g.writes) {
    PendingWrite& w = *p.write;
    if (w.kind == PendingWrite::Kind::kAppend) {
      if (p.error.ok()) {
        w.done(p.result);
      } else {
        w.done(p.error);
      }
    } else if (w.done_status) {
      w.done_status(p.error);
    }
  }
  g.writes.clear();
}

void Engine::MaybeIntervalSync(bool force) {
  if (options_.fsync != FsyncPolicy::kInterval || !unsynced_) return;
  int64_t now = options_.clock->MonotonicNanos();
  if (!force && now - last_sync_ns_ < options_.fsync_interval.count() * 1'000'000) return;
  Status s = wal_->Sync();
  last_sync_ns_ = now;
  if (!s.ok()) {
    std::lock_guard lock(queue_mu_);
    failed_ = s;
    return;
  }
  unsynced_ = false;
  std::lock_guard lock(stats_mu_);
  ++counters_.fsyncs;
}

}  // namespace vigil::storage
