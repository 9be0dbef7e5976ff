#include "storage/metadata/sqlite_conn.h"

#include <cassert>

#include <fmt/format.h>
#include <sqlite3.h>

namespace vigil::storage::sqlite {
namespace {

// The cache holds the fixed statements (a few dozen) plus the shapes of
// ListRuns queries seen lately; past this many it drops the idle ones rather
// than grow without bound with ever new filter combinations.
constexpr size_t kMaxCachedStatements = 128;

// How much of a statement's SQL an error message quotes.
constexpr size_t kSqlInMessage = 48;

}  // namespace

// ---------------------------------------------------------------- Stmt

Stmt::Stmt(Conn* conn, sqlite3_stmt* stmt, bool* in_use)
    : conn_(conn), stmt_(stmt), in_use_(in_use) {}

Stmt::Stmt(Stmt&& other) noexcept
    : conn_(other.conn_),
      stmt_(other.stmt_),
      in_use_(other.in_use_),
      bind_status_(std::move(other.bind_status_)),
      rc_(other.rc_) {
  other.stmt_ = nullptr;
  other.in_use_ = nullptr;
}

Stmt::~Stmt() {
  if (stmt_ == nullptr) return;
  if (in_use_ != nullptr) {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
    *in_use_ = false;
  } else {
    sqlite3_finalize(stmt_);
  }
}

void Stmt::Bind(int index, int64_t value) {
  int rc = sqlite3_bind_int64(stmt_, index, value);
  assert(rc != SQLITE_RANGE && "bind index out of range");
  if (rc != SQLITE_OK && bind_status_.ok()) bind_status_ = conn_->Error(rc, sql());
}

void Stmt::Bind(int index, std::string_view value) {
  // SQLITE_TRANSIENT: SQLite copies the bytes, so `value` may die after the
  // call. An empty view may have a null data(); bind "" then, not NULL.
  const char* data = value.data() != nullptr ? value.data() : "";
  int rc = sqlite3_bind_text64(stmt_, index, data, value.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  assert(rc != SQLITE_RANGE && "bind index out of range");
  if (rc != SQLITE_OK && bind_status_.ok()) bind_status_ = conn_->Error(rc, sql());
}

Result<bool> Stmt::Step() {
  if (!bind_status_.ok()) return bind_status_;
  int rc = rc_ = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return conn_->Error(rc, sql());
}

Status Stmt::Run() {
  for (;;) {
    VIGIL_ASSIGN_OR_RETURN(bool row, Step());
    if (!row) return Status::OK();
  }
}

int64_t Stmt::Int(int col) const {
  return sqlite3_column_int64(stmt_, col);
}

std::string Stmt::Text(int col) const {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
  int n = sqlite3_column_bytes(stmt_, col);  // after column_text, as SQLite asks
  return p == nullptr ? std::string() : std::string(p, static_cast<size_t>(n));
}

bool Stmt::IsNull(int col) const {
  return sqlite3_column_type(stmt_, col) == SQLITE_NULL;
}

void Stmt::Reset() {
  sqlite3_reset(stmt_);
}

std::string_view Stmt::sql() const {
  std::string_view s = sqlite3_sql(stmt_);
  return s.size() > kSqlInMessage ? s.substr(0, kSqlInMessage) : s;
}

// ---------------------------------------------------------------- Conn

Result<std::unique_ptr<Conn>> Conn::Open(const std::string& path) {
  sqlite3* db = nullptr;
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    // On most failures SQLite still allocates a handle that carries the
    // message; it must be closed all the same.
    std::unique_ptr<Conn> failed(new Conn(db, path));
    Status st = db != nullptr ? failed->Error(rc, "open")
                              : Status::ResourceExhausted(path + ": open: out of memory");
    return st;
  }
  sqlite3_extended_result_codes(db, 1);
  return std::unique_ptr<Conn>(new Conn(db, path));
}

Conn::~Conn() {
  for (auto& [sql, entry] : cache_) {
    assert(!entry->in_use && "a Stmt outlives its Conn");
    sqlite3_finalize(entry->stmt);
  }
  // sqlite3_close_v2 never fails on a connection whose statements are all
  // finalised; a WAL checkpoint runs here when this is the last connection.
  if (db_ != nullptr) sqlite3_close_v2(db_);
}

void Conn::EvictIdle() {
  for (auto it = cache_.begin(); it != cache_.end();) {
    if (it->second->in_use) {
      ++it;
    } else {
      sqlite3_finalize(it->second->stmt);
      it = cache_.erase(it);
    }
  }
}

Result<Stmt> Conn::Prepare(std::string_view sql) {
  auto it = cache_.find(std::string(sql));
  if (it != cache_.end() && !it->second->in_use) {
    it->second->in_use = true;
    return Stmt(this, it->second->stmt, &it->second->in_use);
  }
  const bool cache = it == cache_.end();
  sqlite3_stmt* stmt = nullptr;
  const char* tail = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                              cache ? SQLITE_PREPARE_PERSISTENT : 0, &stmt, &tail);
  if (rc != SQLITE_OK) {
    return Error(rc, fmt::format("prepare {}", sql.substr(0, kSqlInMessage)));
  }
  assert(stmt != nullptr && "Prepare() of an empty statement");
  if (!cache) return Stmt(this, stmt, nullptr);  // the cached one is busy
  if (cache_.size() >= kMaxCachedStatements) EvictIdle();
  auto entry = std::make_unique<Entry>();
  entry->stmt = stmt;
  entry->in_use = true;
  bool* in_use = &entry->in_use;
  cache_.emplace(std::string(sql), std::move(entry));
  return Stmt(this, stmt, in_use);
}

