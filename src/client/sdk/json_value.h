// JsonValue: a small DOM parser for the few JSON documents the C++ SDK reads
// (server answers, the config object a user passes, spooled run.json). The
// server and `vigil sync` use simdjson; the client layer keeps this one so
// that it links nothing beyond Boost's headers.
//
// Every value keeps `raw`, its exact text in the source, so that an object's
// members can be re-emitted without re-serialising. Numbers are kept as
// double (and their text in raw). Depth is limited to 64.
//
// Thread-safety: values are plain data; Parse is a pure function.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"

namespace vigil::client {

struct JsonMember;

struct JsonValue {
  enum class Kind { kNull, kBool, kNumber, kString, kArray, kObject };
  Kind kind = Kind::kNull;
  bool boolean = false;
  double number = 0;
  std::string string;               // kString, unescaped
  std::vector<JsonValue> items;     // kArray
  std::vector<JsonMember> members;  // kObject, in order
  std::string raw;                  // the value's text

  bool is_object() const { return kind == Kind::kObject; }
  bool is_array() const { return kind == Kind::kArray; }
  // The member named `key` (the last one if repeated), or null.
  const JsonValue* Find(std::string_view key) const;
  std::optional<std::string> GetString(std::string_view key) const;
  std::optional<double> GetNumber(std::string_view key) const;
};

struct JsonMember {
  std::string key;
  JsonValue value;
};

// Parses one JSON document (surrounding whitespace allowed). Errors are
// InvalidArgument naming the byte offset.
Result<JsonValue> ParseJson(std::string_view text);

}  // namespace vigil::client
