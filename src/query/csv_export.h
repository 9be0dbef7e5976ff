// CSV export of run data (RFC 4180, "\r\n"-free: lines end in "\n").
//
// Wide form, one row per step over every scalar series of a run:
//   step,time,train/loss,val/acc{split="a"}
//   0,1732800000123,2.302585,
// `time` is the earliest time of any point at that step; a cell is empty
// where the series has no point at that step, and holds the series' last
// point at that step where it has several. Values use the shortest form
// that reads back bit-exact; non-finite ones are NaN, Infinity, -Infinity.
//
// Thread-safety: any thread.
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"
#include "core/types.h"
#include "storage/engine.h"

namespace vigil::query {

Status ExportRunCsv(const storage::Engine& engine, std::string_view run, std::string* out);

// step,time,value rows of one series.
void SeriesToCsv(const SeriesColumns& points, std::string* out);

// A CSV field, quoted when it holds a comma, quote or line break.
void AppendCsvField(std::string* out, std::string_view field);
// A value as in the JSON API but unquoted: 0.51, NaN, Infinity, -Infinity.
void AppendCsvValue(std::string* out, double v);

}  // namespace vigil::query
