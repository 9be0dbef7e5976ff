// JSON forms of runs and series summaries in API answers (docs/api.md).
#pragma once

#include <vector>

#include "core/json_writer.h"
#include "storage/engine.h"
#include "storage/metadata/metadata_store.h"

namespace vigil::server {

// {"id", "project", "name", "state", "group", "tags", "notes", "config",
//  "summary", "host", "message", "world_size", "created_ms", "updated_ms",
//  "heartbeat_ms", "finished_ms" (null while running), "resumed"}
// The object is left open so callers can add fields; close it yourself.
void BeginRunObject(JsonWriter* w, const storage::RunRecord& run);

// {"metric", "labels": {...}, "count", "nan_count", "first_step",
//  "last_step", "first_time_ms", "last_time_ms", "last", "min", "max"}
void WriteSeriesInfo(JsonWriter* w, const storage::SeriesInfo& s);

// "labels": {"name": "value", ...} as a value.
void WriteLabels(JsonWriter* w, const Labels& labels);

}  // namespace vigil::server
