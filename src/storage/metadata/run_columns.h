// The column list the metadata store selects a run with, and the reader that
// turns such a row into a RunRecord. Internal to src/storage/metadata; used
// with the store's mutex held, like every Stmt.
#pragma once

#include "core/status.h"
#include "storage/metadata/metadata_store.h"
#include "storage/metadata/sqlite_conn.h"

namespace vigil::storage {

// Selects the columns in the order ReadRunRow expects (unqualified names of
// table `runs`).
inline constexpr std::string_view kRunColumns =
    "id, project, name, state, group_name, tags_json, notes, config_json, summary_json, "
    "host_json, message, world_size, created_ms, updated_ms, heartbeat_ms, finished_ms, "
    "resumed";

// Reads the current row of `stmt`, whose first columns are kRunColumns.
// Corruption if the stored tags are not a JSON array of strings.
Status ReadRunRow(const sqlite::Stmt& stmt, const std::string& path, RunRecord* run);

}  // namespace vigil::storage
