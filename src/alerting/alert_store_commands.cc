// AlertStore: the command queue and the webhook delivery record.
#include <optional>

#include <fmt/format.h>

#include "alerting/alert_store.h"
#include "storage/metadata/sqlite_conn.h"

namespace vigil::alerting {
namespace {

namespace sqlite = storage::sqlite;

constexpr int64_t kMaxListLimit = 10000;

constexpr std::string_view kCommandColumns =
    "seq, run, type, args_json, state, source, alert_id, message, created_ms, delivered_ms, "
    "acked_ms, finished_ms";

Status ReadCommandRow(const sqlite::Stmt& s, CommandRecord* c) {
  c->seq = s.Int(0);
  c->run = s.Text(1);
  c->type = s.Text(2);
  c->args_json = s.Text(3);
  std::string state = s.Text(4);
  auto parsed = ParseCommandState(state);
  if (!parsed) {
    return Status::Corruption(fmt::format("command {}: unknown state \"{}\"", c->seq, state));
  }
  c->state = *parsed;
  c->source = s.Text(5);
  c->alert_id = s.Int(6);
  c->message = s.Text(7);
  c->created_ms = s.Int(8);
  c->delivered_ms = s.Int(9);
  c->acked_ms = s.Int(10);
  c->finished_ms = s.Int(11);
  return Status::OK();
}

// Binds ?1 = run and, unless nullopt, ?2 = arg, and reads every row.
Result<std::vector<CommandRecord>> SelectCommands(sqlite::Conn* conn, const std::string& sql,
                                                  const std::string& run,
                                                  std::optional<int64_t> arg) {
  VIGIL_ASSIGN_OR_RETURN(auto stmt, conn->Prepare(sql));
  stmt.Bind(1, run);
  if (arg) stmt.Bind(2, *arg);
  std::vector<CommandRecord> out;
  for (;;) {
    VIGIL_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) break;
    VIGIL_RETURN_IF_ERROR(ReadCommandRow(stmt, &out.emplace_back()));
  }
  return out;
}

}  // namespace

Result<CommandRecord> AlertStore::QueueCommand(CommandRecord c) {
  if (!IsValidCommandType(c.type)) {
    return Status::InvalidArgument(fmt::format("unknown command type \"{}\"", c.type));
  }
  std::lock_guard lock(mu_);
  VIGIL_ASSIGN_OR_RETURN(
      auto stmt, conn_->Prepare("INSERT INTO commands (run, type, args_json, state, source, "
                                "alert_id, created_ms) VALUES (?1, ?2, ?3, 'queued', ?4, ?5, ?6)"));
  stmt.Bind(1, c.run);
  stmt.Bind(2, c.type);
  stmt.Bind(3, c.args_json);
  stmt.Bind(4, c.source);
  stmt.Bind(5, c.alert_id);
  stmt.Bind(6, c.created_ms);
  VIGIL_RETURN_IF_ERROR(stmt.Run());
  c.seq = conn_->LastInsertRowid();
  c.state = CommandState::kQueued;
  return c;
}

Result<std::vector<CommandRecord>> AlertStore::ListCommands(const std::string& run, int64_t limit) {
  if (limit < 1 || limit > kMaxListLimit) {
    return Status::InvalidArgument(
        fmt::format("limit must be between 1 and {}, got {}", kMaxListLimit, limit));
  }
  std::lock_guard lock(mu_);
  return SelectCommands(
      conn_.get(),
      fmt::format("SELECT {} FROM commands WHERE run = ?1 ORDER BY seq LIMIT ?2", kCommandColumns),
      run, limit);
}

Result<CommandRecord> AlertStore::GetCommand(const std::string& run, int64_t seq) {
  std::lock_guard lock(mu_);
  VIGIL_ASSIGN_OR_RETURN(
      auto rows, SelectCommands(conn_.get(),
                                fmt::format("SELECT {} FROM commands WHERE run = ?1 AND seq = ?2",
                                            kCommandColumns),
                                run, seq));
  if (rows.empty()) {
    return Status::NotFound(fmt::format("command {} of run {} does not exist", seq, run));
  }
  return std::move(rows.front());
}

Result<std::vector<CommandRecord>> AlertStore::TakeQueuedCommands(const std::string& run,
                                                                  int64_t now_ms) {
  std::lock_guard lock(mu_);
  VIGIL_ASSIGN_OR_RETURN(auto tx, sqlite::Transaction::Begin(conn_.get(), /*immediate=*/true));
  VIGIL_ASSIGN_OR_RETURN(auto rows,
                         SelectCommands(conn_.get(),
                                        fmt::format("SELECT {} FROM commands WHERE run = ?1 AND "
                                                    "state = 'queued' ORDER BY seq",
                                                    kCommandColumns),
                                        run, std::nullopt));
  if (rows.empty()) return rows;  // the transaction rolls back: nothing changed
  {
    VIGIL_ASSIGN_OR_RETURN(auto stmt,
                           conn_->Prepare("UPDATE commands SET state = 'delivered', "
                                          "delivered_ms = ?2 WHERE run = ?1 AND state = 'queued'"));
    stmt.Bind(1, run);
    stmt.Bind(2, now_ms);
    VIGIL_RETURN_IF_ERROR(stmt.Run());
  }
  VIGIL_RETURN_IF_ERROR(tx.Commit());
  for (CommandRecord& c : rows) {
    c.state = CommandState::kDelivered;
    c.delivered_ms = now_ms;
  }
  return rows;
}

