// Decoding the body of a JSON string literal (RFC 8259 §7): escapes,
// \uXXXX with surrogate pairs, and the rule that control characters must be
// escaped. The one implementation for the small hand-written JSON readers
// that cannot use simdjson (the metadata store's string arrays, the C++
// SDK, which links no JSON library). The ingest path uses simdjson.
//
// Thread-safety: a pure function; any thread.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "core/status.h"

namespace vigil {

// Decodes the string whose opening quote is just before in[*pos], appends
// its UTF-8 to *out and leaves *pos after the closing quote. On error
// returns InvalidArgument with a short reason ("unterminated string",
// "control character in a string", "unknown escape", "bad hex digit in
// \u escape", "lone low surrogate", "high surrogate without its pair", …)
// and leaves *pos at the offending byte, so that callers can add where.
Status DecodeJsonStringBody(std::string_view in, size_t* pos, std::string* out);

}  // namespace vigil
