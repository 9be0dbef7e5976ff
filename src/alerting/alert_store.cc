// AlertStore: opening (pragmas, schema) and the alerts table.
#include "alerting/alert_store.h"

#include <cmath>
#include <cstdlib>
#include <limits>

#include <fmt/format.h>

#include "alerting/alert_store_format.h"
#include "core/json_writer.h"
#include "storage/metadata/sqlite_conn.h"

namespace vigil::alerting {
namespace {

namespace sqlite = storage::sqlite;

constexpr int kBusyTimeoutMs = 5000;
constexpr int64_t kMaxListLimit = 10000;

// A double as the JSON text the value columns hold.
std::string DoubleJson(double v) {
  std::string s;
  AppendJsonDouble(&s, v);
  return s;
}

// The inverse of DoubleJson; anything unreadable is NaN (the column is
// written only by this file).
double ParseDoubleJson(const std::string& s) {
  if (s == "\"NaN\"") return std::numeric_limits<double>::quiet_NaN();
  if (s == "\"Infinity\"") return std::numeric_limits<double>::infinity();
  if (s == "\"-Infinity\"") return -std::numeric_limits<double>::infinity();
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (end == s.c_str()) return std::numeric_limits<double>::quiet_NaN();
  return v;
}

constexpr std::string_view kAlertColumns =
    "id, run, project, rule, kind, metric, labels_json, series, step, time_ms, value_json, "
    "score_json, severity, state, message, count, last_step, last_time_ms, resolved_step, "
    "resolved_ms, created_ms";

void ReadAlertRow(const sqlite::Stmt& s, AlertRecord* a) {
  a->id = s.Int(0);
  a->run = s.Text(1);
  a->project = s.Text(2);
  a->rule = s.Text(3);
  a->kind = s.Text(4);
  a->metric = s.Text(5);
  a->labels_json = s.Text(6);
  a->series = s.Text(7);
  a->step = s.Int(8);
  a->time_ms = s.Int(9);
  a->value = ParseDoubleJson(s.Text(10));
  a->score = ParseDoubleJson(s.Text(11));
  a->severity = s.Text(12);
  a->state = s.Text(13);
  a->message = s.Text(14);
  a->count = s.Int(15);
  a->last_step = s.Int(16);
  a->last_time_ms = s.Int(17);
  a->resolved_step = s.Int(18);
  a->resolved_ms = s.Int(19);
  a->created_ms = s.Int(20);
}

Status Migrate(sqlite::Conn* conn) {
  auto version = [&]() -> Result<int> {
    VIGIL_ASSIGN_OR_RETURN(sqlite::Stmt stmt, conn->Prepare("PRAGMA user_version"));
    VIGIL_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) return Status::Internal(conn->path() + ": PRAGMA user_version returned no row");
    return static_cast<int>(stmt.Int(0));
  };
  VIGIL_ASSIGN_OR_RETURN(int v, version());
  if (v > kAlertStoreSchemaVersion) {
    return Status::FailedPrecondition(
        fmt::format("{}: schema version {} is newer than this vigil supports ({})", conn->path(), v,
                    kAlertStoreSchemaVersion));
  }
  for (const auto& m : kAlertStoreMigrations) {
    if (m.version <= v) continue;
    VIGIL_ASSIGN_OR_RETURN(auto tx, sqlite::Transaction::Begin(conn, /*immediate=*/true));
    VIGIL_ASSIGN_OR_RETURN(int now, version());
    if (now >= m.version) continue;
    std::string what = fmt::format("migrate alert store to version {}", m.version);
    VIGIL_RETURN_IF_ERROR(conn->ExecScript(m.sql, what));
    VIGIL_RETURN_IF_ERROR(
        conn->ExecScript(fmt::format("PRAGMA user_version = {}", m.version), what));
    VIGIL_RETURN_IF_ERROR(tx.Commit());
  }
  return Status::OK();
}

}  // namespace

AlertStore::AlertStore(std::unique_ptr<sqlite::Conn> conn) : conn_(std::move(conn)) {}
AlertStore::~AlertStore() = default;

Result<std::unique_ptr<AlertStore>> AlertStore::Open(const std::string& path) {
  if (path.empty()) return Status::InvalidArgument("alert store: empty path");
  VIGIL_ASSIGN_OR_RETURN(auto conn, sqlite::Conn::Open(path));
  VIGIL_RETURN_IF_ERROR(conn->ExecScript(fmt::format("PRAGMA busy_timeout = {}", kBusyTimeoutMs),
                                         "set busy timeout"));
  {
    VIGIL_ASSIGN_OR_RETURN(auto stmt, conn->Prepare("PRAGMA journal_mode = WAL"));
    VIGIL_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row || stmt.Text(0) != "wal") {
      return Status::FailedPrecondition(fmt::format("{}: cannot use WAL journal mode", path));
    }
  }
  VIGIL_RETURN_IF_ERROR(conn->ExecScript("PRAGMA synchronous = NORMAL", "set synchronous"));
  VIGIL_RETURN_IF_ERROR(Migrate(conn.get()));
  return std::unique_ptr<AlertStore>(new AlertStore(std::move(conn)));
}

