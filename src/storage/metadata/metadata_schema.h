// Brings a metadata database's schema to kMetadataSchemaVersion by applying
// the migrations of metadata_format.h it has not run yet. Called by
// MetadataStore::Open, on the store's one connection, before any other use.
#pragma once

#include "core/result.h"
#include "core/status.h"
#include "storage/metadata/sqlite_conn.h"

namespace vigil::storage {

// The database's `PRAGMA user_version` (0 for a new, empty file).
Result<int> ReadSchemaVersion(sqlite::Conn* conn);

// Applies each migration newer than the database's version, each in its own
// IMMEDIATE transaction that also sets user_version. FailedPrecondition if
// the database is newer than this build (written by a later vigil).
Status MigrateSchema(sqlite::Conn* conn);

}  // namespace vigil::storage
