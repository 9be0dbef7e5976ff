// RunRegistry: what the hot endpoints need to know about a run (its project
// for authorisation, its state) without a SQLite query per log batch, plus
// the runs' heartbeats, which arrive with every log batch and are written to
// SQLite in batches. Also marks `crashed` the running runs whose heartbeats
// stopped for longer than the timeout.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/result.h"
#include "storage/metadata/metadata_store.h"

namespace vigil::server {

struct RunBrief {
  std::string id;
  std::string project;
  std::string state;
  int64_t world_size = 0;
};

class RunRegistry {
 public:
  explicit RunRegistry(storage::MetadataStore* metadata) : metadata_(metadata) {}

  // NotFound("run X does not exist") if there is no such run.
  Result<RunBrief> Get(const std::string& id);
  // Call after any change to a run's project or state, or its deletion.
  void Invalidate(const std::string& id);

  // Records a sign of life (a log batch or heartbeat) at now_ms.
  void Touch(const std::string& id, int64_t now_ms);
  // Writes the heartbeats recorded since the last call to SQLite.
  Status FlushHeartbeats();
  // Marks crashed every running run whose last heartbeat is older than
  // now_ms - timeout_ms, with a state event; returns their ids.
  Result<std::vector<std::string>> MarkCrashed(int64_t now_ms, int64_t timeout_ms);

 private:
  storage::MetadataStore* metadata_;
  std::mutex mu_;
  std::unordered_map<std::string, RunBrief> cache_;      // GUARDED_BY(mu_)
  std::unordered_map<std::string, int64_t> heartbeats_;  // GUARDED_BY(mu_), unflushed
};

}  // namespace vigil::server