Status Conn::ExecScript(std::string_view sql, std::string_view what) {
  char* err = nullptr;
  int rc = sqlite3_exec(db_, std::string(sql).c_str(), nullptr, nullptr, &err);
  sqlite3_free(err);  // sqlite3_errmsg() has the same text
  if (rc != SQLITE_OK) return Error(rc, what);
  return Status::OK();
}

Status Conn::Error(int rc, std::string_view what) const {
  // The connection's message belongs to the latest call; use it when that
  // call is the one that failed, else the generic text of the code.
  const char* text = sqlite3_extended_errcode(db_) == rc ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
  std::string msg = fmt::format("{}: {}: {}", path_, what, text);
  switch (rc & 0xff) {
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
      return Status::Corruption(std::move(msg));
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_FULL:
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_NOLFS:
    case SQLITE_PROTOCOL:
      return Status::IOError(std::move(msg));
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Status::Unavailable(std::move(msg));
    case SQLITE_NOMEM:
    case SQLITE_TOOBIG:
      return Status::ResourceExhausted(std::move(msg));
    case SQLITE_CONSTRAINT:
    case SQLITE_MISMATCH:
    case SQLITE_RANGE:
      return Status::InvalidArgument(std::move(msg));
    default:
      return Status::Internal(std::move(msg));
  }
}

int64_t Conn::Changes() const {
  return sqlite3_changes64(db_);
}

int64_t Conn::LastInsertRowid() const {
  return sqlite3_last_insert_rowid(db_);
}

// ---------------------------------------------------------------- Transaction

Result<Transaction> Transaction::Begin(Conn* conn, bool immediate) {
  VIGIL_ASSIGN_OR_RETURN(Stmt begin, conn->Prepare(immediate ? "BEGIN IMMEDIATE" : "BEGIN"));
  VIGIL_RETURN_IF_ERROR(begin.Run());
  return Transaction(conn);
}

Transaction::~Transaction() {
  if (conn_ == nullptr) return;
  // ROLLBACK fails only when no transaction is open (SQLite already rolled
  // back after an I/O error or a full disk); either way none is left open.
  auto rollback = conn_->Prepare("ROLLBACK");
  if (rollback.ok()) (void)rollback->Run();
}

Status Transaction::Commit() {
  assert(conn_ != nullptr && "Commit() twice");
  VIGIL_ASSIGN_OR_RETURN(Stmt commit, conn_->Prepare("COMMIT"));
  Status st = commit.Run();
  // A failed COMMIT leaves the transaction open (e.g. SQLITE_BUSY); the
  // destructor rolls it back.
  if (st.ok()) conn_ = nullptr;
  return st;
}

}  // namespace vigil::storage::sqlite
