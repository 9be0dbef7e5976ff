// MetadataStore: listing runs (filters, sort, pages) and projects.
//
// ListRuns runs in one read transaction, so that the page and the total see
// the same snapshot, in two steps: (1) the rowids of the page, which the
// indexes on (project, created_ms, id) and (created_ms, id) answer without
// reading any run row when the filters allow it, then (2) each run of the
// page by rowid. Step 1 never drags the wide JSON columns of the runs it
// skips through a sort, so a late page costs little more than the first.
#include <string>
#include <vector>

#include <fmt/format.h>

#include "core/names.h"
#include "storage/metadata/json_string_array.h"
#include "storage/metadata/metadata_store.h"
#include "storage/metadata/run_columns.h"
#include "storage/metadata/sqlite_conn.h"

namespace vigil::storage {
namespace {

constexpr int64_t kMaxRunsPerPage = 10000;

std::string_view SortColumn(RunSortField field) {
  switch (field) {
    case RunSortField::kCreated:
      return "created_ms";
    case RunSortField::kUpdated:
      return "updated_ms";
    case RunSortField::kName:
      return "name";
    case RunSortField::kState:
      return "state";
    case RunSortField::kHeartbeat:
      return "heartbeat_ms";
  }
  return "created_ms";
}

// `text` as a LIKE pattern matching any string that contains it: %, _ and
// the escape character itself are escaped with '\'.
std::string ContainsPattern(std::string_view text) {
  std::string p = "%";
  for (char c : text) {
    if (c == '%' || c == '_' || c == '\\') p.push_back('\\');
    p.push_back(c);
  }
  p.push_back('%');
  return p;
}

// The JSON type of a json_each row or a json_type() result, with 'integer'
// and 'real' folded into 'number' so that 1 and 1.0 compare equal.
std::string TypeClass(std::string_view type_expr) {
  return fmt::format(
      "(CASE {0} WHEN 'integer' THEN 'number' WHEN 'real' THEN 'number' ELSE {0} END)", type_expr);
}

// Whether SQLite 3.40's JSON path can address top-level `key` as `$."key"`:
// it ends a quoted label at the first '"' and compares the label with the
// key's text as written in the document, escapes and all. So only keys that
// no serializer escapes qualify: printable ASCII without '"' and '\'
// (Python's json.dumps writes non-ASCII keys as \u escapes).
bool IsPlainKey(std::string_view key) {
  if (key.empty()) return false;
  for (unsigned char c : key) {
    if (c < 0x20 || c > 0x7e || c == '"' || c == '\\') return false;
  }
  return true;
}

// The WHERE clause of a query and its parameters (all text), ?1..?N.
struct Filter {
  std::string sql = "1";
  std::vector<std::string> params;

