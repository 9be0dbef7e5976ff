#include "server/run_registry.h"

#include <fmt/format.h>

namespace vigil::server {

Result<RunBrief> RunRegistry::Get(const std::string& id) {
  {
    std::lock_guard lock(mu_);
    auto it = cache_.find(id);
    if (it != cache_.end()) return it->second;
  }
  VIGIL_ASSIGN_OR_RETURN(storage::RunRecord run, metadata_->GetRun(id));
  RunBrief brief{run.id, run.project, run.state, run.world_size};
  std::lock_guard lock(mu_);
  // Bounded: a busy server sees at most a few thousand live runs; when the
  // cache grows past that, start over rather than track recency.
  if (cache_.size() >= 100'000) cache_.clear();
  cache_[id] = brief;
  return brief;
}

void RunRegistry::Invalidate(const std::string& id) {
  std::lock_guard lock(mu_);
  cache_.erase(id);
}

void RunRegistry::Touch(const std::string& id, int64_t now_ms) {
  std::lock_guard lock(mu_);
  int64_t& t = heartbeats_[id];
  if (now_ms > t) t = now_ms;
}

Status RunRegistry::FlushHeartbeats() {
  std::vector<std::pair<std::string, int64_t>> beats;
  {
    std::lock_guard lock(mu_);
    beats.assign(heartbeats_.begin(), heartbeats_.end());
    heartbeats_.clear();
  }
  if (beats.empty()) return Status::OK();
  return metadata_->SetHeartbeats(beats);
}

Result<std::vector<std::string>> RunRegistry::MarkCrashed(int64_t now_ms, int64_t timeout_ms) {
  VIGIL_RETURN_IF_ERROR(FlushHeartbeats());
  VIGIL_ASSIGN_OR_RETURN(auto stale, metadata_->StaleRunningRuns(now_ms - timeout_ms));
  std::vector<std::string> crashed;
  for (const std::string& id : stale) {
    storage::RunPatch patch;
    patch.state = "crashed";
    patch.finished_ms = now_ms;
    patch.message = fmt::format("no heartbeat for more than {} s", timeout_ms / 1000);
    auto updated = metadata_->UpdateRun(id, patch, now_ms);
    if (!updated.ok()) continue;  // deleted meanwhile
    storage::EventRecord ev;
    ev.run = id;
    ev.time_ms = now_ms;
    ev.kind = "state";
    ev.message = fmt::format("crashed: {}", *patch.message);
    ev.data_json = R"({"state":"crashed","previous":"running"})";
    (void)metadata_->AppendEvent(ev);
    Invalidate(id);
    crashed.push_back(id);
  }
  return crashed;
}

}  // namespace vigil::server
