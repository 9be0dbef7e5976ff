// SqliteConn: one SQLite connection, a cache of its prepared statements, and
// the one mapping of SQLite result codes to Status. Used by the metadata
// store (src/storage/metadata) and the alert store (src/alerting), which
// share its error mapping and statement cache.
//
// Statements are prepared once per SQL text and reused: Prepare() checks one
// out of the cache, and the Stmt handle resets it and clears its bindings
// when it goes out of scope, so a statement never stays half-stepped (which
// would hold a read snapshot open).
//
// Thread-safety: none. The owner (MetadataStore) serialises every use of a
// connection, and of the Stmts checked out of it, with its mutex.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "core/result.h"
#include "core/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace vigil::storage::sqlite {

class Conn;

// A prepared statement checked out of a Conn. Bind indexes are 1-based and
// column indexes 0-based, as in SQLite's C API. Movable, not copyable.
class Stmt {
 public:
  Stmt(Stmt&& other) noexcept;
  Stmt& operator=(Stmt&&) = delete;
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  ~Stmt();

  // A failed bind (only SQLITE_TOOBIG or SQLITE_NOMEM for valid indexes) is
  // remembered and returned by the next Step().
  void Bind(int index, int64_t value);
  void Bind(int index, std::string_view value);

  // Runs the statement one step: true when a row is ready, false when done.
  Result<bool> Step();
  // Steps to the end, ignoring rows (INSERT, UPDATE, DELETE, DDL).
  Status Run();

  // Reads column `col` of the current row.
  int64_t Int(int col) const;
  std::string Text(int col) const;
  bool IsNull(int col) const;

  // Resets the statement so it can run again; keeps the bindings.
  void Reset();

  // The (extended) result code of the last Step(): SQLITE_ROW, SQLITE_DONE,
  // or the error, e.g. SQLITE_CONSTRAINT_PRIMARYKEY.
  int rc() const { return rc_; }

  // What the statement does, for error messages: its first SQL words.
  std::string_view sql() const;

 private:
  friend class Conn;
  Stmt(Conn* conn, sqlite3_stmt* stmt, bool* in_use);

  Conn* conn_;
  sqlite3_stmt* stmt_;
  // Where the statement came from the cache: its in-use flag, cleared on
  // destruction. Null for an uncached statement, which is finalised instead.
  bool* in_use_;
  Status bind_status_;
  int rc_ = 0;
};

class Conn {
 public:
  // Opens (creating if absent) the database at `path` with extended result
  // codes on and SQLite's own mutexes off (the owner serialises calls).
  static Result<std::unique_ptr<Conn>> Open(const std::string& path);
  ~Conn();
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  // A statement for `sql`: the cached one when it is idle, else a fresh one.
  // REQUIRES: `sql` is one statement.
  Result<Stmt> Prepare(std::string_view sql);

  // Runs `sql` (any number of statements, no parameters), uncached: for
  // pragmas and schema changes.
  Status ExecScript(std::string_view sql, std::string_view what);

  // The Status for SQLite result code `rc` of the operation `what`:
  // "<path>: <what>: <sqlite3_errmsg>". Codes map to:
  //   NOTADB, CORRUPT                          -> Corruption
  //   IOERR, CANTOPEN, FULL, READONLY, PERM,
  //   NOLFS, PROTOCOL                          -> IOError
  //   BUSY, LOCKED                             -> Unavailable (retry later)
  //   NOMEM, TOOBIG                            -> ResourceExhausted
  //   CONSTRAINT, MISMATCH, RANGE              -> InvalidArgument
  //   anything else (SQL errors, misuse)       -> Internal (a bug)
  Status Error(int rc, std::string_view what) const;

  int64_t Changes() const;
  int64_t LastInsertRowid() const;
  const std::string& path() const { return path_; }
  sqlite3* raw() const { return db_; }

  // How many statements the cache holds (for tests).
  size_t CachedStatements() const { return cache_.size(); }

 private:
  Conn(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}

  struct Entry {
    sqlite3_stmt* stmt = nullptr;
    bool in_use = false;
  };
  // Finalises every idle cached statement (called when the cache is full).
  void EvictIdle();

  sqlite3* db_;
  std::string path_;
  // SQL text -> statement. Entries are heap-allocated so that a Stmt's
  // pointer to its in-use flag stays valid while the map rehashes.
  std::unordered_map<std::string, std::unique_ptr<Entry>> cache_;
};

// A transaction on a Conn: BEGIN on construction via Begin(), ROLLBACK on
// destruction unless Commit() succeeded.
class Transaction {
 public:
  // `immediate`: take the write lock at once (BEGIN IMMEDIATE), for
  // read-modify-write; otherwise a deferred (read) transaction.
  static Result<Transaction> Begin(Conn* conn, bool immediate);
  Transaction(Transaction&& other) noexcept : conn_(other.conn_) { other.conn_ = nullptr; }
  Transaction& operator=(Transaction&&) = delete;
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction();

  Status Commit();

 private:
  explicit Transaction(Conn* conn) : conn_(conn) {}
  Conn* conn_;  // null once committed or rolled back
};

}  // namespace vigil::storage::sqlite
