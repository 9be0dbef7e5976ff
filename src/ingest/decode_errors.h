// Error messages of the log-batch decoder (batch_decoder.cc): the JSON path
// of the offending element, a short description of what was found there, and
// the byte offset of malformed JSON. Everything here runs only once a batch
// is already rejected, so it favours clear messages over speed.
//
// Internal to src/ingest. Thread-safety: pure functions; any thread.
#pragma once

#include <simdjson.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"
#include "core/status.h"

namespace vigil::ingest::internal {

// A JSON path inside a batch: `body`, `rows`, `rows[3]`, `rows[3].step`,
// `rows[3].values["train/loss"]`, `series[0].steps[7]`. Built without
// allocating on the hot path; rendered by ToString() only for an error.
// The string_views must outlive the path (they point into the body, the
// parser's string buffer or literals).
struct JsonPath {
  enum class Kind : uint8_t { kBody, kTop, kElement, kField, kKey, kItem };

  Kind kind = Kind::kBody;
  std::string_view array;  // top-level key: "rows" or "series"
  size_t index = 0;        // kElement and below: the element of `array`
  std::string_view field;  // kField and below: a key of that element
  std::string_view key;    // kKey: a key inside `field` (metric or label name)
  size_t item = 0;         // kItem: an index inside `field`

  static JsonPath Body() { return {}; }
  static JsonPath Top(std::string_view name) { return {Kind::kTop, name, 0, {}, {}, 0}; }
  static JsonPath Element(std::string_view array, size_t index) {
    return {Kind::kElement, array, index, {}, {}, 0};
  }
  // REQUIRES: kind == kElement (Field) or kField (Key, Item).
  JsonPath Field(std::string_view f) const { return {Kind::kField, array, index, f, {}, 0}; }
  JsonPath Key(std::string_view k) const { return {Kind::kKey, array, index, field, k, 0}; }
  JsonPath Item(size_t i) const { return {Kind::kItem, array, index, field, {}, i}; }

  std::string ToString() const;
};

// InvalidArgument "<path>: <what>".
Status InvalidAt(const JsonPath& path, std::string_view what);

// InvalidArgument "body is not valid JSON: <simdjson's text> near byte N",
// without the " near byte N" when the offset is unknown.
Status MalformedJson(simdjson::error_code error, std::optional<size_t> offset);

// The offset of the error that simdjson's first stage reports without one:
// the first invalid UTF-8 sequence (UTF8_ERROR), the first control character
// inside a string (UNESCAPED_CHARS), the opening quote of the string left
// open (UNCLOSED_STRING). nullopt for other errors or when not found.
std::optional<size_t> LocateStageOneError(simdjson::error_code error, std::string_view body);

// True if `token` is a number by the JSON grammar (RFC 8259, section 6).
bool IsJsonNumber(std::string_view token);

// A raw JSON token for a message: trailing whitespace trimmed, cut to 64
// bytes followed by "..." when longer, control bytes escaped.
std::string Excerpt(std::string_view token);

// What `v` is, for "expected X, got <description>": `1.5`, `true`, `null`,
// `the string "abc"`, `an object`, `an array`. If `v` turns out to be
// malformed JSON (a bad literal or number, a bad escape), the error to return
// instead. `body` is the whole input, to compute offsets.
Result<std::string> Describe(simdjson::ondemand::value v, std::string_view body);

// InvalidArgument "<path>: expected <expected>, got <Describe(v)>", or the
// malformed-JSON error Describe found.
Status Mismatch(const JsonPath& path, std::string_view expected, simdjson::ondemand::value v,
                std::string_view body);

}  // namespace vigil::ingest::internal