Result<std::pair<CommandRecord, bool>> AlertStore::AckCommand(const std::string& run, int64_t seq,
                                                              CommandState to,
                                                              const std::string& message,
                                                              int64_t now_ms) {
  std::lock_guard lock(mu_);
  VIGIL_ASSIGN_OR_RETURN(auto tx, sqlite::Transaction::Begin(conn_.get(), /*immediate=*/true));
  VIGIL_ASSIGN_OR_RETURN(
      auto rows, SelectCommands(conn_.get(),
                                fmt::format("SELECT {} FROM commands WHERE run = ?1 AND seq = ?2",
                                            kCommandColumns),
                                run, seq));
  if (rows.empty()) {
    return Status::NotFound(fmt::format("command {} of run {} does not exist", seq, run));
  }
  CommandRecord c = std::move(rows.front());
  VIGIL_RETURN_IF_ERROR(CheckAckTransition(c.state, to));
  if (c.state == to) return std::make_pair(std::move(c), false);
  c.state = to;
  c.message = message;
  if (to == CommandState::kAcknowledged || c.acked_ms == 0) c.acked_ms = now_ms;
  if (IsFinalCommandState(to)) c.finished_ms = now_ms;
  {
    VIGIL_ASSIGN_OR_RETURN(auto stmt,
                           conn_->Prepare("UPDATE commands SET state = ?2, message = ?3, "
                                          "acked_ms = ?4, finished_ms = ?5 WHERE seq = "
                                          "?1"));
    stmt.Bind(1, seq);
    stmt.Bind(2, CommandStateName(to));
    stmt.Bind(3, message);
    stmt.Bind(4, c.acked_ms);
    stmt.Bind(5, c.finished_ms);
    VIGIL_RETURN_IF_ERROR(stmt.Run());
  }
  VIGIL_RETURN_IF_ERROR(tx.Commit());
  return std::make_pair(std::move(c), true);
}

Result<std::vector<std::string>> AlertStore::RunsWithQueuedCommands() {
  std::lock_guard lock(mu_);
  VIGIL_ASSIGN_OR_RETURN(
      auto stmt, conn_->Prepare("SELECT DISTINCT run FROM commands WHERE state = 'queued'"));
  std::vector<std::string> out;
  for (;;) {
    VIGIL_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) break;
    out.push_back(stmt.Text(0));
  }
  return out;
}

Status AlertStore::RecordDelivery(const DeliveryRecord& d) {
  std::lock_guard lock(mu_);
  VIGIL_ASSIGN_OR_RETURN(
      auto stmt,
      conn_->Prepare("INSERT INTO deliveries (alert_id, event, webhook, url, attempt, "
                     "http_status, ok, error, time_ms, final) VALUES (?1, ?2, ?3, ?4, ?5, ?6, "
                     "?7, ?8, ?9, ?10)"));
  stmt.Bind(1, d.alert_id);
  stmt.Bind(2, d.event);
  stmt.Bind(3, d.webhook);
  stmt.Bind(4, d.url);
  stmt.Bind(5, d.attempt);
  stmt.Bind(6, d.http_status);
  stmt.Bind(7, int64_t{d.ok ? 1 : 0});
  stmt.Bind(8, d.error);
  stmt.Bind(9, d.time_ms);
  stmt.Bind(10, int64_t{d.final ? 1 : 0});
  return stmt.Run();
}

Result<std::vector<DeliveryRecord>> AlertStore::ListDeliveries(int64_t alert_id, int64_t limit) {
  if (limit < 1 || limit > kMaxListLimit) {
    return Status::InvalidArgument(
        fmt::format("limit must be between 1 and {}, got {}", kMaxListLimit, limit));
  }
  std::lock_guard lock(mu_);
  VIGIL_ASSIGN_OR_RETURN(
      auto stmt,
      conn_->Prepare("SELECT id, alert_id, event, webhook, url, attempt, http_status, ok, error, "
                     "time_ms, final FROM deliveries WHERE (?1 = 0 OR alert_id = ?1) "
                     "ORDER BY id LIMIT ?2"));
  stmt.Bind(1, alert_id);
  stmt.Bind(2, limit);
  std::vector<DeliveryRecord> out;
  for (;;) {
    VIGIL_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) break;
    DeliveryRecord& d = out.emplace_back();
    d.id = stmt.Int(0);
    d.alert_id = stmt.Int(1);
    d.event = stmt.Text(2);
    d.webhook = stmt.Text(3);
    d.url = stmt.Text(4);
    d.attempt = stmt.Int(5);
    d.http_status = stmt.Int(6);
    d.ok = stmt.Int(7) != 0;
    d.error = stmt.Text(8);
    d.time_ms = stmt.Int(9);
    d.final = stmt.Int(10) != 0;
  }
  return out;
}

}  // namespace vigil::alerting
