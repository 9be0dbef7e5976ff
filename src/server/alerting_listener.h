// AlertingListener: hands every stored batch to the alerting layer's
// detection pipeline (alerting::AlertingService::OnPoints, which only
// copies and queues), so detection never slows the storage engine's commit
// thread. Registered in ApiContext::ingest_listeners by ServerApp.
//
// Thread-safety: as IngestListener (called on the commit thread).
#pragma once

#include "alerting/alerting_service.h"
#include "server/ingest_listener.h"

namespace vigil::server {

class AlertingListener final : public IngestListener {
 public:
  explicit AlertingListener(alerting::AlertingService* service) : service_(service) {}
  void OnBatchCommitted(const RunBrief& run, const WriteBatch& batch) override {
    for (const SeriesColumns& s : batch.series) {
      service_->OnPoints(run.id, run.project, s.key.metric, s.key.labels, s.steps, s.times,
                         s.values);
    }
  }

 private:
  alerting::AlertingService* service_;
};

}  // namespace vigil::server
