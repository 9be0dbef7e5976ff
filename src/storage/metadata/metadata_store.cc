// MetadataStore: opening (pragmas, schema) and the run's life cycle (create,
// read, update, delete, heartbeats). Listing is in metadata_list.cc, the
// event log in metadata_events.cc.
#include "storage/metadata/metadata_store.h"

#include <algorithm>

#include <fmt/format.h>
#include <sqlite3.h>

#include "core/names.h"
#include "storage/metadata/json_string_array.h"
#include "storage/metadata/metadata_schema.h"
#include "storage/metadata/run_columns.h"
#include "storage/metadata/sqlite_conn.h"

namespace vigil::storage {
namespace {

// How long a call waits for a lock held by another process (e.g. a `vigil`
// CLI reading the file) before it fails with Unavailable. Within this
// process calls never wait on SQLite: they are serialised by the mutex.
constexpr int kBusyTimeoutMs = 5000;

// SQLite's page cache for the connection (its default is 2 MiB). Filters
// that no index answers (tag, config, text) and the total count read every
// run of a project; with 20,000 runs of ~1 KiB of config each, the file is
// ~25 MiB, and a cache that holds it spares those scans the system calls.
constexpr int64_t kPageCacheBytes = 64 << 20;

Status CheckState(std::string_view state) {
  if (IsValidRunState(state)) return Status::OK();
  return Status::InvalidArgument(fmt::format(
      "state must be one of running, finished, failed, crashed, got {}", QuoteForMessage(state)));
}

Status RunNotFound(std::string_view id) {
  return Status::NotFound(fmt::format("run {} does not exist", id));
}

// Binds `run` to parameters ?1..?17 in kRunColumns order.
void BindRunColumns(sqlite::Stmt* stmt, const RunRecord& run) {
  stmt->Bind(1, run.id);
  stmt->Bind(2, run.project);
  stmt->Bind(3, run.name);
  stmt->Bind(4, run.state);
  stmt->Bind(5, run.group);
  stmt->Bind(6, EncodeJsonStringArray(run.tags));
  stmt->Bind(7, run.notes);
  stmt->Bind(8, run.config_json);
  stmt->Bind(9, run.summary_json);
  stmt->Bind(10, run.host_json);
  stmt->Bind(11, run.message);
  stmt->Bind(12, run.world_size);
  stmt->Bind(13, run.created_ms);
  stmt->Bind(14, run.updated_ms);
  stmt->Bind(15, run.heartbeat_ms);
  stmt->Bind(16, run.finished_ms);
  stmt->Bind(17, run.resumed);
}

void ApplyPatch(const RunPatch& patch, RunRecord* run) {
  if (patch.name) run->name = *patch.name;
  if (patch.state) run->state = *patch.state;
  if (patch.group) run->group = *patch.group;
  if (patch.tags) run->tags = *patch.tags;
  if (patch.notes) run->notes = *patch.notes;
  if (patch.config_json) run->config_json = *patch.config_json;
  if (patch.summary_json) run->summary_json = *patch.summary_json;
  if (patch.host_json) run->host_json = *patch.host_json;
  if (patch.message) run->message = *patch.message;
  if (patch.world_size) run->world_size = *patch.world_size;
  if (patch.finished_ms) run->finished_ms = *patch.finished_ms;
  if (patch.heartbeat_ms) run->heartbeat_ms = *patch.heartbeat_ms;
  if (patch.increment_resumed) ++run->resumed;
}

}  // namespace

bool IsValidRunState(std::string_view state) {
  return std::find(std::begin(kRunStates), std::end(kRunStates), state) != std::end(kRunStates);
}

Status ReadRunRow(const sqlite::Stmt& stmt, const std::string& path, RunRecord* run) {
  run->id = stmt.Text(0);
  run->project = stmt.Text(1);
  run->name = stmt.Text(2);
  run->state = stmt.Text(3);
  run->group = stmt.Text(4);
  auto tags = DecodeJsonStringArray(stmt.Text(5));
  if (!tags.ok()) {
    return Status::Corruption(
        fmt::format("{}: tags of run {}: {}", path, run->id, tags.status().message()));
  }
  run->tags = std::move(*tags);
  run->notes = stmt.Text(6);
  run->config_json = stmt.Text(7);
  run->summary_json = stmt.Text(8);
  run->host_json = stmt.Text(9);
  run->message = stmt.Text(10);
  run->world_size = stmt.Int(11);
  run->created_ms = stmt.Int(12);
  run->updated_ms = stmt.Int(13);
  run->heartbeat_ms = stmt.Int(14);
  run->finished_ms = stmt.Int(15);
  run->resumed = stmt.Int(16);
  return Status::OK();
}

MetadataStore::MetadataStore(std::unique_ptr<sqlite::Conn> conn) : conn_(std::move(conn)) {}

MetadataStore::~MetadataStore() = default;

Result<std::unique_ptr<MetadataStore>> MetadataStore::Open(const MetadataOptions& options) {
  if (options.path.empty()) return Status::InvalidArgument("metadata store: empty path");
  auto opened = [&]() -> Result<std::unique_ptr<sqlite::Conn>> {
    VIGIL_ASSIGN_OR_RETURN(auto conn, sqlite::Conn::Open(options.path));
    VIGIL_RETURN_IF_ERROR(conn->ExecScript(fmt::format("PRAGMA busy_timeout = {}", kBusyTimeoutMs),
                                           "set busy timeout"));
    // The first statement that reads the file: a file that is not SQLite
    // fails here with "file is not a database".
    {
      VIGIL_ASSIGN_OR_RETURN(auto stmt, conn->Prepare("PRAGMA journal_mode = WAL"));
      VIGIL_ASSIGN_OR_RETURN(bool row, stmt.Step());
      std::string mode = row ? stmt.Text(0) : "";
      if (mode != "wal") {
        return Status::FailedPrecondition(fmt::format(
            "{}: cannot use WAL journal mode (got {}); is the file on a network file system?",
            options.path, QuoteForMessage(mode)));
      }
    }
    VIGIL_RETURN_IF_ERROR(conn->ExecScript(
        options.full_sync ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL",
        "set synchronous"));
    VIGIL_RETURN_IF_ERROR(conn->ExecScript("PRAGMA foreign_keys = ON", "enable foreign keys"));
    VIGIL_RETURN_IF_ERROR(conn->ExecScript(
        fmt::format("PRAGMA cache_size = -{}", kPageCacheBytes / 1024), "set cache size"));
    VIGIL_RETURN_IF_ERROR(MigrateSchema(conn.get()));
    return conn;
  }();
  if (!opened.ok()) return opened.status().WithContext("open metadata store");
  return std::unique_ptr<MetadataStore>(new MetadataStore(std::move(*opened)));
}

Status MetadataStore::CreateRun(const RunRecord& run) {
  VIGIL_RETURN_IF_ERROR(ValidateRunId(run.id).WithContext("run id"));
  VIGIL_RETURN_IF_ERROR(ValidateProjectName(run.project).WithContext("project"));
  VIGIL_RETURN_IF_ERROR(CheckState(run.state));
  std::lock_guard lock(mu_);
  static const std::string kInsert = fmt::format(
      "INSERT INTO runs ({}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, "
      "?12, ?13, ?14, ?15, ?16, ?17)",
      kRunColumns);
  VIGIL_ASSIGN_OR_RETURN(auto stmt, conn_->Prepare(kInsert));
  BindRunColumns(&stmt, run);
  Status st = stmt.Run();
  if (!st.ok() && stmt.rc() == SQLITE_CONSTRAINT_PRIMARYKEY) {
    return Status::AlreadyExists(fmt::format("run {} already exists", run.id));
  }
  return st;
}

Result<RunRecord> MetadataStore::GetRunLocked(const std::string& id) {
  static const std::string kSelect = fmt::format("SELECT {} FROM runs WHERE id = ?1", kRunColumns);
  VIGIL_ASSIGN_OR_RETURN(auto stmt, conn_->Prepare(kSelect));
  stmt.Bind(1, id);
  VIGIL_ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return RunNotFound(id);
  RunRecord run;
  VIGIL_RETURN_IF_ERROR(ReadRunRow(stmt, conn_->path(), &run));
  return run;
}

Result<bool> MetadataStore::RunExistsLocked(const std::string& id) {
  VIGIL_ASSIGN_OR_RETURN(auto stmt, conn_->Prepare("SELECT 1 FROM runs WHERE id = ?1"));
  stmt.Bind(1, id);
  return stmt.Step();
}

Result<RunRecord> MetadataStore::GetRun(const std::string& id) {
  std::lock_guard lock(mu_);
  return GetRunLocked(id);
}

Result<RunRecord> MetadataStore::UpdateRun(const std::string& id, const RunPatch& patch,
                                           int64_t now_ms) {
  if (patch.state) VIGIL_RETURN_IF_ERROR(CheckState(*patch.state));
  std::lock_guard lock(mu_);
  // Read-modify-write under the write lock, so that a patch from another
  // process cannot slip between the read and the write.
  VIGIL_ASSIGN_OR_RETURN(auto tx, sqlite::Transaction::Begin(conn_.get(), /*immediate=*/true));
  VIGIL_ASSIGN_OR_RETURN(RunRecord run, GetRunLocked(id));
  ApplyPatch(patch, &run);
  run.updated_ms = now_ms;
  {
    VIGIL_ASSIGN_OR_RETURN(
        auto stmt,
        conn_->Prepare("UPDATE runs SET project = ?2, name = ?3, state = ?4, group_name = ?5, "
                       "tags_json = ?6, notes = ?7, config_json = ?8, summary_json = ?9, "
                       "host_json = ?10, message = ?11, world_size = ?12, created_ms = ?13, "
                       "updated_ms = ?14, heartbeat_ms = ?15, finished_ms = ?16, resumed = ?17 "
                       "WHERE id = ?1"));
    BindRunColumns(&stmt, run);
    VIGIL_RETURN_IF_ERROR(stmt.Run());
  }
  VIGIL_RETURN_IF_ERROR(tx.Commit());
  return run;
}

Status MetadataStore::DeleteRun(const std::string& id) {
  std::lock_guard lock(mu_);
  // The run's events go with it: events.run is ON DELETE CASCADE.
  VIGIL_ASSIGN_OR_RETURN(auto stmt, conn_->Prepare("DELETE FROM runs WHERE id = ?1"));
  stmt.Bind(1, id);
  VIGIL_RETURN_IF_ERROR(stmt.Run());
  if (conn_->Changes() == 0) return RunNotFound(id);
  return Status::OK();
}

Status MetadataStore::SetHeartbeats(const std::vector<std::pair<std::string, int64_t>>& beats) {
  if (beats.empty()) return Status::OK();
  std::lock_guard lock(mu_);
  VIGIL_ASSIGN_OR_RETURN(auto tx, sqlite::Transaction::Begin(conn_.get(), /*immediate=*/true));
  {
    VIGIL_ASSIGN_OR_RETURN(
        auto stmt,
        conn_->Prepare("UPDATE runs SET heartbeat_ms = MAX(heartbeat_ms, ?2) WHERE id = ?1"));
    for (const auto& [id, ms] : beats) {
      stmt.Bind(1, id);
      stmt.Bind(2, ms);
      VIGIL_RETURN_IF_ERROR(stmt.Run());
      stmt.Reset();
    }
  }
  return tx.Commit();
}

Result<std::vector<std::string>> MetadataStore::StaleRunningRuns(int64_t cutoff_ms) {
  std::lock_guard lock(mu_);
  VIGIL_ASSIGN_OR_RETURN(auto stmt, conn_->Prepare("SELECT id FROM runs WHERE state = 'running' "
                                                   "AND MAX(heartbeat_ms, created_ms) < ?1 "
                                                   "ORDER BY id"));
  stmt.Bind(1, cutoff_ms);
  std::vector<std::string> ids;
  for (;;) {
    VIGIL_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) break;
    ids.push_back(stmt.Text(0));
  }
  return ids;
}

}  // namespace vigil::storage