Result<int64_t> AlertStore::OpenAlert(const AlertRecord& a) {
  std::lock_guard lock(mu_);
  VIGIL_ASSIGN_OR_RETURN(
      auto stmt,
      conn_->Prepare("INSERT INTO alerts (run, project, rule, kind, metric, labels_json, series, "
                     "step, time_ms, value_json, score_json, severity, state, message, count, "
                     "last_step, last_time_ms, created_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, "
                     "?8, ?9, ?10, ?11, ?12, 'firing', ?13, 1, ?8, ?9, ?14)"));
  stmt.Bind(1, a.run);
  stmt.Bind(2, a.project);
  stmt.Bind(3, a.rule);
  stmt.Bind(4, a.kind);
  stmt.Bind(5, a.metric);
  stmt.Bind(6, a.labels_json);
  stmt.Bind(7, a.series);
  stmt.Bind(8, a.step);
  stmt.Bind(9, a.time_ms);
  stmt.Bind(10, DoubleJson(a.value));
  stmt.Bind(11, DoubleJson(a.score));
  stmt.Bind(12, a.severity);
  stmt.Bind(13, a.message);
  stmt.Bind(14, a.created_ms);
  Status st = stmt.Run();
  if (!st.ok() && st.code() == StatusCode::kInvalidArgument) {
    return Status::AlreadyExists(fmt::format("a firing alert of rule {} on run {} series {} exists",
                                             a.rule, a.run, a.series));
  }
  VIGIL_RETURN_IF_ERROR(st);
  return conn_->LastInsertRowid();
}

Result<std::optional<int64_t>> AlertStore::FindFiring(const std::string& run,
                                                      const std::string& rule,
                                                      const std::string& series) {
  std::lock_guard lock(mu_);
  VIGIL_ASSIGN_OR_RETURN(auto stmt,
                         conn_->Prepare("SELECT id FROM alerts WHERE run = ?1 AND "
                                        "rule = ?2 AND series = ?3 AND state = 'firing'"));
  stmt.Bind(1, run);
  stmt.Bind(2, rule);
  stmt.Bind(3, series);
  VIGIL_ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return std::optional<int64_t>();
  return std::optional<int64_t>(stmt.Int(0));
}

Status AlertStore::BumpAlert(int64_t id, int64_t step, int64_t time_ms) {
  std::lock_guard lock(mu_);
  VIGIL_ASSIGN_OR_RETURN(auto stmt,
                         conn_->Prepare("UPDATE alerts SET count = count + 1, last_step = ?2, "
                                        "last_time_ms = ?3 WHERE id = ?1 AND state = 'firing'"));
  stmt.Bind(1, id);
  stmt.Bind(2, step);
  stmt.Bind(3, time_ms);
  VIGIL_RETURN_IF_ERROR(stmt.Run());
  if (conn_->Changes() == 0) return Status::NotFound(fmt::format("no firing alert {}", id));
  return Status::OK();
}

Status AlertStore::ResolveAlert(int64_t id, int64_t step, int64_t time_ms) {
  std::lock_guard lock(mu_);
  VIGIL_ASSIGN_OR_RETURN(auto stmt, conn_->Prepare("UPDATE alerts SET state = 'resolved', "
                                                   "resolved_step = ?2, resolved_ms = ?3 "
                                                   "WHERE id = ?1 AND state = 'firing'"));
  stmt.Bind(1, id);
  stmt.Bind(2, step);
  stmt.Bind(3, time_ms);
  VIGIL_RETURN_IF_ERROR(stmt.Run());
  if (conn_->Changes() == 0) return Status::NotFound(fmt::format("no firing alert {}", id));
  return Status::OK();
}

Result<AlertRecord> AlertStore::GetAlert(int64_t id) {
  std::lock_guard lock(mu_);
  VIGIL_ASSIGN_OR_RETURN(
      auto stmt, conn_->Prepare(fmt::format("SELECT {} FROM alerts WHERE id = ?1", kAlertColumns)));
  stmt.Bind(1, id);
  VIGIL_ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return Status::NotFound(fmt::format("alert {} does not exist", id));
  AlertRecord a;
  ReadAlertRow(stmt, &a);
  return a;
}

Result<std::vector<AlertRecord>> AlertStore::ListAlerts(const AlertQuery& q) {
  if (q.limit < 1 || q.limit > kMaxListLimit) {
    return Status::InvalidArgument(
        fmt::format("limit must be between 1 and {}, got {}", kMaxListLimit, q.limit));
  }
  if (!q.state.empty() && q.state != "firing" && q.state != "resolved") {
    return Status::InvalidArgument(
        fmt::format("state must be firing or resolved, got \"{}\"", q.state));
  }
  std::lock_guard lock(mu_);
  // Empty filters match everything: (?1 = '' OR run = ?1).
  VIGIL_ASSIGN_OR_RETURN(
      auto stmt, conn_->Prepare(fmt::format(
                     "SELECT {} FROM alerts WHERE (?1 = '' OR run = ?1) AND "
                     "(?2 = '' OR state = ?2) AND (?3 = '' OR project = ?3) ORDER BY id DESC "
                     "LIMIT ?4",
                     kAlertColumns)));
  stmt.Bind(1, q.run);
  stmt.Bind(2, q.state);
  stmt.Bind(3, q.project);
  stmt.Bind(4, q.limit);
  std::vector<AlertRecord> out;
  for (;;) {
    VIGIL_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) break;
    ReadAlertRow(stmt, &out.emplace_back());
  }
  return out;
}

Result<int64_t> AlertStore::CountFiring() {
  std::lock_guard lock(mu_);
  VIGIL_ASSIGN_OR_RETURN(auto stmt,
                         conn_->Prepare("SELECT COUNT(*) FROM alerts WHERE state = 'firing'"));
  VIGIL_ASSIGN_OR_RETURN(bool row, stmt.Step());
  return row ? stmt.Int(0) : 0;
}

}  // namespace vigil::alerting
