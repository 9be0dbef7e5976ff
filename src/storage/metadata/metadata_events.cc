// MetadataStore: the event log of each run (append, page through).
#include <fmt/format.h>
#include <sqlite3.h>

#include "storage/metadata/metadata_store.h"
#include "storage/metadata/sqlite_conn.h"

namespace vigil::storage {
namespace {

// The largest page of events one call returns (as ListRuns' limit).
constexpr int64_t kMaxEventsPerPage = 10000;

}  // namespace

Result<int64_t> MetadataStore::AppendEvent(const EventRecord& event) {
  std::lock_guard lock(mu_);
  VIGIL_ASSIGN_OR_RETURN(
      auto stmt, conn_->Prepare("INSERT INTO events (run, time_ms, kind, message, data_json) "
                                "VALUES (?1, ?2, ?3, ?4, ?5)"));
  stmt.Bind(1, event.run);
  stmt.Bind(2, event.time_ms);
  stmt.Bind(3, event.kind);
  stmt.Bind(4, event.message);
  stmt.Bind(5, event.data_json);
  Status st = stmt.Run();
  // events.run REFERENCES runs(id): an event for an unknown run fails the
  // foreign key check.
  if (!st.ok() && stmt.rc() == SQLITE_CONSTRAINT_FOREIGNKEY) {
    return Status::NotFound(fmt::format("run {} does not exist", event.run));
  }
  VIGIL_RETURN_IF_ERROR(st);
  return conn_->LastInsertRowid();
}

Result<std::vector<EventRecord>> MetadataStore::ListEvents(const std::string& run,
                                                           int64_t after_seq, int64_t limit) {
  if (limit < 1 || limit > kMaxEventsPerPage) {
    return Status::InvalidArgument(
        fmt::format("limit must be between 1 and {}, got {}", kMaxEventsPerPage, limit));
  }
  std::lock_guard lock(mu_);
  std::vector<EventRecord> events;
  {
    VIGIL_ASSIGN_OR_RETURN(auto stmt,
                           conn_->Prepare("SELECT seq, time_ms, kind, message, data_json "
                                          "FROM events WHERE run = ?1 AND seq > ?2 "
                                          "ORDER BY seq LIMIT ?3"));
    stmt.Bind(1, run);
    stmt.Bind(2, after_seq);
    stmt.Bind(3, limit);
    for (;;) {
      VIGIL_ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) break;
      EventRecord& e = events.emplace_back();
      e.seq = stmt.Int(0);
      e.run = run;
      e.time_ms = stmt.Int(1);
      e.kind = stmt.Text(2);
      e.message = stmt.Text(3);
      e.data_json = stmt.Text(4);
    }
  }
  // An empty page is either the end of a run's log or an unknown run; only
  // then is the extra lookup worth making.
  if (events.empty()) {
    VIGIL_ASSIGN_OR_RETURN(bool exists, RunExistsLocked(run));
    if (!exists) return Status::NotFound(fmt::format("run {} does not exist", run));
  }
  return events;
}

}  // namespace vigil::storage