  std::string Param(std::string value) {
    params.push_back(std::move(value));
    return fmt::format("?{}", params.size());
  }
};

}  // namespace

Result<RunPage> MetadataStore::ListRuns(const RunQuery& query) {
  if (query.limit < 1 || query.limit > kMaxRunsPerPage) {
    return Status::InvalidArgument(
        fmt::format("limit must be between 1 and {}, got {}", kMaxRunsPerPage, query.limit));
  }
  if (query.offset < 0) {
    return Status::InvalidArgument(fmt::format("offset must be >= 0, got {}", query.offset));
  }
  if (!query.state.empty() && !IsValidRunState(query.state)) {
    return Status::InvalidArgument(
        fmt::format("state must be one of running, finished, failed, crashed, got {}",
                    QuoteForMessage(query.state)));
  }

  Filter f;
  if (!query.project.empty()) f.sql += " AND project = " + f.Param(query.project);
  if (!query.state.empty()) f.sql += " AND state = " + f.Param(query.state);
  if (!query.group.empty()) f.sql += " AND group_name = " + f.Param(query.group);
  if (!query.tag.empty()) {
    // instr() on the tag as this store encodes it skips most rows cheaply;
    // it can match falsely (tag x"a holds the text "a"), json_each decides.
    std::string encoded = EncodeJsonStringArray({query.tag});
    std::string quoted = f.Param(encoded.substr(1, encoded.size() - 2));
    f.sql += fmt::format(
        " AND instr(tags_json, {0}) > 0"
        " AND EXISTS (SELECT 1 FROM json_each(runs.tags_json) AS t WHERE t.value = {1})",
        quoted, f.Param(query.tag));
  }
  if (!query.text.empty()) {
    std::string p = f.Param(ContainsPattern(query.text));
    f.sql += fmt::format(" AND (id LIKE {0} ESCAPE '\\' OR name LIKE {0} ESCAPE '\\')", p);
  }
  for (const auto& [key, value] : query.config_equals) {
    std::string v = f.Param(value);
    std::string want_type = TypeClass(fmt::format("json_type({})", v));
    if (IsPlainKey(key)) {
      // The fast form (json_type and json_extract share one parse of the
      // row's config): the key quoted as a JSON-path label, `$."lr.max"`.
      std::string path = f.Param(fmt::format("$.\"{}\"", key));
      f.sql += fmt::format(
          " AND {0} = {1} AND json_extract(config_json, {2}) IS json_extract({3}, '$')",
          TypeClass(fmt::format("json_type(config_json, {})", path)), want_type, path, v);
    } else {
      // json_each yields each top-level key unescaped, so it matches any
      // key exactly; about five times slower than json_extract.
      f.sql += fmt::format(
          " AND EXISTS (SELECT 1 FROM json_each(runs.config_json) AS c WHERE c.key = {0}"
          " AND {1} = {2} AND c.value IS json_extract({3}, '$'))",
          f.Param(key), TypeClass("c.type"), want_type, v);
    }
  }

  std::lock_guard lock(mu_);
  // The config values are checked first, so that a bad one is a clear
  // InvalidArgument rather than SQLite's "malformed JSON" from the query.
  for (const auto& [key, value] : query.config_equals) {
    VIGIL_ASSIGN_OR_RETURN(auto valid, conn_->Prepare("SELECT json_valid(?1)"));
    valid.Bind(1, value);
    VIGIL_ASSIGN_OR_RETURN(bool row, valid.Step());
    if (!row || valid.Int(0) != 1) {
      return Status::InvalidArgument(fmt::format("config filter {}: value {} is not valid JSON",
                                                 QuoteForMessage(key), QuoteForMessage(value)));
    }
  }

  VIGIL_ASSIGN_OR_RETURN(auto tx, sqlite::Transaction::Begin(conn_.get(), /*immediate=*/false));
  RunPage page;
  std::vector<int64_t> rowids;
  {
    std::string_view dir = query.descending ? "DESC" : "ASC";
    VIGIL_ASSIGN_OR_RETURN(auto stmt, conn_->Prepare(fmt::format(
                                          "SELECT rowid FROM runs WHERE {} ORDER BY {} {}, id {} "
                                          "LIMIT ?{} OFFSET ?{}",
                                          f.sql, SortColumn(query.sort), dir, dir,
                                          f.params.size() + 1, f.params.size() + 2)));
    for (size_t i = 0; i < f.params.size(); ++i) stmt.Bind(static_cast<int>(i + 1), f.params[i]);
    stmt.Bind(static_cast<int>(f.params.size() + 1), query.limit);
    stmt.Bind(static_cast<int>(f.params.size() + 2), query.offset);
    for (;;) {
      VIGIL_ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) break;
      rowids.push_back(stmt.Int(0));
    }
  }
  if (query.offset == 0 && static_cast<int64_t>(rowids.size()) < query.limit) {
    page.total = static_cast<int64_t>(rowids.size());  // the page holds every match
  } else {
    VIGIL_ASSIGN_OR_RETURN(
        auto stmt, conn_->Prepare(fmt::format("SELECT COUNT(*) FROM runs WHERE {}", f.sql)));
    for (size_t i = 0; i < f.params.size(); ++i) stmt.Bind(static_cast<int>(i + 1), f.params[i]);
    VIGIL_ASSIGN_OR_RETURN(bool row, stmt.Step());
    page.total = row ? stmt.Int(0) : 0;
  }
  {
    static const std::string kByRowid =
        fmt::format("SELECT {} FROM runs WHERE rowid = ?1", kRunColumns);
    VIGIL_ASSIGN_OR_RETURN(auto stmt, conn_->Prepare(kByRowid));
    page.runs.reserve(rowids.size());
    for (int64_t rowid : rowids) {
      stmt.Bind(1, rowid);
      VIGIL_ASSIGN_OR_RETURN(bool row, stmt.Step());
      // The transaction's snapshot holds every rowid step 1 saw.
      if (!row) return Status::Internal(fmt::format("{}: run row vanished", conn_->path()));
      VIGIL_RETURN_IF_ERROR(ReadRunRow(stmt, conn_->path(), &page.runs.emplace_back()));
      stmt.Reset();
    }
  }
  VIGIL_RETURN_IF_ERROR(tx.Commit());
  return page;
}

Result<std::vector<ProjectInfo>> MetadataStore::ListProjects() {
  std::lock_guard lock(mu_);
  VIGIL_ASSIGN_OR_RETURN(
      auto stmt, conn_->Prepare("SELECT project, COUNT(*), SUM(state = 'running'), "
                                "MAX(MAX(created_ms, updated_ms, heartbeat_ms, finished_ms)) "
                                "FROM runs GROUP BY project ORDER BY project"));
  std::vector<ProjectInfo> projects;
  for (;;) {
    VIGIL_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) break;
    ProjectInfo& p = projects.emplace_back();
    p.name = stmt.Text(0);
    p.runs = stmt.Int(1);
    p.running = stmt.Int(2);
    p.last_activity_ms = stmt.Int(3);
  }
  return projects;
}

}  // namespace vigil::storage
