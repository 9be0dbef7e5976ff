// IngestListener: something that wants to see every batch once it is
// stored — the live stream (SSE) of the dashboard and the streaming
// detectors. The log endpoint calls every registered listener after the
// engine acknowledged the batch.
//
// Thread-safety: OnBatchCommitted runs on the storage engine's commit
// thread, so it must be quick and must never block on I/O: a listener that
// needs more work queues it for its own thread. Points re-sent by a retrying
// client may reach a listener twice (the engine drops them as duplicates,
// the listener sees the batch as sent); listeners that keep per-series state
// ignore steps they have already seen.
#pragma once

#include "core/types.h"
#include "server/run_registry.h"

namespace vigil::server {

class IngestListener {
 public:
  virtual ~IngestListener() = default;
  virtual void OnBatchCommitted(const RunBrief& run, const WriteBatch& batch) = 0;
};

}  // namespace vigil::server
