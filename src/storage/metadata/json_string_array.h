// The text form of a run's tags in the metadata database: a JSON array of
// strings, e.g. ["baseline","lr=3e-4"]. Encode writes it with
// AppendJsonString; Decode reads any standard JSON array of strings (all
// escapes, \u surrogate pairs, whitespace), so a hand-edited or older row
// reads back too. Pure functions; any thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace vigil::storage {

std::string EncodeJsonStringArray(const std::vector<std::string>& items);

// InvalidArgument, naming the byte offset, when `json` is not an array of
// strings.
Result<std::vector<std::string>> DecodeJsonStringArray(std::string_view json);

}  // namespace vigil::storage
