// The grammar of user-chosen names, in one place so that ingest, the HTTP
// handlers and the SDKs agree. docs/api.md documents the same rules.
//
//   project     [A-Za-z0-9][A-Za-z0-9_.-]*            1..128 bytes
//   run id      [A-Za-z0-9][A-Za-z0-9_-]*             1..64 bytes
//   metric      [A-Za-z_][A-Za-z0-9_./:@-]*            1..256 bytes, not ending in '/'
//   label name  [A-Za-z_][A-Za-z0-9_]*                 1..128 bytes, not starting "__"
//   label value valid UTF-8 without control characters 1..1024 bytes
//   tag         like a label value, 1..128 bytes
//
// Each check returns OK or InvalidArgument with a message that quotes the
// offending text (shortened) and says which rule it breaks; callers prefix
// the location (e.g. `rows[3].values["x"]`).
#pragma once

#include <cstddef>
#include <string_view>

#include "core/status.h"

namespace vigil {

inline constexpr size_t kMaxProjectBytes = 128;
inline constexpr size_t kMaxRunIdBytes = 64;
inline constexpr size_t kMaxMetricBytes = 256;
inline constexpr size_t kMaxLabelNameBytes = 128;
inline constexpr size_t kMaxLabelValueBytes = 1024;
inline constexpr size_t kMaxTagBytes = 128;

Status ValidateProjectName(std::string_view name);
Status ValidateRunId(std::string_view id);
Status ValidateMetricName(std::string_view name);
Status ValidateLabelName(std::string_view name);
Status ValidateLabelValue(std::string_view value);
Status ValidateTag(std::string_view tag);

// True if `s` is well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF).
bool IsValidUtf8(std::string_view s);

// `s` quoted for an error message, cut to 64 bytes with "..." when longer.
std::string QuoteForMessage(std::string_view s);

}  // namespace vigil
