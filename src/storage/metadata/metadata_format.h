// The on-disk format of metadata.sqlite: its schema, as the list of
// migrations that build it. `PRAGMA user_version` holds the number of the
// last migration applied; opening a database applies the ones after it, each
// in its own transaction together with the new user_version, so a crash
// leaves the database at one version or the next, never between.
//
// To change the schema, append a migration with the next version number.
// Never edit a migration that has shipped: databases in the field ran it as
// written. SQLite cannot drop or alter most column constraints in place, so
// the schema keeps value checks (such as the set of run states) in C++.
//
// The SQLite pragmas set on each open (WAL journal, synchronous NORMAL or
// FULL, foreign keys, busy timeout) are connection settings, not part of the
// file; MetadataStore::Open sets them.
#pragma once

#include <iterator>
#include <string_view>

namespace vigil::storage {

struct MetadataMigration {
  int version;           // user_version once applied; 1, 2, 3, ... in order
  std::string_view sql;  // the statements, run as one script
};

inline constexpr MetadataMigration kMetadataMigrations[] = {
    // Version 1: runs and their event log.
    {1, R"sql(
-- One row per run. Times are Unix milliseconds; 0 means "not yet".
CREATE TABLE runs (
  id           TEXT NOT NULL PRIMARY KEY,  -- names.h run id grammar
  project      TEXT NOT NULL,              -- names.h project grammar
  name         TEXT NOT NULL DEFAULT '',
  state        TEXT NOT NULL,              -- one of kRunStates (checked in C++)
  group_name   TEXT NOT NULL DEFAULT '',   -- "group" is an SQL keyword
  tags_json    TEXT NOT NULL DEFAULT '[]', -- JSON array of strings, order kept
  notes        TEXT NOT NULL DEFAULT '',
  config_json  TEXT NOT NULL DEFAULT '{}', -- JSON object, as the caller gave it
  summary_json TEXT NOT NULL DEFAULT '{}', -- JSON object, as the caller gave it
  host_json    TEXT NOT NULL DEFAULT '{}', -- JSON object, as the caller gave it
  message      TEXT NOT NULL DEFAULT '',
  world_size   INTEGER NOT NULL DEFAULT 0,
  created_ms   INTEGER NOT NULL,
  updated_ms   INTEGER NOT NULL DEFAULT 0,
  heartbeat_ms INTEGER NOT NULL DEFAULT 0,
  finished_ms  INTEGER NOT NULL DEFAULT 0,
  resumed      INTEGER NOT NULL DEFAULT 0
);
-- Listing a project's runs newest first, and paging it; `id` makes the
-- order total so that pages neither repeat nor skip runs with equal times.
CREATE INDEX runs_project_created ON runs(project, created_ms, id);
-- The same across all projects.
CREATE INDEX runs_created ON runs(created_ms, id);
-- The state filter, and crash detection (running runs by heartbeat).
CREATE INDEX runs_state_heartbeat ON runs(state, heartbeat_ms);
-- The group filter (the runs of one distributed job or sweep).
CREATE INDEX runs_project_group ON runs(project, group_name);

-- The event log of each run. seq is AUTOINCREMENT so that a seq is never
-- reused, even after the newest events are deleted with their run: clients
-- page with after_seq and must not see a new event under an old number.
CREATE TABLE events (
  seq       INTEGER PRIMARY KEY AUTOINCREMENT,
  run       TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  time_ms   INTEGER NOT NULL,
  kind      TEXT NOT NULL,               -- "state", "annotation", "alert", ...
  message   TEXT NOT NULL DEFAULT '',
  data_json TEXT NOT NULL DEFAULT '{}'   -- JSON, as the caller gave it
);
CREATE INDEX events_run_seq ON events(run, seq);
)sql"},
};

// The schema version this build writes: the last migration's.
inline constexpr int kMetadataSchemaVersion =
    kMetadataMigrations[std::size(kMetadataMigrations) - 1].version;

}  // namespace vigil::storage
