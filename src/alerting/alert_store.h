// AlertStore: alerts, the per-run command queue and the webhook delivery
// record, in alerts.sqlite in the data directory (schema:
// alert_store_format.h). WAL mode, synchronous=NORMAL: every mutating call
// has committed when it returns and survives a crash of the process.
//
// The store keeps the two invariants the API promises:
//   1. at most one firing alert per (run, rule, series) (a unique partial
//      index; OpenAlert answers AlreadyExists otherwise);
//   2. a command leaves `queued` once, inside the transaction that hands it
//      out (TakeQueuedCommands), so it is delivered once even when two
//      answers for the same run race.
//
// Thread-safety: every method may be called from any thread; calls are
// serialised on one connection by an internal mutex.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "alerting/command_state.h"
#include "core/result.h"

namespace vigil::storage::sqlite {
class Conn;
}

namespace vigil::alerting {

struct AlertRecord {
  int64_t id = 0;  // assigned by OpenAlert
  std::string run;
  std::string project;
  std::string rule;
  std::string kind;
  std::string metric;
  std::string labels_json = "{}";
  std::string series;  // the series' display name; "" for run-level alerts
  int64_t step = 0;
  int64_t time_ms = 0;
  double value = 0;
  double score = 0;
  std::string severity = "warning";
  std::string state = "firing";  // "firing" | "resolved"
  std::string message;
  int64_t count = 1;
  int64_t last_step = 0;
  int64_t last_time_ms = 0;
  int64_t resolved_step = 0;
  int64_t resolved_ms = 0;
  int64_t created_ms = 0;
};

struct AlertQuery {
  std::string run;      // empty: any
  std::string state;    // empty: any; else "firing" or "resolved"
  std::string project;  // empty: any
  int64_t limit = 100;  // 1..10000, newest first
};

struct CommandRecord {
  int64_t seq = 0;  // the id; the API shows it as a string
  std::string run;
  std::string type;
  std::string args_json = "{}";
  CommandState state = CommandState::kQueued;
  std::string source = "api";
  int64_t alert_id = 0;
  std::string message;
  int64_t created_ms = 0;
  int64_t delivered_ms = 0;
  int64_t acked_ms = 0;
  int64_t finished_ms = 0;
};

struct DeliveryRecord {
  int64_t id = 0;
  int64_t alert_id = 0;
  std::string event;  // "firing" | "resolved"
  std::string webhook;
  std::string url;
  int64_t attempt = 1;
  int64_t http_status = 0;
  bool ok = false;
  std::string error;
  int64_t time_ms = 0;
  bool final = false;
};

class AlertStore {
 public:
  // Opens (creating, migrating) the store at `path`.
  static Result<std::unique_ptr<AlertStore>> Open(const std::string& path);
  ~AlertStore();
  AlertStore(const AlertStore&) = delete;
  AlertStore& operator=(const AlertStore&) = delete;

  // --- alerts (alert_store.cc) ---
  // Inserts a firing alert and returns its id. AlreadyExists when a firing
  // alert of the same (run, rule, series) exists.
  Result<int64_t> OpenAlert(const AlertRecord& alert);
  // The id of the firing alert of (run, rule, series), if there is one (to
  // adopt it after a restart instead of opening a duplicate).
  Result<std::optional<int64_t>> FindFiring(const std::string& run, const std::string& rule,
                                            const std::string& series);
  // Folds one more finding into a firing alert (count, last step/time).
  Status BumpAlert(int64_t id, int64_t step, int64_t time_ms);
  // firing -> resolved. NotFound if there is no such firing alert.
  Status ResolveAlert(int64_t id, int64_t step, int64_t time_ms);
  Result<AlertRecord> GetAlert(int64_t id);
  Result<std::vector<AlertRecord>> ListAlerts(const AlertQuery& query);
  Result<int64_t> CountFiring();

  // --- commands (alert_store_commands.cc) ---
  // Appends a queued command; fills seq and state.
  Result<CommandRecord> QueueCommand(CommandRecord command);
  // The run's commands, oldest first (at most `limit`, 1..10000).
  Result<std::vector<CommandRecord>> ListCommands(const std::string& run, int64_t limit);
  Result<CommandRecord> GetCommand(const std::string& run, int64_t seq);
  // Marks every queued command of `run` delivered at now_ms and returns
  // them, oldest first (invariant 2).
  Result<std::vector<CommandRecord>> TakeQueuedCommands(const std::string& run, int64_t now_ms);
  // Applies an SDK ack (see command_state.h); returns the command after
  // and whether its state changed. NotFound for an unknown (run, seq).
  Result<std::pair<CommandRecord, bool>> AckCommand(const std::string& run, int64_t seq,
                                                    CommandState to, const std::string& message,
                                                    int64_t now_ms);
  // Runs with at least one queued command (to seed an in-memory index).
  Result<std::vector<std::string>> RunsWithQueuedCommands();

  // --- deliveries (alert_store_commands.cc) ---
  Status RecordDelivery(const DeliveryRecord& delivery);
  // Of one alert (alert_id > 0) or all, oldest first, at most `limit`.
  Result<std::vector<DeliveryRecord>> ListDeliveries(int64_t alert_id, int64_t limit);

 private:
  explicit AlertStore(std::unique_ptr<storage::sqlite::Conn> conn);

  std::mutex mu_;
  std::unique_ptr<storage::sqlite::Conn> conn_;  // GUARDED_BY(mu_)
};

}  // namespace vigil::alerting
