#include "storage/metadata/metadata_schema.h"

#include <fmt/format.h>

#include "storage/metadata/metadata_format.h"

namespace vigil::storage {
namespace {

constexpr bool MigrationsNumberedInOrder() {
  int expected = 1;
  for (const auto& m : kMetadataMigrations) {
    if (m.version != expected++) return false;
  }
  return true;
}
static_assert(MigrationsNumberedInOrder(), "migrations must be numbered 1, 2, 3, ... in order");

}  // namespace

Result<int> ReadSchemaVersion(sqlite::Conn* conn) {
  VIGIL_ASSIGN_OR_RETURN(sqlite::Stmt stmt, conn->Prepare("PRAGMA user_version"));
  VIGIL_ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return Status::Internal(conn->path() + ": PRAGMA user_version returned no row");
  return static_cast<int>(stmt.Int(0));
}

Status MigrateSchema(sqlite::Conn* conn) {
  VIGIL_ASSIGN_OR_RETURN(int version, ReadSchemaVersion(conn));
  if (version > kMetadataSchemaVersion) {
    return Status::FailedPrecondition(
        fmt::format("{}: schema version {} is newer than this vigil supports ({}); "
                    "upgrade vigil to open it",
                    conn->path(), version, kMetadataSchemaVersion));
  }
  for (const auto& m : kMetadataMigrations) {
    if (m.version <= version) continue;
    // The version is read again inside the write lock: another process may
    // have migrated the file since the check above.
    VIGIL_ASSIGN_OR_RETURN(auto tx, sqlite::Transaction::Begin(conn, /*immediate=*/true));
    VIGIL_ASSIGN_OR_RETURN(int now, ReadSchemaVersion(conn));
    if (now >= m.version) continue;  // the destructor ends the empty transaction
    std::string what = fmt::format("migrate schema to version {}", m.version);
    VIGIL_RETURN_IF_ERROR(conn->ExecScript(m.sql, what));
    // PRAGMA takes no bound parameters; the version is a trusted integer.
    VIGIL_RETURN_IF_ERROR(
        conn->ExecScript(fmt::format("PRAGMA user_version = {}", m.version), what));
    VIGIL_RETURN_IF_ERROR(tx.Commit());
  }
  return Status::OK();
}

}  // namespace vigil::storage
