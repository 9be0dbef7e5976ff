// Durations as people write them on command lines and in config files:
// "30d", "12h", "90m", "45s", "250ms", or "0" (none). A bare number is
// seconds. Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.h"

namespace vigil {

// Milliseconds, or InvalidArgument naming the text and the accepted units.
Result<int64_t> ParseDurationMillis(std::string_view text);
// The shortest exact form: 2592000000 -> "30d", 1500 -> "1500ms".
std::string FormatDurationMillis(int64_t ms);

}  // namespace vigil
